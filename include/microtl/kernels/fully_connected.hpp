// kernels::fully_connected_s8: the int8 fully connected kernel for the target, chosen at
// compile time by MICROTL_USE_MVE_KERNELS and MICROTL_USE_DSP_KERNELS (config.hpp):
// kernels::mve::fully_connected_s8 on cores with Helium, kernels::arm::fully_connected_s8 on
// other cores with the DSP extension, kernels::portable::fully_connected_s8 elsewhere. All have
// the contract written in kernels/portable/fully_connected.hpp and give the same output
// codes. Also brings the float kernels of kernels/float_linear.hpp (fully_connected_f32).
#pragma once

#include "microtl/config.hpp"
#include "microtl/kernels/float_linear.hpp"
#include "microtl/kernels/portable/fully_connected.hpp"
#if MICROTL_USE_MVE_KERNELS
#include "microtl/kernels/mve/fully_connected.hpp"
#elif MICROTL_USE_DSP_KERNELS
#include "microtl/kernels/arm/fully_connected.hpp"
#endif

namespace microtl::kernels {

#if MICROTL_USE_MVE_KERNELS
using mve::fully_connected_s8;
#elif MICROTL_USE_DSP_KERNELS
using arm::fully_connected_s8;
#else
using portable::fully_connected_s8;
#endif

}  // namespace microtl::kernels
