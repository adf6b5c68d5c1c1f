// A tiny deterministic pseudo-random generator for tests (Marsaglia's xorshift32), so random
// tests give the same inputs on every compiler and on the device, without <random>.
#pragma once

#include <cstdint>

namespace microtl_test {

class Xorshift32 {
 public:
  explicit constexpr Xorshift32(std::uint32_t seed) noexcept : state_(seed == 0 ? 1U : seed) {}

  // Next 32 random bits: state ^= state << 13; state ^= state >> 17; state ^= state << 5.
  constexpr std::uint32_t next() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

  // The same bits as a signed int32 (two's complement reinterpretation, any value).
  constexpr std::int32_t next_int32() noexcept { return static_cast<std::int32_t>(next()); }

  // Uniform integer in [low, high], a range narrower than the whole of int32 (modulo bias
  // is irrelevant for tests). Unsigned arithmetic: the width may exceed INT32_MAX.
  constexpr std::int32_t uniform_int(std::int32_t low, std::int32_t high) noexcept {
    const std::uint32_t width = static_cast<std::uint32_t>(high) - static_cast<std::uint32_t>(low);
    const std::uint32_t offset = next() % (width + 1U);
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(low) + offset);
  }

  // Uniform float in [low, high): 24 random bits give a value in [0, 1).
  constexpr float uniform_float(float low, float high) noexcept {
    const float unit = static_cast<float>(next() >> 8) * (1.0f / 16777216.0f);
    return low + (high - low) * unit;
  }

 private:
  std::uint32_t state_;
};

}  // namespace microtl_test
