// An int8 layer without weights and bias (a max pool) marked Trainable is refused, and the
// message says which int8 layers can train.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model =
    mtl::Sequential<mtl::Input<mtl::Shape<4, 4, 2>, mtl::QInt8>, mtl::Trainable<mtl::MaxPool2D<2>>,
                    mtl::Flatten, mtl::Dequantize, mtl::Trainable<mtl::Dense<2>>>;
using T = mtl::Trainer<Model, mtl::SoftmaxCrossEntropy, mtl::SGD>;
constexpr std::size_t bytes = T::training_arena_bytes;
