// The assert hook: a broken precondition reaches the installed handler with the failed
// condition; restoring the default works. The handler leaves through longjmp, which is
// how a test observes a function that must not return.
#include <doctest/doctest.h>

#include <csetjmp>
#include <cstdint>
#include <cstring>

#include "microtl/core/assert.hpp"
#include "microtl/core/tensor.hpp"

namespace {
std::jmp_buf escape;
const char* seen_condition = nullptr;
int calls = 0;

void recording_handler(const char* condition, const char*, int) {
  seen_condition = condition;
  ++calls;
  std::longjmp(escape, 1);
}
}  // namespace

TEST_CASE("assert hook: an out-of-range index reaches the handler") {
#if MICROTL_ENABLE_ASSERTS
  const microtl::AssertHandler previous = microtl::set_assert_handler(&recording_handler);
  CHECK((previous == nullptr));  // the default is the built-in trap
  calls = 0;
  microtl::Tensor<std::int32_t, microtl::Shape<4>> t{};
  volatile std::size_t index = 4;  // one past the end, unknown to the compiler
  if (setjmp(escape) == 0) {
    t[index] = 1;
    FAIL("the assert did not fire");
  }
  CHECK(calls == 1);
  REQUIRE(seen_condition != nullptr);
  CHECK(std::strstr(seen_condition, "flat_index < size") != nullptr);

  // In range: no call.
  index = 3;
  t[index] = 1;
  CHECK(calls == 1);
  CHECK((microtl::set_assert_handler(previous) == &recording_handler));
#endif
}
