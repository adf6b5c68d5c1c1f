// The demo's parameters, the same for the device and the cloud baseline. Set them with
// CMake (-DMICROTL_DEMO_SAMPLES_PER_CLASS=..., see CMakeLists.txt) or with scripts/demo's
// options; the defaults fit an nRF52840 (256 KB RAM, 1 MB flash).
#pragma once

#include <cstddef>

#ifndef MICROTL_DEMO_SAMPLES_PER_CLASS
#define MICROTL_DEMO_SAMPLES_PER_CLASS 20  // learning samples per class (all 10 classes)
#endif
#ifndef MICROTL_DEMO_EPOCHS
#define MICROTL_DEMO_EPOCHS 20  // at most this many head epochs over the feature cache
#endif
#ifndef MICROTL_DEMO_BATCH
#define MICROTL_DEMO_BATCH 1  // mini-batch, by gradient accumulation (1: fused SGD)
#endif
#ifndef MICROTL_DEMO_SKIP_BELOW_LOSS
#define MICROTL_DEMO_SKIP_BELOW_LOSS 0.05f  // no backward pass for a sample below this loss
#endif
#ifndef MICROTL_DEMO_REST_BELOW_LOSS
#define MICROTL_DEMO_REST_BELOW_LOSS 0.02f  // a sample below this loss rests an epoch
#endif
#ifndef MICROTL_DEMO_SETTLED_FRACTION
#define MICROTL_DEMO_SETTLED_FRACTION 0.35f  // stop once at most this share needed a step
#endif
#ifndef MICROTL_DEMO_LEARNING_RATE
#define MICROTL_DEMO_LEARNING_RATE 0.01f
#endif
#ifndef MICROTL_DEMO_STRATEGY
#define MICROTL_DEMO_STRATEGY head  // what learns on the device: last, head, biases or conv3
#endif
#ifndef MICROTL_DEMO_TEST_PER_CLASS
#define MICROTL_DEMO_TEST_PER_CLASS 50  // test images per class for the accuracy figures
#endif

namespace demo {

// The learning strategies (model.hpp builds the device model of each):
//   last    the last layer only (Dense 32 -> 10; Dense 144 -> 32 frozen, float)
//   head    the float head, both Dense layers (the default)
//   biases  the head and the int32 biases of the three int8 convolutions (BiasOnly)
//   conv3   the head and the last int8 convolution's weights and bias (Trainable, through a
//           float master copy whose int8 codes are re-derived after each update)
enum class Strategy { last, head, biases, conv3 };
inline constexpr Strategy kStrategy = Strategy::MICROTL_DEMO_STRATEGY;
constexpr const char* strategy_name(Strategy s) {
  return s == Strategy::last     ? "last"
         : s == Strategy::head   ? "head"
         : s == Strategy::biases ? "biases"
                                 : "conv3";
}

inline constexpr std::size_t kSamplesPerClass = MICROTL_DEMO_SAMPLES_PER_CLASS;
inline constexpr int kEpochs = MICROTL_DEMO_EPOCHS;
inline constexpr std::size_t kBatch = MICROTL_DEMO_BATCH;
inline constexpr float kLearningRate = MICROTL_DEMO_LEARNING_RATE;
inline constexpr std::size_t kTestPerClass = MICROTL_DEMO_TEST_PER_CLASS;
inline constexpr float kSkipBelowLoss = MICROTL_DEMO_SKIP_BELOW_LOSS;
inline constexpr float kRestBelowLoss = MICROTL_DEMO_REST_BELOW_LOSS;
// Early stopping: after the first epoch in which at most this share of the cached samples
// still had a loss above kSkipBelowLoss (or after kEpochs).
inline constexpr float kSettledFraction = MICROTL_DEMO_SETTLED_FRACTION;

}  // namespace demo
