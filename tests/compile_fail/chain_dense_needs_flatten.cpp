// A Dense layer directly after a 3-D activation must not compile; the message says why.
#include "microtl/microtl.hpp"

using Model = microtl::Sequential<microtl::Input<microtl::Shape<4, 4, 2>>, microtl::Dense<10>>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
