// A buffer that does not fit in the arena must not compile (64 floats = 256 bytes > 128).
#include "microtl/core/arena.hpp"

microtl::Arena<128> arena;
float first() {
  return arena.view_at<float, microtl::Shape<64>, 0>()[0];
}
