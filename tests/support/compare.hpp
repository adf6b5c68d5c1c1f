// Float comparisons shared by the tests.
//
//   within_relative(a, b, tol)  |a - b| <= tol * max(1, |a|): relative for magnitudes above
//                               one, absolute below (finite-difference gradient checks,
//                               where tiny gradients make a purely relative test meaningless)
//   bit_identical(a, b)         the same bits, element by element (memcmp): -0.0 differs from
//                               0.0 and a NaN from every other value, unlike ==; for "the
//                               same arithmetic gives the same result" claims
#pragma once

#include <cmath>
#include <cstring>
#include <span>

namespace microtl_test {

inline bool within_relative(float a, float b, float tolerance) noexcept {
  const float magnitude = std::fabs(a) > 1.0f ? std::fabs(a) : 1.0f;
  return std::fabs(a - b) <= tolerance * magnitude;
}

inline bool bit_identical(std::span<const float> a, std::span<const float> b) noexcept {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

}  // namespace microtl_test
