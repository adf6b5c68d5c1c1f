// Dequantize after a float layer must not compile: there is nothing to dequantize.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<16>>, mtl::Dense<4>, mtl::Dequantize>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
