// A parameter set of another layer's type: the message names the layer's position.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Dense<3>, mtl::ReLU, mtl::Dense<2>>;
extern const Model::params_for<0> first;
const Model model(first, first);
