// A residual block whose layers change the shape (4 -> 3) must not compile: y = x + F(x) needs
// F's output shape to be the input's; the message names Residual.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Residual<mtl::Dense<3>>>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
