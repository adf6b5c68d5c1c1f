// A raw pointer carries no size: it does not make an input view (only ::unchecked does).
#include "microtl/microtl.hpp"

namespace mtl = microtl;
using Model = mtl::Sequential<mtl::Input<mtl::Shape<16>>, mtl::ReLU>;
extern const float* samples;
const Model::input_view view(samples);
