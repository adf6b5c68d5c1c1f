// Arena plans, checked by the compiler: offsets and totals worked out by hand.
#include <cstdint>

#include "microtl/core/arena.hpp"

namespace {
using microtl::ArenaPlan;
using microtl::Buffer;
using microtl::Shape;

static_assert(microtl::align_up(0, 8) == 0);
static_assert(microtl::align_up(1, 8) == 8);
static_assert(microtl::align_up(8, 8) == 8);
static_assert(microtl::align_up(13, 4) == 16);

// int8[5] at 0, float[3] at align_up(5, A), int8[1] after it.
using Plan = ArenaPlan<Buffer<std::int8_t, Shape<5>>, Buffer<float, Shape<3>>,
                       Buffer<std::int8_t, Shape<1>>>;
constexpr std::size_t A = MICROTL_ALIGNMENT;
static_assert(Plan::count == 3);
static_assert(Plan::offsets[0] == 0);
static_assert(Plan::offsets[1] == microtl::align_up(5, A));
static_assert(Plan::offsets[2] == microtl::align_up(5, A) + 12 + (microtl::align_up(12, A) - 12));
static_assert(Plan::bytes == microtl::align_up(Plan::offsets[2] + 1, A));
static_assert(Plan::offsets[1] % alignof(float) == 0);

// With the default 8-byte alignment the numbers are concrete: 0, 8, 24; total 32.
static_assert(A != 8 || (Plan::offsets[1] == 8 && Plan::offsets[2] == 24 && Plan::bytes == 32));

// An arena is exactly its bytes (rounded to its alignment): no hidden bookkeeping.
static_assert(sizeof(microtl::Arena<Plan::bytes>) == Plan::bytes);
static_assert(sizeof(microtl::Arena<100, 4>) == 100);
static_assert(alignof(microtl::Arena<100, 16>) == 16);

}  // namespace
