// A trainable layer inside a residual block is refused: the block passes gradients to the
// layers before it, its own layers stay frozen; the message names Residual.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>,
                              mtl::Residual<mtl::Trainable<mtl::Dense<4>>>, mtl::Dense<2>>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
