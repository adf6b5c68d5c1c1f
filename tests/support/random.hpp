// Deterministic pseudo-random data for tests, benchmarks and fuzz harnesses: Marsaglia's
// xorshift32, so that random tests see the same numbers on every compiler, on the host and on
// the device, without <random> (and without a heap).
//
// Every helper draws exactly one number per element, in element order, with the generator's
// own uniform_float / uniform_int. Tests whose golden values or thresholds were measured on a
// particular sequence rely on that: replacing a hand-written loop
//   for (auto& v : a) v = rng.uniform_float(low, high);
// by fill_floats(a, rng, low, high) (or a = random_floats<N>(rng, low, high)) gives the very
// same numbers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace microtl_test {

class Xorshift32 {
 public:
  // Seed 0 would stay 0 for ever: it is replaced by 1.
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

// ---- Filling memory the caller owns (std::array converts to these spans) ----------------

// Each element uniform in [low, high).
constexpr void fill_floats(std::span<float> out, Xorshift32& rng, float low, float high) noexcept {
  for (float& v : out) {
    v = rng.uniform_float(low, high);
  }
}

// Each code uniform in [low, high] (within [-128, 127]).
constexpr void fill_int8s(std::span<std::int8_t> out, Xorshift32& rng, std::int32_t low = -128,
                          std::int32_t high = 127) noexcept {
  for (std::int8_t& v : out) {
    v = static_cast<std::int8_t>(rng.uniform_int(low, high));
  }
}

// Each value uniform in [low, high].
constexpr void fill_int32s(std::span<std::int32_t> out, Xorshift32& rng, std::int32_t low,
                           std::int32_t high) noexcept {
  for (std::int32_t& v : out) {
    v = rng.uniform_int(low, high);
  }
}

// ---- New arrays ---------------------------------------------------------------------------

template <std::size_t N>
constexpr std::array<float, N> random_floats(Xorshift32& rng, float low, float high) noexcept {
  std::array<float, N> values{};
  fill_floats(values, rng, low, high);
  return values;
}

template <std::size_t N>
constexpr std::array<std::int8_t, N> random_int8s(Xorshift32& rng, std::int32_t low = -128,
                                                  std::int32_t high = 127) noexcept {
  std::array<std::int8_t, N> values{};
  fill_int8s(values, rng, low, high);
  return values;
}

template <std::size_t N>
constexpr std::array<std::int32_t, N> random_int32s(Xorshift32& rng, std::int32_t low,
                                                    std::int32_t high) noexcept {
  std::array<std::int32_t, N> values{};
  fill_int32s(values, rng, low, high);
  return values;
}

}  // namespace microtl_test
