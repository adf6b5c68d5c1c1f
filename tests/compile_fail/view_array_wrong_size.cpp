// A 100-element buffer for a 384-element input must not compile.
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<128, 3>, mtl::QInt8>, mtl::Flatten>;
extern const std::array<std::int8_t, 100> window;
const Model::input_view view(window);
