// The transfer-learning model of the trainer and feature-cache tests: a frozen int8
// extractor (6x6x1 image -> int8 conv, 2 channels, 3x3 same, ReLU -> max pool 2 -> 18
// features), a Dequantize and a trainable float Dense<3> head; and its float twin (the same
// extractor computing in float), whose features are float.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "../support/random.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"
#include "microtl/train/trainer.hpp"

namespace microtl_test {

namespace int8_head {

using namespace microtl;

using Extractor = Sequential<Input<Shape<6, 6, 1>, QInt8>, Conv2D<2, Kernel<3>, Padding::same>,
                             ReLU, MaxPool2D<2>, Flatten>;
using Net = Sequential<Extractor, Dequantize, Trainable<Dense<3>>>;
using T = Trainer<Net, SoftmaxCrossEntropy, SGDMomentum>;

using FloatNet = Sequential<Input<Shape<6, 6, 1>>, Conv2D<2, Kernel<3>, Padding::same>, ReLU,
                            MaxPool2D<2>, Flatten, Trainable<Dense<3>>>;

// The parameters, drawn from `rng` in this order: conv weights in [-1, 1), conv bias in
// [0, 0.2), head weights in [-head_range, head_range); the head's bias is zero. Input codes
// x = q / 127, conv output scale 0.02, zero point -128. Keep it in static storage: the
// models refer to it.
struct Parts {
  quant::QuantParams q_in{1.0f / 127.0f, 0};
  std::array<float, 18> wc;
  std::array<float, 2> bc;
  QuantizedLinear<18, 2> conv;
  LinearParams<QInt8, 18, 2> conv_params;
  LinearParams<float, 18, 2> float_conv_params;
  std::array<float, 54> wd;
  std::array<float, 3> bd{};
  LinearParams<float, 54, 3> head;

  Parts(Xorshift32& rng, float head_range)
      : wc(random_floats<18>(rng, -1, 1)),
        bc(random_floats<2>(rng, 0.0f, 0.2f)),
        conv(quantize_linear<ChannelAxis::leading>(std::span<const float, 18>(wc),
                                                   std::span<const float, 2>(bc), q_in,
                                                   quant::QuantParams{0.02f, -128})),
        conv_params(conv.params()),
        float_conv_params{wc, bc},
        wd(random_floats<54>(rng, -head_range, head_range)),
        head{wd, bd} {}
  Parts(const Parts&) = delete;
  Parts& operator=(const Parts&) = delete;

  Net net() const { return Net(q_in, conv_params, head); }
  FloatNet float_net() const { return FloatNet(float_conv_params, head); }
};

// `count` images of int8 codes in [-127, 127], drawn one after another.
template <std::size_t Count>
std::array<std::array<std::int8_t, 36>, Count> random_images(Xorshift32& rng) {
  std::array<std::array<std::int8_t, 36>, Count> images{};
  for (auto& image : images) {
    fill_int8s(image, rng, -127, 127);
  }
  return images;
}

// A model and its trainer, with an arena of its own. Keep it in static storage: the trainer
// refers to the model and the arena.
template <class Model, class Optimizer>
struct Trained {
  using TrainerT = Trainer<Model, SoftmaxCrossEntropy, Optimizer>;
  Model model;
  typename TrainerT::TrainingArena arena;
  TrainerT trainer;

  Trained(const Model& initial, Optimizer optimizer, std::size_t batch = 1)
      : model(initial), arena(), trainer(model, optimizer, arena, batch) {}
  Trained(const Trained&) = delete;
  Trained& operator=(const Trained&) = delete;
};

// The same with a feature cache, to be filled through that trainer (an int8 cache replays
// the Dequantize with the quantization its trainer saw).
template <class Model, class Optimizer, std::size_t Capacity>
struct Rig : Trained<Model, Optimizer> {
  using Cache = FeatureCache<typename Trained<Model, Optimizer>::TrainerT, Capacity>;
  Cache cache;

  using Trained<Model, Optimizer>::Trained;
};

}  // namespace int8_head

}  // namespace microtl_test
