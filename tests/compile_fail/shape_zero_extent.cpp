// A shape with an empty dimension is a mistake: it must not compile.
#include "microtl/core/shape.hpp"

constexpr std::size_t n = microtl::Shape<4, 0, 3>::size;
int use() {
  return static_cast<int>(n);
}
