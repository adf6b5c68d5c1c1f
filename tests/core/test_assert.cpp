// The assert hook: a broken precondition reaches the installed handler with the failed
// condition and where it failed; restoring the default works. The handler leaves through
// longjmp, which is how a test observes a function that must not return.
//
// This file is built twice: in test_core with the default MICROTL_ENABLE_ASSERTS=1, and as
// test_assert_off with MICROTL_ENABLE_ASSERTS=0, where the checks must compile to nothing.
// Each case that only makes sense in one of the two is skipped in the other (doctest counts
// it as skipped); the rest check something in both.
#include <doctest/doctest.h>

#include <csetjmp>
#include <cstdint>
#include <cstring>

#include "microtl/core/assert.hpp"
#include "microtl/core/tensor.hpp"

namespace {

constexpr bool kAssertsOn = MICROTL_ENABLE_ASSERTS != 0;

std::jmp_buf escape;
const char* seen_condition = nullptr;
const char* seen_file = nullptr;
int seen_line = 0;
int calls = 0;

void recording_handler(const char* condition, const char* file, int line) {
  seen_condition = condition;
  seen_file = file;
  seen_line = line;
  ++calls;
  std::longjmp(escape, 1);
}

// Evaluations of a condition with a side effect.
int evaluations = 0;
[[maybe_unused]] bool counted(bool value) {
  ++evaluations;
  return value;
}

}  // namespace

TEST_CASE("assert hook: which build this is") {
  MESSAGE(doctest::String(kAssertsOn ? "MICROTL_ENABLE_ASSERTS=1: preconditions are checked"
                                     : "MICROTL_ENABLE_ASSERTS=0: checks compiled out (the cases "
                                       "that need them are skipped)"));
  // The default handler is the built-in trap in either build.
  const microtl::AssertHandler previous = microtl::set_assert_handler(&recording_handler);
  CHECK((previous == nullptr));
  CHECK((microtl::set_assert_handler(nullptr) == &recording_handler));
}

TEST_CASE("assert hook: an out-of-range index reaches the handler" * doctest::skip(!kAssertsOn)) {
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
}

TEST_CASE("MICROTL_ASSERT: the handler gets the condition, the file and the line" *
          doctest::skip(!kAssertsOn)) {
  const microtl::AssertHandler previous = microtl::set_assert_handler(&recording_handler);
  calls = 0;
  evaluations = 0;
  volatile bool broken = false;
  (void)broken;           // unused where the assert compiles to nothing
  volatile int line = 0;  // written between setjmp and longjmp
  if (setjmp(escape) == 0) {
    line = __LINE__ + 1;
    MICROTL_ASSERT(counted(broken));
    FAIL("the assert did not fire");
  }
  CHECK(calls == 1);
  CHECK(evaluations == 1);
  CHECK(seen_line == line);
  if (MICROTL_ASSERT_MESSAGES) {
    REQUIRE(seen_condition != nullptr);
    CHECK(std::strcmp(seen_condition, "counted(broken)") == 0);
    REQUIRE(seen_file != nullptr);
    CHECK(std::strstr(seen_file, "test_assert.cpp") != nullptr);
  }
  microtl::set_assert_handler(previous);
}

TEST_CASE("MICROTL_ASSERT: a condition is evaluated once when checks are on, never when off") {
  const microtl::AssertHandler previous = microtl::set_assert_handler(&recording_handler);
  calls = 0;
  evaluations = 0;
  MICROTL_ASSERT(counted(true));
  CHECK(evaluations == (kAssertsOn ? 1 : 0));
  CHECK(calls == 0);  // a condition that holds never reaches the handler
  microtl::set_assert_handler(previous);
}

TEST_CASE("asserts off: a broken precondition is not checked and never reaches the handler" *
          doctest::skip(kAssertsOn)) {
  const microtl::AssertHandler previous = microtl::set_assert_handler(&recording_handler);
  calls = 0;
  evaluations = 0;
  if (setjmp(escape) == 0) {
    MICROTL_ASSERT(counted(false));
  }
  CHECK(calls == 0);
  CHECK(evaluations == 0);  // the condition is not even evaluated
  microtl::set_assert_handler(previous);
}
