// The divergence guard's test of a sample's float features (train/guard.hpp's check_features:
// is every value within [-limit, limit]?) for Cortex-M cores with Helium floating point (MVE-F:
// Cortex-M55, M85), four values per compare.
//
//   within  =  AND over i of  limit >= |v[i]|          (false for a NaN: it compares unordered)
//
// (As GE, limit on the left: an Arm LE or LT condition is also true for unordered operands,
// so |v| <= limit would let a NaN through.)
// The same answer as the scalar test value by value: VABS only clears the sign bit, and the one
// difference of MVE's float compare (a subnormal input counts as zero, the standard FPSCR value)
// cannot change the answer for a limit of at least 2^-126. Per four values: a load, VABS, VCMP
// and an AND of the predicates (the scalar loop took 12 instructions per value on the M55).
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/config.hpp"

#if MICROTL_USE_MVE_FLOAT_KERNELS

#include <arm_mve.h>

namespace microtl::kernels::mve {

// Whether every |v[i]| <= limit (none a NaN), i < n (limit >= 2^-126).
inline bool all_within_f32(const float* v, std::size_t n, float limit) noexcept {
  std::uint32_t within = 0xffffU;  // one predicate bit per byte of the four lanes
  const float32x4_t bound = vdupq_n_f32(limit);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    within &= vcmpgeq_f32(bound, vabsq_f32(vld1q_f32(v + i)));
  }
  if (i < n) {
    // The last n % 4 values; lanes past n count as within.
    const mve_pred16_t lanes = vctp32q(static_cast<std::uint32_t>(n - i));
    const mve_pred16_t ok = vcmpgeq_m_f32(bound, vabsq_f32(vldrwq_z_f32(v + i, lanes)), lanes);
    within &= static_cast<std::uint32_t>(ok | static_cast<mve_pred16_t>(~lanes));
  }
  return within == 0xffffU;
}

}  // namespace microtl::kernels::mve

#endif  // MICROTL_USE_MVE_FLOAT_KERNELS
