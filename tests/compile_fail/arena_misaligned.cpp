// A float buffer at an odd offset must not compile.
#include "microtl/core/arena.hpp"

microtl::Arena<128> arena;
float first() {
  return arena.view_at<float, microtl::Shape<4>, 3>()[0];
}
