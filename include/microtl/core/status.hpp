// Status: the answer to every operation that can fail at run time because of its input
// (a label out of range, a truncated file, a parameter blob from another model, a
// training step that diverged). Programming errors are not statuses: shapes are checked
// by the compiler, and broken preconditions go to the assert hook (core/assert.hpp).
//
// Status is [[nodiscard]]: ignoring one is a compiler warning (an error in microtl's own
// build). Result<T> carries a value together with a Status, for functions that produce
// something; it never holds an invalid value without saying so.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "microtl/core/assert.hpp"

namespace microtl {

enum class [[nodiscard]] Status : std::uint8_t {
  ok = 0,
  invalid_argument,    // an argument outside its documented range
  size_mismatch,       // a runtime buffer or file whose size is not the expected one
  label_out_of_range,  // a class label >= the number of classes
  not_finite,          // NaN or infinity in an input or a target
  bad_format,          // bytes that are not the expected format (magic, header fields)
  truncated,           // data that ends before its header says it should
  version_mismatch,    // a format version this build does not read
  model_mismatch,      // a parameter blob saved by a different model type
  checksum_mismatch,   // stored data whose checksum does not match: corrupted
  io_error,            // the storage or file layer reported a failure
  not_found,           // nothing valid stored yet
  diverged,            // training produced non-finite values; parameters were rolled back
  capacity_exceeded,   // a fixed-capacity container is full
  out_of_range,        // a finite value beyond its documented bound (train/guard.hpp)
};

// A short, stable name for logs ("label_out_of_range").
constexpr const char* to_string(Status status) noexcept {
  switch (status) {
    case Status::ok:
      return "ok";
    case Status::invalid_argument:
      return "invalid_argument";
    case Status::size_mismatch:
      return "size_mismatch";
    case Status::label_out_of_range:
      return "label_out_of_range";
    case Status::not_finite:
      return "not_finite";
    case Status::bad_format:
      return "bad_format";
    case Status::truncated:
      return "truncated";
    case Status::version_mismatch:
      return "version_mismatch";
    case Status::model_mismatch:
      return "model_mismatch";
    case Status::checksum_mismatch:
      return "checksum_mismatch";
    case Status::io_error:
      return "io_error";
    case Status::not_found:
      return "not_found";
    case Status::diverged:
      return "diverged";
    case Status::capacity_exceeded:
      return "capacity_exceeded";
    case Status::out_of_range:
      return "out_of_range";
  }
  return "unknown";
}

constexpr bool is_ok(Status status) noexcept {
  return status == Status::ok;
}

// A value or the reason there is none. T must be default-constructible (the value slot is
// always constructed, which keeps Result trivial for trivial T and free of unions).
template <class T>
class [[nodiscard]] Result {
  static_assert(std::is_default_constructible_v<T>, "Result<T> needs a default-constructible T");
  static_assert(!std::is_reference_v<T>, "Result<T> holds values, not references");

 public:
  constexpr Result(T value) noexcept(
      std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit on purpose
      : value_(std::move(value)), status_(Status::ok) {}
  // A failure. Status::ok here is a bug (an ok Result must carry a value).
  constexpr Result(Status status) noexcept : value_(), status_(status) {  // NOLINT
    MICROTL_ASSERT(status != Status::ok);
  }

  [[nodiscard]] constexpr bool ok() const noexcept { return status_ == Status::ok; }
  [[nodiscard]] constexpr Status status() const noexcept { return status_; }
  constexpr explicit operator bool() const noexcept { return ok(); }

  // The value; only meaningful when ok(). Returns the default value otherwise, never garbage.
  [[nodiscard]] constexpr const T& value() const& noexcept { return value_; }
  [[nodiscard]] constexpr T& value() & noexcept { return value_; }
  [[nodiscard]] constexpr T value_or(T fallback) const noexcept { return ok() ? value_ : fallback; }

 private:
  T value_;
  Status status_;
};

}  // namespace microtl

// Returns the status from the enclosing function unless it is ok.
#define MICROTL_TRY(expression)                                 \
  do {                                                          \
    const ::microtl::Status microtl_try_status_ = (expression); \
    if (microtl_try_status_ != ::microtl::Status::ok) {         \
      return microtl_try_status_;                               \
    }                                                           \
  } while (false)
