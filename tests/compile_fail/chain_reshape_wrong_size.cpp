// A Reshape to a shape with another element count (24 != 25) must not compile; the message
// names Reshape.
#include "microtl/microtl.hpp"

using Model = microtl::Sequential<microtl::Input<microtl::Shape<8, 3>>,
                                  microtl::Reshape<microtl::Shape<5, 5>>>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
