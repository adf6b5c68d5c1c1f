// kernels::max_pool_s8: the int8 max pooling kernel for the target, chosen at compile time by
// MICROTL_USE_DSP_KERNELS (config.hpp): kernels::arm::max_pool_s8 on cores with the DSP
// extension, kernels::portable::max_pool_s8 elsewhere; both have the contract written in
// kernels/portable/pooling.hpp and give the same output codes. Also brings the other pooling
// kernels (average, global average, float), which have one version.
#pragma once

#include "microtl/config.hpp"
#include "microtl/kernels/portable/pooling.hpp"
#if MICROTL_USE_DSP_KERNELS
#include "microtl/kernels/arm/pooling.hpp"
#endif

namespace microtl::kernels {

#if MICROTL_USE_DSP_KERNELS
using arm::max_pool_s8;
#else
using portable::max_pool_s8;
#endif

}  // namespace microtl::kernels
