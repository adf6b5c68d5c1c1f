// A view of 6 floats cannot be made from a span of 5.
#include <span>

#include "microtl/core/tensor_view.hpp"

float first(std::span<float, 5> five) {
  return microtl::view_as<microtl::Shape<2, 3>>(five)[0];
}
