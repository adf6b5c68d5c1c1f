// Every user-tunable setting of microtl, in one place.
//
// Define a macro before including any microtl header (or on the compiler's command line)
// to change it. Each one is checked here so that a bad value fails at compile time.
#pragma once

// MICROTL_ALIGNMENT: alignment in bytes of tensor storage and of every buffer an arena
// hands out. 8 covers every element type the library uses (int8, int16, int32, float)
// and lets the Cortex-M kernels use LDRD/word loads. Raise it (power of two) when a DMA
// engine or a SIMD unit wants more.
#ifndef MICROTL_ALIGNMENT
#define MICROTL_ALIGNMENT 8
#endif
static_assert(MICROTL_ALIGNMENT >= 4 && (MICROTL_ALIGNMENT & (MICROTL_ALIGNMENT - 1)) == 0,
              "MICROTL_ALIGNMENT must be a power of two, at least 4");

// MICROTL_ENABLE_ASSERTS: 1 checks programming-error preconditions at run time (an index
// out of range, a view of the wrong size) and calls the assert hook (core/assert.hpp);
// 0 compiles the checks out. Default: on, also in release builds; the checks sit outside
// inner loops, so they cost little.
#ifndef MICROTL_ENABLE_ASSERTS
#define MICROTL_ENABLE_ASSERTS 1
#endif

// MICROTL_ASSERT_MESSAGES: 1 passes the failed condition's text and file to the hook; 0
// passes empty strings so the strings do not take flash.
#ifndef MICROTL_ASSERT_MESSAGES
#define MICROTL_ASSERT_MESSAGES 1
#endif

// MICROTL_DIVERGENCE_GUARD: 1 makes every optimizer update check, before writing anything,
// that all new parameters and optimizer state keep the guard's invariant (finite and within
// the bounds of train/guard.hpp); a step that would break it is refused (Status::diverged)
// and leaves parameters and optimizer state as they were. 0 removes the check (one pass over
// the trainable values per update; its cost is in bench/README.md). The input checks
// (features, hyper-parameters) stay either way. The default of Trainer's `Guard` template
// argument.
#ifndef MICROTL_DIVERGENCE_GUARD
#define MICROTL_DIVERGENCE_GUARD 1
#endif

// MICROTL_USE_DSP_KERNELS: 1 makes kernels::fully_connected_s8, convolve_s8, convolve_1d_s8,
// depthwise_conv_s8 and max_pool_s8 the Cortex-M DSP versions (kernels/arm/: SMLAD and friends,
// several times fewer instructions, the same output codes bit for bit); 0 makes them the portable
// reference versions (kernels/portable/). Default: 1 when the compiler targets a core with
// the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55), else 0. Setting 1 elsewhere
// compiles the DSP kernels over plain C++ emulations of the instructions: exact but slow,
// for testing only.
#ifndef MICROTL_USE_DSP_KERNELS
#if defined(__ARM_FEATURE_DSP)
#define MICROTL_USE_DSP_KERNELS 1
#else
#define MICROTL_USE_DSP_KERNELS 0
#endif
#endif
static_assert(MICROTL_USE_DSP_KERNELS == 0 || MICROTL_USE_DSP_KERNELS == 1,
              "MICROTL_USE_DSP_KERNELS must be 0 or 1");

// MICROTL_USE_MVE_KERNELS: 1 makes kernels::fully_connected_s8, convolve_s8, convolve_1d_s8 and
// depthwise_conv_s8 the Helium (MVE) versions (kernels/mve/: VMLADAVA and friends, the same
// output codes bit for bit), in place of the DSP ones. Default: 1 when the compiler targets a
// core with integer MVE (__ARM_FEATURE_MVE bit 0: Cortex-M55, M85), else 0. There is no
// emulation: 1 requires integer MVE (arm_mve.h).
#ifndef MICROTL_USE_MVE_KERNELS
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define MICROTL_USE_MVE_KERNELS 1
#else
#define MICROTL_USE_MVE_KERNELS 0
#endif
#endif
static_assert(MICROTL_USE_MVE_KERNELS == 0 || MICROTL_USE_MVE_KERNELS == 1,
              "MICROTL_USE_MVE_KERNELS must be 0 or 1");
#if MICROTL_USE_MVE_KERNELS && !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1))
#error "MICROTL_USE_MVE_KERNELS=1 needs a core with integer MVE (Helium)"
#endif

// MICROTL_USE_MVE_FLOAT_KERNELS: 1 makes the float dense loops of kernels/float_linear.hpp (the
// forward pass, the input gradient, the outer-product update of training) the Helium floating
// point versions (kernels/mve/float_linear.hpp: four float lanes per instruction, the same
// fused multiply-add chains in the same order), in place of the scalar FPU assembly. Default: 1
// when the compiler targets a core with floating-point MVE (__ARM_FEATURE_MVE bit 1:
// Cortex-M55, M85), else 0. MVE float instructions flush subnormals to zero (the architecture's
// standard FPSCR value): the results equal the scalar FPU's bit for bit unless a value is
// subnormal (below 2^-126 in magnitude); set 0 where even those must match another target.
#ifndef MICROTL_USE_MVE_FLOAT_KERNELS
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define MICROTL_USE_MVE_FLOAT_KERNELS 1
#else
#define MICROTL_USE_MVE_FLOAT_KERNELS 0
#endif
#endif
static_assert(MICROTL_USE_MVE_FLOAT_KERNELS == 0 || MICROTL_USE_MVE_FLOAT_KERNELS == 1,
              "MICROTL_USE_MVE_FLOAT_KERNELS must be 0 or 1");
#if MICROTL_USE_MVE_FLOAT_KERNELS && !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2))
#error "MICROTL_USE_MVE_FLOAT_KERNELS=1 needs a core with floating-point MVE (Helium)"
#endif

// MICROTL_FUSED_MULTIPLY_ADD: 1 makes every multiply-add of the library's float arithmetic
// (kernels/float_math.hpp's fused_mac: the float dense kernels, the SGD updates, exp and log)
// one fused operation, rounded once; 0 makes it a multiply and an add, each rounded. Default:
// 1 where the target has a fused instruction (a Cortex-M FPU: M4F, M7, M33, M55; x86 with
// FMA3; AArch64), else 0. Setting 1 elsewhere calls the C library's fmaf: exact where the C
// library's is (glibc; not newlib's, which rounds twice), but slow.
//
// Two builds compute the same float bits when they agree on this setting and neither
// contracts a * b + c on its own (-ffp-contract=off, or a target without a fused
// instruction). That is how the transfer-learning demo's host replays a Cortex-M4F session
// bit for bit: it sets 1 on the host and builds both sides with -ffp-contract=off.
#ifndef MICROTL_FUSED_MULTIPLY_ADD
#if (defined(__ARM_FP) && (__ARM_FP & 4)) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define MICROTL_FUSED_MULTIPLY_ADD 1
#else
#define MICROTL_FUSED_MULTIPLY_ADD 0
#endif
#endif
static_assert(MICROTL_FUSED_MULTIPLY_ADD == 0 || MICROTL_FUSED_MULTIPLY_ADD == 1,
              "MICROTL_FUSED_MULTIPLY_ADD must be 0 or 1");
