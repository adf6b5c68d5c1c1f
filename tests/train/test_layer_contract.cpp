// The layer contract from the user's side: a layer written outside the library (here, in
// this file) that keeps bytes of its own for backward (SavesForBackward), trained through
// the Trainer unchanged; and the run-time check that an int8 bias-only layer's parameters
// were made for the input scale that flows into it.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "../support/random.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

// y = x / m with m = 1 + max_i |x_i|: a normalization whose backward needs m and the index
// of the largest |x_i|, which the layer saves in its own bytes rather than recomputing.
//   dL/dx_j = dy_j / m - [j == k] sign(x_k) (sum_i dy_i x_i) / m^2      (k: the argmax)
struct SavedState {
  float m;
  std::uint32_t k;
};
int saved_reads = 0;  // backward passes that found the state save_for_backward wrote

template <ShapeType S, ActivationElement E>
struct MaxNormalizeLayer : LayerBase<S, float> {
  using output_shape = S;
  static constexpr const char* name = "MaxNormalize";
  static constexpr std::size_t backward_saved_bytes = sizeof(SavedState);

  static SavedState state_of(const float* x) noexcept {
    SavedState s{0.0f, 0};
    for (std::size_t i = 0; i < S::size; ++i) {
      if (std::fabs(x[i]) > s.m) {
        s.m = std::fabs(x[i]);
        s.k = static_cast<std::uint32_t>(i);
      }
    }
    s.m += 1.0f;
    return s;
  }
  static NoQuant forward(const NoParams&, input_view_t<MaxNormalizeLayer> in, NoQuant,
                         output_view_t<MaxNormalizeLayer> out, std::span<std::byte>) noexcept {
    const SavedState s = state_of(in.data());
    for (std::size_t i = 0; i < S::size; ++i) {
      out[i] = in[i] / s.m;
    }
    return {};
  }
  static void save_for_backward(const NoParams&,
                                const ForwardRecord<MaxNormalizeLayer>& forward) noexcept {
    const SavedState s = state_of(forward.x.data());
    std::memcpy(forward.saved.data(), &s, sizeof s);
  }
  template <bool InputGrad, GradientSink Sink>
  static void backward(const NoParams&, const ForwardRecord<MaxNormalizeLayer>& forward,
                       TensorView<float, S> dy, TensorView<float, S> dx, const Sink&) noexcept {
    SavedState s{};
    std::memcpy(&s, forward.saved.data(), sizeof s);
    const SavedState expected = state_of(forward.x.data());
    saved_reads += s.m == expected.m && s.k == expected.k ? 1 : 0;
    if constexpr (InputGrad) {
      float dot = 0.0f;
      for (std::size_t i = 0; i < S::size; ++i) {
        dot += dy[i] * forward.x[i];
        dx[i] = dy[i] / s.m;
      }
      const float sign = forward.x[s.k] < 0.0f ? -1.0f : 1.0f;
      dx[s.k] -= sign * dot / (s.m * s.m);
    }
  }
};

struct MaxNormalize {
  template <ShapeType S, ActivationElement E>
  using bind = MaxNormalizeLayer<S, E>;
};

static_assert(SavesForBackward<MaxNormalizeLayer<Shape<4>, float>>);

using Net = Sequential<Input<Shape<3>>, Trainable<Dense<4>>, MaxNormalize, Trainable<Dense<2>>>;
using Plain = Sequential<Input<Shape<3>>, Trainable<Dense<4>>, Sigmoid, Trainable<Dense<2>>>;
using T = Trainer<Net, MeanSquaredError, SGD>;
// The training plan gives the layer its bytes and keeps its input, which its backward reads
// (it declares no backward_reads_input: layers/contract.hpp); a Sigmoid reads only its output,
// so the Dense<4> output before it only passes. Nothing else changes.
static_assert(T::saved_activation_bytes ==
              Trainer<Plain, MeanSquaredError, SGD>::saved_activation_bytes +
                  align_up(sizeof(SavedState), MICROTL_ALIGNMENT) +
                  align_up(4 * sizeof(float), MICROTL_ALIGNMENT));
static_assert(T::training_arena_bytes ==
              Trainer<Plain, MeanSquaredError, SGD>::training_arena_bytes +
                  align_up(sizeof(SavedState), MICROTL_ALIGNMENT) +
                  align_up(4 * sizeof(float), MICROTL_ALIGNMENT));

}  // namespace

TEST_CASE("a user's layer with saved bytes trains: its gradient matches finite differences") {
  microtl_test::Xorshift32 rng(91);
  static auto w1 = microtl_test::random_floats<12>(rng, -1.0f, 1.0f);
  static auto b1 = microtl_test::random_floats<4>(rng, -0.5f, 0.5f);
  static auto w2 = microtl_test::random_floats<8>(rng, -1.0f, 1.0f);
  static const std::array<float, 2> b2{};
  const std::array<float, 3> x{0.7f, -1.2f, 0.4f};
  const std::array<float, 2> target{0.5f, -0.25f};

  // The loss as a function of the first layer's bias, by the forward pass alone.
  const auto loss = [&](const std::array<float, 4>& bias) {
    const LinearParams<float, 12, 4> p1{w1, bias};
    const LinearParams<float, 8, 2> p2{w2, b2};
    Net probe(p1, p2);
    static Net::InferenceArena arena;
    const auto y = probe.forward(Net::input_view(x), arena);
    float sum = 0.0f;
    for (std::size_t i = 0; i < 2; ++i) {
      sum += (y.values[i] - target[i]) * (y.values[i] - target[i]);
    }
    return sum / 2.0f;
  };

  // One SGD step with learning rate 1 moves the bias by minus its gradient.
  static const LinearParams<float, 12, 4> p1{w1, b1};
  static const LinearParams<float, 8, 2> p2{w2, b2};
  static Net model(p1, p2);
  static T::TrainingArena arena;
  T trainer(model, SGD{1.0f}, arena);
  saved_reads = 0;
  REQUIRE(trainer.step(Net::input_view(x), std::span<const float, 2>(target)) == Status::ok);
  CHECK(saved_reads == 1);
  constexpr float eps = 1e-2f;
  for (std::size_t j = 0; j < 4; ++j) {
    auto up = b1;
    auto down = b1;
    up[j] += eps;
    down[j] -= eps;
    const float numeric = (loss(up) - loss(down)) / (2.0f * eps);
    const float analytic = b1[j] - model.state<0>().bias[j];
    CHECK(std::fabs(analytic - numeric) <= 2e-3f * std::fmax(1.0f, std::fabs(numeric)));
  }
}

TEST_CASE("int8 bias-only: parameters made for another input scale are refused") {
  using Int8Net =
      Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<3>>, Dequantize, Trainable<Dense<2>>>;
  microtl_test::Xorshift32 rng(92);
  static const auto w = microtl_test::random_floats<12>(rng, -1.0f, 1.0f);
  static const auto b = microtl_test::random_floats<3>(rng, -0.5f, 0.5f);
  static const quant::QuantParams q_in{0.02f, 0};
  static const auto q = quantize_linear<ChannelAxis::leading>(std::span(w), std::span(b), q_in,
                                                              quant::QuantParams{0.05f, 0});
  static const auto frozen = q.params();
  // The right scale, and one that is not the scale of the input the model receives.
  static const layers::QuantizedBiasOnlyParams<12, 3> right{frozen, q.weight_scales, q_in.scale};
  static const layers::QuantizedBiasOnlyParams<12, 3> wrong{frozen, q.weight_scales, 0.03f};
  static const auto hw = microtl_test::random_floats<6>(rng, -1.0f, 1.0f);
  static const std::array<float, 2> hb{};
  static const LinearParams<float, 6, 2> head{hw, hb};
  static Int8Net good(q_in, right, head);
  static Int8Net bad(q_in, wrong, head);
  using T8 = Trainer<Int8Net, SoftmaxCrossEntropy, SGD>;
  static T8::TrainingArena arena_good;
  static T8::TrainingArena arena_bad;
  T8 train_good(good, SGD{0.1f}, arena_good);
  T8 train_bad(bad, SGD{0.1f}, arena_bad);
  const std::array<std::int8_t, 4> codes{10, -20, 30, 5};
  const auto bias_before = bad.state<0>().bias;
  const auto head_before = bad.state<2>().weights;
  CHECK(train_good.step(Int8Net::input_view(codes), 1) == Status::ok);
  CHECK(train_bad.step(Int8Net::input_view(codes), 1) == Status::model_mismatch);
  CHECK(bad.state<0>().bias == bias_before);  // nothing trained
  CHECK(bad.state<2>().weights == head_before);
}
