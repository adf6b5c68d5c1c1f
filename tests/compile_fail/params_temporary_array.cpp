// A parameter struct points at its weights: a temporary array would dangle.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
extern const std::array<float, 3> bias;
const mtl::LinearParams<float, 12, 3> params{std::array<float, 12>{}, bias};
