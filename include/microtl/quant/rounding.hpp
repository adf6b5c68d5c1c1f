// Round-to-nearest, ties away from zero (what std::round and TFLite's TfLiteRound do), as
// constexpr functions that do not need <cmath>, for float and double.
#pragma once

#include <cstdint>

namespace microtl::quant::detail {

// std::round of a double with |value| < 2^62, as an int64.
// The integer part (truncation) is exact, and so is value minus it, so the tie test is exact
// too. (The usual "add 0.5 and truncate" can round up a value just below a tie.)
constexpr std::int64_t round_half_away_from_zero(double value) noexcept {
  const auto truncated = static_cast<std::int64_t>(value);
  const double fraction = value - static_cast<double>(truncated);
  if (fraction >= 0.5) {
    return truncated + 1;
  }
  if (fraction <= -0.5) {
    return truncated - 1;
  }
  return truncated;
}

// std::round of a float with |value| < 2^31, as an int32. Float only: it runs per element.
constexpr std::int32_t round_half_away_from_zero(float value) noexcept {
  const auto truncated = static_cast<std::int32_t>(value);
  const float fraction = value - static_cast<float>(truncated);
  if (fraction >= 0.5f) {
    return truncated + 1;
  }
  if (fraction <= -0.5f) {
    return truncated - 1;
  }
  return truncated;
}

}  // namespace microtl::quant::detail
