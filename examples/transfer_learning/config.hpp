// The demo's parameters, the same for the device and the cloud baseline. Set them with
// CMake (-DMICROTL_DEMO_SAMPLES_PER_CLASS=..., see CMakeLists.txt) or with scripts/demo's
// options; the defaults fit an nRF52840 (256 KB RAM, 1 MB flash).
#pragma once

#include <cstddef>

#ifndef MICROTL_DEMO_SAMPLES_PER_CLASS
#define MICROTL_DEMO_SAMPLES_PER_CLASS 20  // learning samples per class (all 10 classes)
#endif
#ifndef MICROTL_DEMO_EPOCHS
#define MICROTL_DEMO_EPOCHS 20  // head epochs over the feature cache
#endif
#ifndef MICROTL_DEMO_BATCH
#define MICROTL_DEMO_BATCH 4  // mini-batch, by gradient accumulation
#endif
#ifndef MICROTL_DEMO_LEARNING_RATE
#define MICROTL_DEMO_LEARNING_RATE 0.01f
#endif
#ifndef MICROTL_DEMO_TEST_PER_CLASS
#define MICROTL_DEMO_TEST_PER_CLASS 50  // test images per class for the accuracy figures
#endif

namespace demo {

inline constexpr std::size_t kSamplesPerClass = MICROTL_DEMO_SAMPLES_PER_CLASS;
inline constexpr int kEpochs = MICROTL_DEMO_EPOCHS;
inline constexpr std::size_t kBatch = MICROTL_DEMO_BATCH;
inline constexpr float kLearningRate = MICROTL_DEMO_LEARNING_RATE;
inline constexpr std::size_t kTestPerClass = MICROTL_DEMO_TEST_PER_CLASS;
// MicroTL's head recipe.
inline constexpr float kMomentum = 0.9f;
inline constexpr float kWeightDecay = 2e-4f;

}  // namespace demo
