// Running a model with an arena smaller than inference_arena_bytes must not compile.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<16>>, mtl::ReLU, mtl::Flatten>;
mtl::Arena<8> arena;
float run(const Model& model, const float* input) {
  return model.forward(Model::input_view::unchecked(input), arena).values[0];
}
