// A head whose Input does not match the extractor's output must not compile.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Extractor =
    mtl::Sequential<mtl::Input<mtl::Shape<8, 8, 1>>, mtl::Conv2D<4, mtl::Kernel<3>>, mtl::Flatten>;
using Head =
    mtl::Sequential<mtl::Input<mtl::Shape<100>>, mtl::Dense<10>>;  // extractor gives 6*6*4 = 144
using Model = mtl::Sequential<Extractor, Head>;
constexpr std::size_t bytes = Model::inference_arena_bytes;
