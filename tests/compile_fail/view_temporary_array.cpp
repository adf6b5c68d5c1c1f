// A view of a temporary array dangles: it must not compile.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using View = mtl::TensorView<const float, mtl::Shape<4>>;
const View view(std::array<float, 4>{1.0f, 2.0f, 3.0f, 4.0f});
