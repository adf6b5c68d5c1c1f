// A program that uses microtl the way a downstream project does. It exits 0 only when the
// library computed the right answer, so a broken package fails the consumer tests.
#include <microtl/microtl.hpp>

#include <cstdint>

int main() {
  using Plan = microtl::ArenaPlan<microtl::Buffer<std::int32_t, microtl::Shape<2, 3>>>;
  microtl::Arena<Plan::bytes> arena;
  auto m = arena.view<Plan, 0>();
  // m(r, c) = 10 r + c, so the sum is (0+1+2) + (10+11+12) = 36.
  for (std::int32_t r = 0; r < 2; ++r) {
    for (std::int32_t c = 0; c < 3; ++c) {
      m(r, c) = 10 * r + c;
    }
  }
  std::int32_t sum = 0;
  for (const auto value : m) {
    sum += value;
  }
  return sum == 36 ? 0 : 1;
}
