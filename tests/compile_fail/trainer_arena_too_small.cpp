// A training arena smaller than training_arena_bytes: the message gives both sizes.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Trainable<mtl::Dense<3>>>;
using Trainer = mtl::Trainer<Model, mtl::SoftmaxCrossEntropy, mtl::SGD>;
mtl::Arena<16> arena;
void make(Model& model) {
  Trainer trainer(model, mtl::SGD{0.1f}, arena);
}
