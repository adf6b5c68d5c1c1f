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
inline constexpr mtl::LinearParams<float, kFeatures * kHidden, kHidden> head1{gen::head1_weights,
                                                                              gen::head1_bias};
inline constexpr mtl::LinearParams<float, kHidden * kClasses, kClasses> head2{gen::head2_weights,
                                                                              gen::head2_bias};

}  // namespace demo::deployed
