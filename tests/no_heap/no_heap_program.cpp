// A small firmware that uses the library's core (tensors, views, an arena plan, statuses)
// and links no C library start-up or I/O (board "bare" variant). The no-heap check
// inspects its ELF; running it in QEMU checks that it computed the right answer.
//
// With MICROTL_NO_HEAP_SELF_TEST it also allocates on purpose, so that the check can be
// seen to fail (CTest expects that build's check to fail).
#include <microtl/microtl.hpp>

#include <cstdint>

#include "board/semihosting.hpp"

#if defined(MICROTL_NO_HEAP_SELF_TEST)
#include <memory>
#endif

namespace {

using Plan = microtl::ArenaPlan<microtl::Buffer<std::int8_t, microtl::Shape<4, 4>>,
                                microtl::Buffer<std::int32_t, microtl::Shape<4>>>;
microtl::Arena<Plan::bytes> arena;

microtl::Status row_sums(microtl::TensorView<const std::int8_t, microtl::Shape<4, 4>> m,
                         microtl::TensorView<std::int32_t, microtl::Shape<4>> out, int limit) {
  if (limit < 0) {
    return microtl::Status::invalid_argument;
  }
  for (std::size_t r = 0; r < 4; ++r) {
    std::int32_t sum = 0;
    for (std::size_t c = 0; c < 4; ++c) {
      sum += m(r, c);
    }
    out[r] = sum;
  }
  return microtl::Status::ok;
}

}  // namespace

int main() {
  auto m = arena.view<Plan, 0>();
  auto sums = arena.view<Plan, 1>();
  // m(r, c) = r - c, so row r sums to 4r - 6: -6, -2, 2, 6.
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) {
      m(r, c) = static_cast<std::int8_t>(static_cast<int>(r) - static_cast<int>(c));
    }
  }
  if (row_sums(m, sums, 1) != microtl::Status::ok) {
    return 2;
  }
#if defined(MICROTL_NO_HEAP_SELF_TEST)
  auto extra = std::make_unique<std::int32_t>(1);
  sums[0] += *extra - 1;
#endif
  const bool right = sums[0] == -6 && sums[1] == -2 && sums[2] == 2 && sums[3] == 6;
  board::semihosting::write0(right ? "no_heap_program: ok\n" : "no_heap_program: WRONG\n");
  return right ? 0 : 1;
}
