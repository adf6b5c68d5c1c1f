// A model with two parametrised layers constructed with one parameter set must not compile.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::Dense<3>, mtl::Dense<2>>;
extern const mtl::LinearParams<float, 12, 3> first;
const Model model(first);
