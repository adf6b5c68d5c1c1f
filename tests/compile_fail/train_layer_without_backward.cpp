// A layer with no backward pass (Softmax: the loss works on logits) between the loss and a
// trainable layer must not compile; the message names what is missing.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model =
    mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Trainable<mtl::Dense<3>>, mtl::Softmax>;
using T = mtl::Trainer<Model, mtl::SoftmaxCrossEntropy, mtl::SGD>;
constexpr std::size_t bytes = T::training_arena_bytes;
