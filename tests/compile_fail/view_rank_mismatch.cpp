// A rank-2 view passed where the model wants rank 3: the message says the shape differs.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<8, 8, 1>>, mtl::Flatten>;
Model::InferenceArena arena;
float first(const Model& model, mtl::TensorView<const float, mtl::Shape<8, 8>> image) {
  return model.forward(image, arena).values[0];
}
