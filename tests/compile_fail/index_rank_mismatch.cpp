// Indexing a rank-3 tensor with two indices must not compile.
#include "microtl/core/tensor.hpp"

float corner(const microtl::Tensor<float, microtl::Shape<2, 3, 4>>& t) {
  return t(1, 2);
}
