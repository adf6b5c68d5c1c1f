// Weights of the wrong size for the layer must not compile, and the message must say so.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
extern const std::array<float, 10> weights;
extern const std::array<float, 3> bias;
const mtl::LinearParams<float, 12, 3> params{weights, bias};
