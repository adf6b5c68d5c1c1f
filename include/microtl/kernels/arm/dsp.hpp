// The Armv7E-M DSP instructions the Cortex-M kernels use, one inline function each, and
// the word loads and stores they work on.
//
// On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55) each function
// is one instruction (ACLE intrinsics from <arm_acle.h>; the rotated forms as inline
// assembly, since GCC 12 does not fold a rotate into SXTB16/SXTAB16). Everywhere else (the
// host, the Cortex-M3) each one is a plain C++ emulation with the same result bit for bit,
// so that the DSP kernels can be compiled and checked against the portable ones on every
// target, sanitizers included. The emulations are for testing: they are slow.
//
// Packed values are std::int32_t, as in ACLE:
//   a "quad"  holds four int8 lanes,  lane k = bits [8k, 8k + 8)
//   a "pair"  holds two int16 lanes,  lane 0 = bits [0, 16) ("bottom"), lane 1 = [16, 32) ("top")
// Lane arithmetic wraps modulo 2^16 and accumulators modulo 2^32, as the instructions do
// (the kernels keep every value far from those limits; see their headers).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif

namespace microtl::kernels::arm::dsp {

// Four bytes from any address (LDR: unaligned word access is legal on Armv7-M, and memcpy
// has no strict-aliasing or alignment undefined behaviour).
inline std::int32_t load_quad(const std::int8_t* bytes) noexcept {
  std::int32_t quad;
  std::memcpy(&quad, bytes, sizeof quad);
  return quad;
}

inline void store_quad(std::int8_t* bytes, std::int32_t quad) noexcept {
  std::memcpy(bytes, &quad, sizeof quad);
}

// Two int16 lanes holding the same value (the input offset of the SXTAB16 additions).
constexpr std::int32_t splat_pair(std::int32_t value) noexcept {
  const auto lane = static_cast<std::uint32_t>(value) & 0xFFFFu;
  return static_cast<std::int32_t>(lane | (lane << 16));
}

// Four int8 lanes holding the same value (the low byte of value).
constexpr std::int32_t splat_quad(std::int32_t value) noexcept {
  return static_cast<std::int32_t>((static_cast<std::uint32_t>(value) & 0xFFu) * 0x01010101u);
}

// PKHBT ..., LSL #16: the bottom half of a, the bottom half of b above it (GCC and Clang
// make the instruction of this on DSP cores).
constexpr std::int32_t pkhbt(std::int32_t a, std::int32_t b) noexcept {
  return static_cast<std::int32_t>((static_cast<std::uint32_t>(a) & 0xFFFFu) |
                                   (static_cast<std::uint32_t>(b) << 16));
}

namespace emulated {

constexpr std::uint32_t bits(std::int32_t x) noexcept {
  return static_cast<std::uint32_t>(x);
}
constexpr std::int32_t from_bits(std::uint32_t x) noexcept {
  return static_cast<std::int32_t>(x);
}
constexpr std::int32_t byte_lane(std::int32_t x, int lane) noexcept {
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(bits(x) >> (8 * lane)));
}
constexpr std::int32_t bottom(std::int32_t x) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(bits(x)));
}
constexpr std::int32_t top(std::int32_t x) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(bits(x) >> 16));
}
constexpr std::int32_t make_pair(std::int32_t low, std::int32_t high) noexcept {
  return from_bits((bits(low) & 0xFFFFu) | (bits(high) << 16));
}
constexpr std::int32_t ror8(std::int32_t x) noexcept {
  return from_bits((bits(x) >> 8) | (bits(x) << 24));
}
// a + b modulo 2^32, without signed overflow.
constexpr std::int32_t wrapping_add(std::int32_t a, std::int32_t b) noexcept {
  return from_bits(bits(a) + bits(b));
}
// Lane k of the result is pick(lane k of a, lane k of b), for the four signed byte lanes.
template <typename Pick>
constexpr std::int32_t per_byte_lane(std::int32_t a, std::int32_t b, Pick pick) noexcept {
  std::uint32_t result = 0;
  for (int lane = 0; lane < 4; ++lane) {
    result |= (bits(pick(byte_lane(a, lane), byte_lane(b, lane))) & 0xFFu) << (8 * lane);
  }
  return from_bits(result);
}

}  // namespace emulated

#if defined(__ARM_FEATURE_DSP)

// SXTB16: lanes 0 and 2 of a quad, sign-extended into a pair.
inline std::int32_t sxtb16(std::int32_t quad) noexcept {
  return __sxtb16(quad);
}

// SXTB16 ..., ROR #8: lanes 1 and 3 of a quad, sign-extended into a pair.
inline std::int32_t sxtb16_ror8(std::int32_t quad) noexcept {
  std::int32_t pair;
  __asm("sxtb16 %0, %1, ror #8" : "=r"(pair) : "r"(quad));
  return pair;
}

// SXTAB16: pair + sxtb16(quad), lane by lane.
inline std::int32_t sxtab16(std::int32_t pair, std::int32_t quad) noexcept {
  return __sxtab16(pair, quad);
}

// SXTAB16 ..., ROR #8: pair + sxtb16_ror8(quad), lane by lane.
inline std::int32_t sxtab16_ror8(std::int32_t pair, std::int32_t quad) noexcept {
  std::int32_t sum;
  __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(sum) : "r"(pair), "r"(quad));
  return sum;
}

// SMLAD: acc + bottom(a) * bottom(b) + top(a) * top(b).
inline std::int32_t smlad(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  return __smlad(a, b, acc);
}

// SMLABB / SMLATT: acc + one 16 x 16 product of the bottom (top) halves of a and b.
inline std::int32_t smlabb(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  return __smlabb(a, b, acc);
}
inline std::int32_t smlatt(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  return __smlatt(a, b, acc);
}

// SADD16: the two int16 lanes of a and b added, lane by lane (modulo 2^16).
inline std::int32_t sadd16(std::int32_t a, std::int32_t b) noexcept {
  return __sadd16(a, b);
}

// SMMLAR: acc + the high word of a * b, rounded: acc + floor((a * b + 2^31) / 2^32).
inline std::int32_t smmlar(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  std::int32_t sum;
  __asm("smmlar %0, %1, %2, %3" : "=r"(sum) : "r"(a), "r"(b), "r"(acc));
  return sum;
}

// SSAT #8: x clamped to [-128, 127].
inline std::int32_t ssat8(std::int32_t x) noexcept {
  std::int32_t saturated;
  __asm("ssat %0, #8, %1" : "=r"(saturated) : "r"(x));
  return saturated;
}

// SSUB8 then SEL: per byte lane, max(a, b) (signed). SSUB8 sets the GE flag of each lane
// where a - b >= 0 and SEL takes a there, b elsewhere. One asm block: the compiler must not
// put anything that writes the GE flags between the two.
inline std::int32_t max_s8x4(std::int32_t a, std::int32_t b) noexcept {
  std::int32_t result;
  __asm("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(result) : "r"(a), "r"(b) : "cc");
  return result;
}
// Per byte lane, min(a, b) (signed): SSUB8 b - a, then SEL a where b >= a, b elsewhere.
inline std::int32_t min_s8x4(std::int32_t a, std::int32_t b) noexcept {
  std::int32_t result;
  __asm("ssub8 %0, %2, %1\n\tsel %0, %1, %2" : "=&r"(result) : "r"(a), "r"(b) : "cc");
  return result;
}

#else  // emulation, bit-exact

inline std::int32_t sxtb16(std::int32_t quad) noexcept {
  using namespace emulated;
  return make_pair(byte_lane(quad, 0), byte_lane(quad, 2));
}
inline std::int32_t sxtb16_ror8(std::int32_t quad) noexcept {
  return sxtb16(emulated::ror8(quad));
}
inline std::int32_t sxtab16(std::int32_t pair, std::int32_t quad) noexcept {
  using namespace emulated;
  return make_pair(bottom(pair) + byte_lane(quad, 0), top(pair) + byte_lane(quad, 2));
}
inline std::int32_t sxtab16_ror8(std::int32_t pair, std::int32_t quad) noexcept {
  return sxtab16(pair, emulated::ror8(quad));
}
inline std::int32_t smlad(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  using namespace emulated;
  return wrapping_add(wrapping_add(acc, bottom(a) * bottom(b)), top(a) * top(b));
}
inline std::int32_t smlabb(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  using namespace emulated;
  return wrapping_add(acc, bottom(a) * bottom(b));
}
inline std::int32_t smlatt(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  using namespace emulated;
  return wrapping_add(acc, top(a) * top(b));
}
inline std::int32_t sadd16(std::int32_t a, std::int32_t b) noexcept {
  using namespace emulated;
  return make_pair(bottom(a) + bottom(b), top(a) + top(b));
}
inline std::int32_t smmlar(std::int32_t a, std::int32_t b, std::int32_t acc) noexcept {
  // |a * b| <= 2^62: the product and the rounding fit in int64; >> floors (C++20).
  const auto high =
      static_cast<std::int32_t>((std::int64_t{a} * b + (std::int64_t{1} << 31)) >> 32);
  return emulated::wrapping_add(acc, high);
}
inline std::int32_t ssat8(std::int32_t x) noexcept {
  return x < -128 ? -128 : (x > 127 ? 127 : x);
}
// As SSUB8 + SEL: a where a - b >= 0 (max), a where b - a >= 0 (min), b elsewhere.
inline std::int32_t max_s8x4(std::int32_t a, std::int32_t b) noexcept {
  return emulated::per_byte_lane(a, b,
                                 [](std::int32_t x, std::int32_t y) { return x >= y ? x : y; });
}
inline std::int32_t min_s8x4(std::int32_t a, std::int32_t b) noexcept {
  return emulated::per_byte_lane(a, b,
                                 [](std::int32_t x, std::int32_t y) { return y >= x ? x : y; });
}

#endif

}  // namespace microtl::kernels::arm::dsp
