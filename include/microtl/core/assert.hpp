// The assert hook: how microtl reports a programming error it could not catch at compile
// time (an index out of range, a runtime buffer of the wrong size passed where the caller
// promised the right one).
//
// Recoverable conditions (bad labels, corrupt blobs, non-finite data) are never asserted:
// they return a Status (core/status.hpp). An assert means the program is wrong.
//
// The default hook executes a trap instruction (a HardFault on Cortex-M, SIGILL/SIGTRAP on
// a host), which a debugger stops at. Firmware installs its own, for example to log and
// reset:
//
//   void on_microtl_bug(const char* condition, const char* file, int line) { log(...);
//   NVIC_SystemReset(); } microtl::set_assert_handler(&on_microtl_bug);
//
// A handler that returns does not resume the failed operation: the library traps after it.
#pragma once

#include "microtl/config.hpp"

namespace microtl {

using AssertHandler = void (*)(const char* condition, const char* file, int line);

namespace detail {
// One handler for the whole program (C++17 inline variable: no definition to link).
inline AssertHandler assert_handler = nullptr;
}  // namespace detail

// Installs `handler` (nullptr restores the default trap) and returns the previous one.
inline AssertHandler set_assert_handler(AssertHandler handler) noexcept {
  const AssertHandler previous = detail::assert_handler;
  detail::assert_handler = handler;
  return previous;
}

// Called by MICROTL_ASSERT. Never returns.
[[noreturn]] inline void assert_failed(const char* condition, const char* file, int line) noexcept {
  if (detail::assert_handler != nullptr) {
    detail::assert_handler(condition, file, line);
  }
  __builtin_trap();
}

}  // namespace microtl

#if MICROTL_ASSERT_MESSAGES
#define MICROTL_DETAIL_ASSERT_FAIL(condition_text) \
  ::microtl::assert_failed(condition_text, __FILE__, __LINE__)
#else
#define MICROTL_DETAIL_ASSERT_FAIL(condition_text) ::microtl::assert_failed("", "", __LINE__)
#endif

// MICROTL_ASSERT(condition): a precondition that only a bug can break. Usable in constexpr
// functions: in a constant expression a failing assert is a compile error.
#if MICROTL_ENABLE_ASSERTS
#define MICROTL_ASSERT(condition)             \
  do {                                        \
    if (!(condition)) [[unlikely]] {          \
      MICROTL_DETAIL_ASSERT_FAIL(#condition); \
    }                                         \
  } while (false)
#else
#define MICROTL_ASSERT(condition) \
  do {                            \
  } while (false)
#endif
