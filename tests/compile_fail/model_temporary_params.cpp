// A frozen layer's parameters are referenced by the model: a temporary parameter struct
// would dangle, so the constructor must refuse it.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Dense<3>>;
extern const std::array<float, 12> weights;
extern const std::array<float, 3> bias;
const Model model(Model::params_for<0>{weights, bias});
