// A Tensor owns (and so writes) its elements: Tensor<const T> must not compile.
#include "microtl/core/tensor.hpp"

microtl::Tensor<const float, microtl::Shape<4>> t{};
