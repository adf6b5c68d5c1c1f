// A 5x5 valid convolution on a 3x3 input must not compile.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<3, 3, 1>>,
                              mtl::Conv2D<2, mtl::Kernel<5>, mtl::Padding::valid>>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
