// The ReLU written after a Dense is fused into it: it has no parameters of its own.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Dense<3>, mtl::ReLU, mtl::Dense<2>>;
extern const Model::params_for<1> relu_params;
