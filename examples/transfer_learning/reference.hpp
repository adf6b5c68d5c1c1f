// The reference check of the demo's evaluations: the int8 features of the first test images
// must be the integers written into the generated header beside the model (demo_pretrain's
// own, or, for a model that came through Keras, TFLite's interpreter's: pretrain_keras.py).
// The device and the cloud baseline both run it, so a model whose import changed one bit of
// the extractor's arithmetic fails on either.
#pragma once

#include <cstdint>
#include <type_traits>

#include "deployed.hpp"
#include "learning.hpp"

namespace demo {

// Where the cache keeps the features (the head strategy); the others cache another
// activation: scripts/demo compares what device and host learned, byte for byte, in the
// report's strategies table.
using ReferenceFeatures = std::remove_cvref_t<decltype(generated::reference_features[0])>;
inline constexpr bool kCachesFeatures =
    std::is_same_v<CachedSample<DeviceTrainer>, ReferenceFeatures>;

struct GeneratedReference {
  bool wants(std::uint32_t index) const {
    return kCachesFeatures && index < generated::reference_features.size();
  }
  template <class Sample>
  bool check(std::uint32_t index, const Sample& features) const {
    if constexpr (std::is_same_v<Sample, ReferenceFeatures>) {
      return index >= generated::reference_features.size() ||
             features == generated::reference_features[index];
    } else {
      return true;
    }
  }
};

}  // namespace demo
