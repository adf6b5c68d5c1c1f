// Bias-only training of an int8 layer (TinyTL's recipe on a deployed int8 network): its
// gradient agrees with the same layer computed in float; the int8 weights never change; the
// int32 bias follows the trained real bias; what is saved and loaded is the same model.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "../support/random.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

template <class Spec>
using AsIs = Spec;  // a frozen layer

template <class E, template <class> class Conv>
using Net = Sequential<Input<Shape<6, 6, 1>, E>, Conv<Conv2D<3, Kernel<3>, Padding::same>>, ReLU,
                       MaxPool2D<2>, Flatten>;

using Int8Model = Sequential<Net<QInt8, BiasOnly>, Dequantize, Trainable<Dense<3>>>;
using FloatModel = Sequential<Net<float, BiasOnly>, Trainable<Dense<3>>>;

template <std::size_t N>
std::array<float, N> random_array(microtl_test::Xorshift32& rng, float low, float high) {
  std::array<float, N> a{};
  for (auto& v : a)
    v = rng.uniform_float(low, high);
  return a;
}

// A quantized conv and the float conv with exactly its (dequantized) weights and bias.
struct Fixture {
  std::array<float, 27> w = {};
  std::array<float, 3> b = {};
  quant::QuantParams q_in{1.0f / 127.0f, 0};
  quant::QuantParams q_out{0.05f, -128};  // up to 12.75: no conv output saturates
  QuantizedLinear<27, 3> conv{};
  std::array<float, 27> w_real{};
  std::array<float, 3> b_real{};
  std::array<float, 81> dense_w{};
  std::array<float, 3> dense_b{};

  explicit Fixture(std::uint32_t seed) {
    microtl_test::Xorshift32 rng(seed);
    w = random_array<27>(rng, -1, 1);
    b = random_array<3>(rng, 0.0f, 0.3f);
    conv = quantize_linear<ChannelAxis::leading>(std::span<const float, 27>(w),
                                                 std::span<const float, 3>(b), q_in, q_out);
    for (std::size_t i = 0; i < 27; ++i)
      w_real[i] = static_cast<float>(conv.weights[i]) * conv.weight_scales[i / 9];
    for (std::size_t c = 0; c < 3; ++c)
      b_real[c] = static_cast<float>(conv.bias[c]) * q_in.scale * conv.weight_scales[c];
    dense_w = random_array<81>(rng, -1, 1);
  }
};

}  // namespace

TEST_CASE("int8 bias-only: the bias gradient matches the float layer's") {
  static Fixture f(21);
  static const auto int8_params = f.conv.params();
  static const layers::QuantizedBiasOnlyParams<27, 3> bias_only{int8_params, f.conv.weight_scales,
                                                                f.q_in.scale};
  static const LinearParams<float, 27, 3> float_conv{f.w_real, f.b_real};
  static const LinearParams<float, 81, 3> dense{f.dense_w, f.dense_b};
  static Int8Model int8_model(f.q_in, bias_only, dense);
  static FloatModel float_model(float_conv, dense);
  using T8 = Trainer<Int8Model, SoftmaxCrossEntropy, SGD>;
  using TF = Trainer<FloatModel, SoftmaxCrossEntropy, SGD>;
  static_assert(T8::first_trainable == 0 && T8::features_int8 && T8::features_are_input);
  // Gradient memory only for 3 biases and the dense layer's 84 values.
  static_assert(T8::parameter_grad_bytes == 16 + 336);
  static T8::TrainingArena arena8;
  static TF::TrainingArena arenaf;
  T8 t8(int8_model, SGD{1.0f, 0.0f}, arena8);
  TF tf(float_model, SGD{1.0f, 0.0f}, arenaf);

  CHECK(int8_model.state<0>().bias == float_model.state<0>().bias);  // the same real bias to start
  microtl_test::Xorshift32 rng(5);
  double difference = 0;  // sum over samples and channels of |g_int8 - g_float|
  double magnitude = 0;   // sum of |g_float|
  double dot = 0, norm8 = 0, normf = 0;
  for (int sample = 0; sample < 20; ++sample) {
    std::array<std::int8_t, 36> codes{};
    std::array<float, 36> reals{};
    for (std::size_t i = 0; i < 36; ++i) {
      codes[i] = static_cast<std::int8_t>(rng.uniform_int(-127, 127));
      reals[i] = quant::dequantize(codes[i], f.q_in);
    }
    const auto before8 = int8_model.state<0>().bias;
    const auto beforef = float_model.state<0>().bias;
    REQUIRE(t8.step(Int8Model::input_view(codes), static_cast<std::size_t>(sample % 3)) ==
            Status::ok);
    REQUIRE(tf.step(FloatModel::input_view(reals), static_cast<std::size_t>(sample % 3)) ==
            Status::ok);
    for (std::size_t c = 0; c < 3; ++c) {
      const double g8 = static_cast<double>(before8[c] - int8_model.state<0>().bias[c]);
      const double gf = static_cast<double>(beforef[c] - float_model.state<0>().bias[c]);
      difference += std::fabs(g8 - gf);
      magnitude += std::fabs(gf);
      dot += g8 * gf;
      norm8 += g8 * g8;
      normf += gf * gf;
    }
    // Keep both models on the same parameters, so each step compares like with like.
    float_model.state<0>().bias = int8_model.state<0>().bias;
    float_model.state<3>().weights = int8_model.state<4>().weights;
    float_model.state<3>().bias = int8_model.state<4>().bias;
  }
  // The int8 forward differs from the float one by the rounding of each activation (at most
  // half an output step), which moves ReLU and max-pool decisions near ties and the head's
  // input by a step: the gradients agree closely in aggregate, not to the last bit.
  const double relative = difference / magnitude;
  const double cosine = dot / std::sqrt(norm8 * normf);
  MESSAGE("bias gradients, int8 against float: relative L1 difference " << relative << ", cosine "
                                                                        << cosine);
  CHECK(relative < 0.1);
  CHECK(cosine > 0.99);
}

TEST_CASE(
    "int8 bias-only: weights untouched, int32 bias follows, save and load restore the same model") {
  static Fixture f(22);
  static const auto int8_params = f.conv.params();
  static const layers::QuantizedBiasOnlyParams<27, 3> bias_only{int8_params, f.conv.weight_scales,
                                                                f.q_in.scale};
  static const LinearParams<float, 81, 3> dense{f.dense_w, f.dense_b};
  static Int8Model model(f.q_in, bias_only, dense);
  using T = Trainer<Int8Model, SoftmaxCrossEntropy, SGDMomentum>;
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.05f, 0.9f, 2e-4f}, arena, 2);
  const auto bias_q_before = model.state<0>().bias_q;

  microtl_test::Xorshift32 rng(6);
  std::array<std::array<std::int8_t, 36>, 6> images{};
  for (auto& image : images)
    for (auto& p : image)
      p = static_cast<std::int8_t>(rng.uniform_int(-127, 127));
  float first = 0;
  float last = 0;
  for (int epoch = 0; epoch < 30; ++epoch) {
    float sum = 0;
    for (std::size_t n = 0; n < images.size(); ++n) {
      REQUIRE(trainer.step(Int8Model::input_view(images[n]), n % 3) == Status::ok);
      sum += trainer.last_loss();
    }
    (epoch == 0 ? first : last) = sum;
  }
  CHECK(last < first);
  CHECK(model.parameters<0>().weights.data() == f.conv.weights.data());  // still the same array
  // The trained model computes with the original int8 weights and the trained int32 bias:
  // the same network frozen, built from a fresh quantization of the same real weights with
  // that bias and the trained head, gives the same outputs bit for bit.
  static Fixture fresh(22);
  fresh.conv.bias = model.state<0>().bias_q;
  static const auto fresh_params = fresh.conv.params();
  static const LinearParams<float, 81, 3> trained_head =
      model.parameters<Int8Model::layer_count - 1>();
  using Frozen = Sequential<Net<QInt8, AsIs>, Dequantize, Dense<3>>;
  static const Frozen frozen(fresh.q_in, fresh_params, trained_head);
  static Int8Model::InferenceArena a_trained;
  static Frozen::InferenceArena a_frozen;
  for (const auto& image : images) {
    const auto y_trained = model.forward(Int8Model::input_view(image), a_trained);
    const auto y_frozen = frozen.forward(Frozen::input_view(image), a_frozen);
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(y_trained.values[k] == y_frozen.values[k]);
    }
  }
  CHECK_FALSE(model.state<0>().bias_q == bias_q_before);  // the int8 bias did train
  // The int32 bias is the real bias in steps of input_scale * weight_scale, rounded to the
  // nearest (TFLite's bias quantization; within float rounding of the scale's inverse).
  for (std::size_t c = 0; c < 3; ++c) {
    const double scale =
        static_cast<double>(f.q_in.scale) * static_cast<double>(f.conv.weight_scales[c]);
    const double steps = static_cast<double>(model.state<0>().bias[c]) / scale;
    CHECK(std::fabs(static_cast<double>(model.state<0>().bias_q[c]) - steps) <= 0.5 + 1e-3);
  }

  // Persist, then load into a fresh model built from the factory parameters.
  using Store = io::ParameterStore<Int8Model>;
  static io::RamStorage<Store::storage_bytes> flash;
  REQUIRE(Store::save(model, flash) == Status::ok);
  static Int8Model rebooted(f.q_in, bias_only, dense);
  REQUIRE(Store::load(rebooted, flash) == Status::ok);
  CHECK(rebooted.state<0>().bias == model.state<0>().bias);
  CHECK(rebooted.state<0>().bias_q == model.state<0>().bias_q);  // recomputed on load
  static Int8Model::InferenceArena a1;
  static Int8Model::InferenceArena a2;
  const auto y1 = model.forward(Int8Model::input_view(images[0]), a1);
  const auto y2 = rebooted.forward(Int8Model::input_view(images[0]), a2);
  for (std::size_t k = 0; k < 3; ++k)
    CHECK(y1.values[k] == y2.values[k]);
}
