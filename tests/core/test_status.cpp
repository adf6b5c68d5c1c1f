// Status and Result: names are stable, failures never expose a value as valid.
#include <doctest/doctest.h>

#include <cstring>
#include <iterator>

#include "microtl/core/status.hpp"

using microtl::Result;
using microtl::Status;

namespace {
Result<int> parse_label(int raw, int classes) {
  if (raw < 0 || raw >= classes) {
    return Status::label_out_of_range;
  }
  return raw;
}

Status two_steps(int a, int b) {
  MICROTL_TRY(parse_label(a, 10).status());
  MICROTL_TRY(parse_label(b, 10).status());
  return Status::ok;
}
}  // namespace

TEST_CASE("status: every value has its own name") {
  const Status all[] = {Status::ok,
                        Status::invalid_argument,
                        Status::size_mismatch,
                        Status::label_out_of_range,
                        Status::not_finite,
                        Status::bad_format,
                        Status::truncated,
                        Status::version_mismatch,
                        Status::model_mismatch,
                        Status::checksum_mismatch,
                        Status::io_error,
                        Status::not_found,
                        Status::diverged,
                        Status::capacity_exceeded,
                        Status::out_of_range};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    CHECK(std::strcmp(microtl::to_string(all[i]), "unknown") != 0);
    for (std::size_t j = 0; j < i; ++j) {
      CHECK(std::strcmp(microtl::to_string(all[i]), microtl::to_string(all[j])) != 0);
    }
  }
  CHECK(std::strcmp(microtl::to_string(Status::label_out_of_range), "label_out_of_range") == 0);
  CHECK(microtl::is_ok(Status::ok));
  CHECK_FALSE(microtl::is_ok(Status::diverged));
}

TEST_CASE("result: a value or a status, never both") {
  const Result<int> good = parse_label(3, 10);
  CHECK(good.ok());
  CHECK(good.value() == 3);
  const Result<int> bad = parse_label(12, 10);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status() == Status::label_out_of_range);
  CHECK(bad.value_or(-1) == -1);
  CHECK(bad.value() == 0);  // the default value, never an uninitialised one
}

TEST_CASE("MICROTL_TRY returns the first failure") {
  CHECK(two_steps(1, 2) == Status::ok);
  CHECK(two_steps(10, 2) == Status::label_out_of_range);
  CHECK(two_steps(1, -1) == Status::label_out_of_range);
}
