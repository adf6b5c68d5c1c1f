// Round-to-nearest, ties away from zero (what std::round and TFLite's TfLiteRound do), as
// constexpr functions that do not need <cmath>, for float and double.
#pragma once

#include <cstdint>

namespace microtl::quant::detail {

// std::round of `value` as an integer of type Int (the value must fit it): the integer part
// (truncation) is exact, and so is value minus it, so the tie test is exact too. (The usual
// "add 0.5 and truncate" can round up a value just below a tie.)
template <class Int, class Real>
constexpr Int round_to_nearest_away(Real value) noexcept {
  const auto truncated = static_cast<Int>(value);
  const Real fraction = value - static_cast<Real>(truncated);
  if (fraction >= Real{0.5}) {
    return truncated + 1;
  }
  if (fraction <= Real{-0.5}) {
    return truncated - 1;
  }
  return truncated;
}

// A double with |value| < 2^62, as an int64.
constexpr std::int64_t round_half_away_from_zero(double value) noexcept {
  return round_to_nearest_away<std::int64_t>(value);
}

// A float with |value| < 2^31, as an int32. Float only: it runs per element.
constexpr std::int32_t round_half_away_from_zero(float value) noexcept {
  return round_to_nearest_away<std::int32_t>(value);
}

}  // namespace microtl::quant::detail
