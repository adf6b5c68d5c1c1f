// The transfer-learning demo's model, shared by the host tools and the firmware.
//
// Fashion-MNIST, 28x28 grayscale. The "factory" model is trained on the host on 7 of the
// 10 classes; the device later learns the 3 new ones (and keeps the 7 old ones).
//
//   extractor (frozen on the device, int8 in flash):
//     Conv2D 3x3 x8 same + ReLU -> MaxPool 2   28x28x1 -> 14x14x8
//     Conv2D 3x3 x16 same + ReLU -> MaxPool 2  -> 7x7x16
//     Conv2D 3x3 x16 same + ReLU -> MaxPool 2  -> 3x3x16
//     Flatten                                  -> 144 features
//   head (float32, trains on the device):
//     Dense 144 -> kHidden + ReLU -> Dense 10
//
// The third conv block is there for the device's sake: 144 features instead of 784 make
// the head 4,970 parameters instead of 25,450 at kHidden = 32, so that parameters,
// gradients and momentum (3 x 20 KB) and a feature cache of hundreds of samples (144 bytes
// each, int8) fit an nRF52840's 256 KB of RAM with room to spare.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <microtl/microtl.hpp>

#include "config.hpp"

#ifndef MICROTL_DEMO_HIDDEN
#define MICROTL_DEMO_HIDDEN 32
#endif

namespace demo {

namespace mtl = microtl;

inline constexpr std::size_t kHidden = MICROTL_DEMO_HIDDEN;
inline constexpr std::size_t kClasses = 10;
inline constexpr std::size_t kFeatures = 3 * 3 * 16;

// Fashion-MNIST's labels (no spaces: the logs are key=value words).
inline constexpr std::array<const char*, kClasses> kClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot"};

// The classes the factory model knows; 7, 8 and 9 (Sneaker, Bag, Ankle boot) are new.
inline constexpr std::size_t kFactoryClasses = 7;
constexpr bool is_new_class(std::size_t label) {
  return label >= kFactoryClasses;
}

// Input pixels p in [0, 255]: the float model sees p / 255; the int8 model sees
// q = p - 128 with scale 1/255 and zero point -128 (the same real value).
inline constexpr mtl::quant::QuantParams kInputQuant{1.0f / 255.0f, -128};
constexpr std::int8_t pixel_to_int8(std::uint8_t p) {
  return static_cast<std::int8_t>(static_cast<int>(p) - 128);
}
constexpr float pixel_to_float(std::uint8_t p) {
  return static_cast<float>(p) / 255.0f;
}

// `Train1..3` wrap the convolutions that train: mtl::Trainable on the host (everything trains
// during pretraining), mtl::BiasOnly or mtl::Trainable on the device for the strategies that
// train the int8 extractor (config.hpp), or nothing (frozen).
template <class Spec>
using Frozen = Spec;

template <class E, template <class> class Train1 = Frozen, template <class> class Train2 = Train1,
          template <class> class Train3 = Train2>
using Extractor =
    mtl::Sequential<mtl::Input<mtl::Shape<28, 28, 1>, E>,                                    //
                    Train1<mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,   //
                    mtl::MaxPool2D<2>,                                                       //
                    Train2<mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,  //
                    mtl::MaxPool2D<2>,                                                       //
                    Train3<mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,  //
                    mtl::MaxPool2D<2>,                                                       //
                    mtl::Flatten>;

template <class Input>
using Head = mtl::Sequential<Input, mtl::Trainable<mtl::Dense<kHidden>>, mtl::ReLU,
                             mtl::Trainable<mtl::Dense<kClasses>>>;

// Pretraining on the host: float, every layer trains.
using FloatModel =
    mtl::Sequential<Extractor<float, mtl::Trainable>, mtl::Trainable<mtl::Dense<kHidden>>,
                    mtl::ReLU, mtl::Trainable<mtl::Dense<kClasses>>>;

// On the device: int8 extractor in flash, dequantized features, float head in RAM; what
// trains is the strategy's (config.hpp). The wrappers keep every layer's position, so the
// layer indices below hold for every strategy.
template <class Spec>
using BiasOnly = mtl::BiasOnly<Spec>;
template <class Spec>
using Trainable = mtl::Trainable<Spec>;
template <Strategy S>
struct StrategyModel;
template <>
struct StrategyModel<Strategy::last> {
  using type = mtl::Sequential<Extractor<mtl::QInt8>, mtl::Dequantize, mtl::Dense<kHidden>,
                               mtl::ReLU, mtl::Trainable<mtl::Dense<kClasses>>>;
};
template <>
struct StrategyModel<Strategy::head> {
  using type =
      mtl::Sequential<Extractor<mtl::QInt8>, mtl::Dequantize, mtl::Trainable<mtl::Dense<kHidden>>,
                      mtl::ReLU, mtl::Trainable<mtl::Dense<kClasses>>>;
};
template <>
struct StrategyModel<Strategy::biases> {
  using type = mtl::Sequential<Extractor<mtl::QInt8, BiasOnly>, mtl::Dequantize,
                               mtl::Trainable<mtl::Dense<kHidden>>, mtl::ReLU,
                               mtl::Trainable<mtl::Dense<kClasses>>>;
};
template <>
struct StrategyModel<Strategy::conv3> {
  using type = mtl::Sequential<Extractor<mtl::QInt8, Frozen, Frozen, Trainable>, mtl::Dequantize,
                               mtl::Trainable<mtl::Dense<kHidden>>, mtl::ReLU,
                               mtl::Trainable<mtl::Dense<kClasses>>>;
};
using DeviceModel = StrategyModel<kStrategy>::type;
// Whether a strategy trains convolution 1, 2, 3 (then its constructor argument carries the
// scales of its int8 codes: deployed.hpp).
constexpr bool trains_conv(Strategy s, std::size_t conv) {
  return s == Strategy::biases || (s == Strategy::conv3 && conv == 3);
}

static_assert(std::is_same_v<Extractor<float>::output_shape, mtl::Shape<kFeatures>>);

// Layer indices (ReLUs fused): 0 conv1, 1 pool, 2 conv2, 3 pool, 4 conv3, 5 pool, 6 flatten,
// then on the device 7 dequantize, 8 dense1, 9 dense2; on the host 7 dense1, 8 dense2.
inline constexpr std::size_t kConv1 = 0, kConv2 = 2, kConv3 = 4;
inline constexpr std::size_t kHostDense1 = 7, kHostDense2 = 8;
inline constexpr std::size_t kDeviceDense1 = 8, kDeviceDense2 = 9;
// The strategies' wrappers shift no layer: what trains is where these indices say.
static_assert(mtl::is_trainable_v<DeviceModel::layer<kConv1>> == trains_conv(kStrategy, 1));
static_assert(mtl::is_trainable_v<DeviceModel::layer<kConv2>> == trains_conv(kStrategy, 2));
static_assert(mtl::is_trainable_v<DeviceModel::layer<kConv3>> == trains_conv(kStrategy, 3));
static_assert(mtl::is_trainable_v<DeviceModel::layer<kDeviceDense1>> ==
              (kStrategy != Strategy::last));
static_assert(mtl::is_trainable_v<DeviceModel::layer<kDeviceDense2>>);

// The on-device trainer: plain SGD, one sample at a time, fused into the backward pass
// (last and head; an int8 layer that trains has its own gradients, so biases and conv3 take
// the separate update step of the same rule) (MicroTL's own recipe, momentum 0.9 and weight decay
// 2e-4 over mini-batches of 4, reached the same accuracy with several times the work per sample: a
// separate update pass over all 4,970 values, which also moves the weights of rows a ReLU switched
// off).
using DeviceTrainer = mtl::Trainer<DeviceModel, mtl::SoftmaxCrossEntropy, mtl::SGD>;

}  // namespace demo
