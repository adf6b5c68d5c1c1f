// Reshaping to a shape with another element count must not compile (12 != 10).
#include "microtl/core/tensor.hpp"

float first(microtl::Tensor<float, microtl::Shape<3, 4>>& t) {
  return t.view().reshape<microtl::Shape<10>>()[0];
}
