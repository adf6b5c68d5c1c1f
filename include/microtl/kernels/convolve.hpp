// kernels::convolve_s8 and kernels::convolve_1d_s8: the int8 convolution kernels for the
// target, chosen at compile time by MICROTL_USE_MVE_KERNELS and MICROTL_USE_DSP_KERNELS
// (config.hpp): the kernels::mve versions on cores with Helium, the kernels::arm ones on other
// cores with the DSP extension, the kernels::portable ones elsewhere. All have the contract written
// in kernels/portable/convolve.hpp and give the same output codes. Also brings
// kernels::convolve_f32 and convolve_1d_f32.
#pragma once

#include "microtl/config.hpp"
#include "microtl/kernels/portable/convolve.hpp"
#if MICROTL_USE_MVE_KERNELS
#include "microtl/kernels/mve/convolve.hpp"
#elif MICROTL_USE_DSP_KERNELS
#include "microtl/kernels/arm/convolve.hpp"
#endif

namespace microtl::kernels {

#if MICROTL_USE_MVE_KERNELS
using mve::convolve_1d_s8;
using mve::convolve_s8;
#elif MICROTL_USE_DSP_KERNELS
using arm::convolve_1d_s8;
using arm::convolve_s8;
#else
using portable::convolve_1d_s8;
using portable::convolve_s8;
#endif

}  // namespace microtl::kernels
