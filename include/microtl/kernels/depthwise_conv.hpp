// kernels::depthwise_conv_s8: the int8 depthwise convolution kernel for the target, chosen at
// compile time by MICROTL_USE_MVE_KERNELS and MICROTL_USE_DSP_KERNELS (config.hpp):
// kernels::mve::depthwise_conv_s8 on cores with Helium, kernels::arm::depthwise_conv_s8 on other
// cores with the DSP extension, kernels::portable::depthwise_conv_s8 elsewhere. All have the
// contract written in kernels/portable/depthwise_conv.hpp and give the same output codes.
// Also brings kernels::depthwise_conv_f32.
#pragma once

#include "microtl/config.hpp"
#include "microtl/kernels/portable/depthwise_conv.hpp"
#if MICROTL_USE_MVE_KERNELS
#include "microtl/kernels/mve/depthwise_conv.hpp"
#elif MICROTL_USE_DSP_KERNELS
#include "microtl/kernels/arm/depthwise_conv.hpp"
#endif

namespace microtl::kernels {

#if MICROTL_USE_MVE_KERNELS
using mve::depthwise_conv_s8;
#elif MICROTL_USE_DSP_KERNELS
using arm::depthwise_conv_s8;
#else
using portable::depthwise_conv_s8;
#endif

}  // namespace microtl::kernels
