// pretrain: the factory side of the transfer-learning demo, on the host.
//
//  1. trains the float model (model.hpp) on the 7 factory classes of Fashion-MNIST with
//     microtl's own trainer (every layer Trainable), seeded and reproducible;
//  2. quantizes the extractor post-training, TFLite-style: activation ranges calibrated on
//     a subset of the training images, per-channel symmetric int8 weights, int32 biases;
//  3. reports float and int8 accuracy on the factory classes of the test set;
//  4. writes a C++ header with the int8 extractor's parameters and the pretrained float
//     head, which the firmware includes (the int8 arrays are const: they stay in flash).
//
//   pretrain --data DIR --out FILE [--epochs 2] [--per-class 0] [--batch 32] [--lr 0.002]
//            [--seed 1] [--calibration 1000]
#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../model.hpp"
#include "dataset.hpp"
#include "export.hpp"
#include "microtl/layers/quantize_linear.hpp"

namespace {

using namespace demo;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string out = "model_generated.hpp";
  int epochs = 2;
  std::size_t per_class = 0;  // 0: every factory image
  std::size_t batch = 32;
  float learning_rate = 0.002f;
  std::uint32_t seed = 1;
  std::size_t calibration = 1000;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (value == nullptr) {
      std::fprintf(stderr, "pretrain: %s needs a value\n", arg.c_str());
      return false;
    }
    ++i;
    if (arg == "--data")
      o.data_dir = value;
    else if (arg == "--out")
      o.out = value;
    else if (arg == "--epochs")
      o.epochs = std::atoi(value);
    else if (arg == "--per-class")
      o.per_class = static_cast<std::size_t>(std::atol(value));
    else if (arg == "--batch")
      o.batch = static_cast<std::size_t>(std::atol(value));
    else if (arg == "--lr")
      o.learning_rate = std::strtof(value, nullptr);
    else if (arg == "--seed")
      o.seed = static_cast<std::uint32_t>(std::atol(value));
    else if (arg == "--calibration")
      o.calibration = static_cast<std::size_t>(std::atol(value));
    else {
      std::fprintf(stderr, "pretrain: unknown option %s\n", arg.c_str());
      return false;
    }
  }
  return o.epochs >= 0 && o.batch >= 1;
}

// xorshift32: the same stream on every machine.
struct Rng {
  std::uint32_t state;
  std::uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  float uniform(float low, float high) {
    return low + (high - low) * static_cast<float>(next() >> 8) * (1.0f / 16777216.0f);
  }
};

// He-uniform initial weights (limit sqrt(6 / fan_in), suited to ReLU), zero biases.
template <std::size_t W, std::size_t B>
struct InitialLayer {
  std::array<float, W> weights{};
  std::array<float, B> bias{};
  mtl::LinearParams<float, W, B> params() const { return {weights, bias}; }
  void init(Rng& rng, std::size_t fan_in) {
    const float limit = std::sqrt(6.0f / static_cast<float>(fan_in));
    for (auto& w : weights)
      w = rng.uniform(-limit, limit);
  }
};

template <std::size_t I>
using HostLayer = FloatModel::layer<I>;

template <std::size_t I>
using InitialOf =
    InitialLayer<HostLayer<I>::Params::weights_extent, HostLayer<I>::Params::bias_extent>;

using Trainer = mtl::Trainer<FloatModel, mtl::SoftmaxCrossEntropy, mtl::Adam>;

template <class Model>
std::size_t argmax(const Model& model, const float* input, typename Model::InferenceArena& arena) {
  const auto out = model.forward(Model::input_view::unchecked(input), arena);
  std::size_t best = 0;
  for (std::size_t k = 1; k < kClasses; ++k) {
    best = out.values[k] > out.values[best] ? k : best;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    return 2;
  }
  Dataset train;
  Dataset test;
  if (!load_dataset(options.data_dir, "train", train) ||
      !load_dataset(options.data_dir, "t10k", test)) {
    return 1;
  }
  const auto factory = [](std::size_t label) { return !is_new_class(label); };
  std::vector<std::size_t> train_set = select(train, factory, options.per_class);
  const std::vector<std::size_t> test_set = select(test, factory, 0);
  std::printf("pretrain: %zu training and %zu test images of the %zu factory classes\n",
              train_set.size(), test_set.size(), kFactoryClasses);

  // ---- 1. Pretraining, float, every layer trainable. -----------------------------------
  Rng rng{options.seed == 0 ? 1u : options.seed};
  static InitialOf<kConv1> c1;
  static InitialOf<kConv2> c2;
  static InitialOf<kConv3> c3;
  static InitialOf<kHostDense1> d1;
  static InitialOf<kHostDense2> d2;
  c1.init(rng, 9 * 1);
  c2.init(rng, 9 * 8);
  c3.init(rng, 9 * 16);
  d1.init(rng, kFeatures);
  d2.init(rng, kHidden);
  const auto p1 = c1.params();
  const auto p2 = c2.params();
  const auto p3 = c3.params();
  const auto p4 = d1.params();
  const auto p5 = d2.params();
  static FloatModel model(p1, p2, p3, p4, p5);
  static Trainer::TrainingArena arena;
  Trainer trainer(model, mtl::Adam{options.learning_rate}, arena, options.batch);
  static FloatModel::InferenceArena inference;

  std::array<float, 784> image{};
  const auto load = [&](const Dataset& d, std::size_t i) {
    const std::uint8_t* p = d.image(i);
    for (std::size_t k = 0; k < 784; ++k)
      image[k] = pixel_to_float(p[k]);
  };
  const auto float_accuracy = [&]() {
    std::size_t correct = 0;
    for (const std::size_t i : test_set) {
      load(test, i);
      correct += argmax(model, image.data(), inference) == test.labels[i] ? 1u : 0u;
    }
    return 100.0 * static_cast<double>(correct) / static_cast<double>(test_set.size());
  };

  const auto start = Clock::now();
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    // Fisher-Yates with the seeded generator: a reproducible order per epoch.
    for (std::size_t i = train_set.size(); i > 1; --i) {
      std::swap(train_set[i - 1], train_set[rng.next() % i]);
    }
    double loss_sum = 0.0;
    std::size_t refused = 0;
    for (const std::size_t i : train_set) {
      load(train, i);
      if (trainer.step(FloatModel::input_view(image), train.labels[i]) != mtl::Status::ok) {
        ++refused;
        continue;
      }
      loss_sum += static_cast<double>(trainer.last_loss());
    }
    (void)trainer.apply();  // the last partial batch (refused: the model keeps its values)
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    std::printf("pretrain: epoch %d/%d  loss %.4f  test accuracy %.2f%%  %.1f s%s\n", epoch,
                options.epochs, loss_sum / static_cast<double>(train_set.size() - refused),
                float_accuracy(), seconds, refused > 0 ? "  (some samples refused)" : "");
    std::fflush(stdout);
  }
  const double float_acc = float_accuracy();
  const double train_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // ---- 2. Post-training quantization of the extractor. ---------------------------------
  // Activation ranges: min and max of every layer's output over the calibration images.
  std::array<float, FloatModel::layer_count> low{};
  std::array<float, FloatModel::layer_count> high{};
  const std::size_t calibration = std::min(options.calibration, train_set.size());
  for (std::size_t n = 0; n < calibration; ++n) {
    load(train, train_set[n]);
    (void)model.forward(FloatModel::input_view(image), inference,
                        [&](auto index, auto values, auto) {
                          constexpr std::size_t layer = decltype(index)::value;
                          for (const float v : values) {
                            low[layer] = std::min(low[layer], v);
                            high[layer] = std::max(high[layer], v);
                          }
                        });
  }
  const mtl::quant::QuantParams q_conv1 =
      mtl::quant::choose_activation_params(low[kConv1], high[kConv1]);
  const mtl::quant::QuantParams q_conv2 =
      mtl::quant::choose_activation_params(low[kConv2], high[kConv2]);
  const mtl::quant::QuantParams q_conv3 =
      mtl::quant::choose_activation_params(low[kConv3], high[kConv3]);
  using mtl::ChannelAxis;
  using mtl::quantize_linear;
  const auto& s1 = model.state<kConv1>();
  const auto& s2 = model.state<kConv2>();
  const auto& s3 = model.state<kConv3>();
  // A pool keeps its input's parameters, so each convolution's input is the previous one's output.
  static const auto int8_conv1 = quantize_linear<ChannelAxis::leading>(
      std::span(s1.weights), std::span(s1.bias), kInputQuant, q_conv1);
  static const auto int8_conv2 = quantize_linear<ChannelAxis::leading>(
      std::span(s2.weights), std::span(s2.bias), q_conv1, q_conv2);
  static const auto int8_conv3 = quantize_linear<ChannelAxis::leading>(
      std::span(s3.weights), std::span(s3.bias), q_conv2, q_conv3);

  // ---- 3. The deployed model on the host: int8 extractor, float head. -----------------
  const auto q1 = int8_conv1.params();
  const auto q2 = int8_conv2.params();
  const auto q3 = int8_conv3.params();
  const auto& h1 = model.state<kHostDense1>();
  const auto& h2 = model.state<kHostDense2>();
  const mtl::LinearParams<float, HostLayer<kHostDense1>::Params::weights_extent, kHidden> head1{
      h1.weights, h1.bias};
  const mtl::LinearParams<float, HostLayer<kHostDense2>::Params::weights_extent, kClasses> head2{
      h2.weights, h2.bias};
  static DeviceModel deployed(kInputQuant, q1, q2, q3, head1, head2);
  static DeviceModel::InferenceArena deployed_arena;
  std::array<std::int8_t, 784> codes{};
  std::size_t int8_correct = 0;
  for (const std::size_t i : test_set) {
    const std::uint8_t* p = test.image(i);
    for (std::size_t k = 0; k < 784; ++k)
      codes[k] = pixel_to_int8(p[k]);
    const auto out = deployed.forward(DeviceModel::input_view(codes), deployed_arena);
    std::size_t best = 0;
    for (std::size_t k = 1; k < kClasses; ++k)
      best = out.values[k] > out.values[best] ? k : best;
    int8_correct += best == test.labels[i] ? 1u : 0u;
  }
  const double int8_acc =
      100.0 * static_cast<double>(int8_correct) / static_cast<double>(test_set.size());
  std::printf(
      "pretrain: factory-class test accuracy: float %.2f%%, int8 extractor %.2f%% (%+.2f points), "
      "training %.1f s\n",
      float_acc, int8_acc, int8_acc - float_acc, train_seconds);

  // ---- 4. Export. ------------------------------------------------------------------------
  // Reference features of the first test images, computed here: the device must produce
  // the very same integers (tests/...: host/device bit-exactness).
  std::array<std::array<std::int8_t, kFeatures>, kReferenceImages> reference{};
  std::array<std::uint32_t, kReferenceImages> reference_index{};
  for (std::size_t n = 0; n < kReferenceImages; ++n) {
    reference_index[n] = static_cast<std::uint32_t>(n);
    const std::uint8_t* p = test.image(n);
    for (std::size_t k = 0; k < 784; ++k)
      codes[k] = pixel_to_int8(p[k]);
    (void)deployed.forward(
        DeviceModel::input_view(codes), deployed_arena, [&](auto index, auto values, auto) {
          if constexpr (decltype(index)::value == 6) {  // the Flatten: the int8 features
            for (std::size_t k = 0; k < kFeatures; ++k)
              reference[n][k] = values[k];
          }
        });
  }
  ExportedModel exported{int8_conv1, int8_conv2,       int8_conv3,     h1.weights,      h1.bias,
                         h2.weights, h2.bias,          reference,      reference_index, float_acc,
                         int8_acc,   train_set.size(), options.epochs, options.seed};
  if (!write_header(options.out, exported)) {
    std::fprintf(stderr, "pretrain: cannot write %s\n", options.out.c_str());
    return 1;
  }
  std::printf(
      "PRETRAIN float_accuracy=%.2f int8_accuracy=%.2f training_images=%zu epochs=%d "
      "seconds=%.1f\n",
      float_acc, int8_acc, train_set.size(), options.epochs, train_seconds);
  std::printf("pretrain: wrote %s\n", options.out.c_str());
  return 0;
}
