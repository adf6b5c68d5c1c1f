// The deployed model's parameters, from the generated header: the int8 extractor's are
// constexpr arrays (const data: flash on the device); the head's pretrained values are the
// initial values the model copies into RAM, because they train. Shared by the firmware and
// the cloud baseline, so both start from the very same model.
#pragma once

#include "model.hpp"
#include "model_generated.hpp"

namespace demo::deployed {

namespace gen = demo::generated;

inline constexpr DeviceModel::layer<kConv1>::Params conv1{
    gen::conv1_weights, gen::conv1_bias, gen::conv1_multipliers, gen::conv1_output};
inline constexpr DeviceModel::layer<kConv2>::Params conv2{
    gen::conv2_weights, gen::conv2_bias, gen::conv2_multipliers, gen::conv2_output};
inline constexpr DeviceModel::layer<kConv3>::Params conv3{
    gen::conv3_weights, gen::conv3_bias, gen::conv3_multipliers, gen::conv3_output};

// A convolution that trains (the biases and conv3 strategies) also takes the scales of its
// codes: its per-channel weight scales and the scale of its input, the previous layer's
// output (a pool keeps its input's quantization).
static_assert(gen::conv1_input.scale == kInputQuant.scale);
static_assert(gen::conv2_input.scale == gen::conv1_output.scale);
static_assert(gen::conv3_input.scale == gen::conv2_output.scale);
template <class Params>
using TrainingParams =
    mtl::layers::QuantizedTrainingParams<Params::weights_extent, Params::bias_extent>;
inline constexpr TrainingParams<decltype(conv1)> conv1_training{conv1, gen::conv1_weight_scales,
                                                                gen::conv1_input.scale};
inline constexpr TrainingParams<decltype(conv2)> conv2_training{conv2, gen::conv2_weight_scales,
                                                                gen::conv2_input.scale};
inline constexpr TrainingParams<decltype(conv3)> conv3_training{conv3, gen::conv3_weight_scales,
                                                                gen::conv3_input.scale};

// What the model's constructor takes for each convolution under the strategy (config.hpp).
template <bool Trains, class Frozen, class Training>
constexpr const auto& conv_argument(const Frozen& frozen, const Training& training) {
  if constexpr (Trains) {
    return training;
  } else {
    return frozen;
  }
}
inline constexpr const auto& conv1_argument =
    conv_argument<trains_conv(kStrategy, 1)>(conv1, conv1_training);
inline constexpr const auto& conv2_argument =
    conv_argument<trains_conv(kStrategy, 2)>(conv2, conv2_training);
inline constexpr const auto& conv3_argument =
    conv_argument<trains_conv(kStrategy, 3)>(conv3, conv3_training);
inline constexpr mtl::LinearParams<float, kFeatures * kHidden, kHidden> head1{gen::head1_weights,
                                                                              gen::head1_bias};
inline constexpr mtl::LinearParams<float, kHidden * kClasses, kClasses> head2{gen::head2_weights,
                                                                              gen::head2_bias};

}  // namespace demo::deployed
