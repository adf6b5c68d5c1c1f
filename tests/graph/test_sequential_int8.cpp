// An int8 model against its float original: post-training quantization (calibrated
// activations, per-channel symmetric weights, int32 bias) of a small CNN, run through
// Sequential with quantization parameters flowing between layers. The int8 result,
// dequantized, must stay within a few output steps of the float result.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include "../support/random.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

template <class E>
using Net = Sequential<Input<Shape<8, 8, 1>, E>,                       //
                       Conv2D<4, Kernel<3>, Padding::same>, ReLU,      // 8x8x4
                       MaxPool2D<2>,                                   // 4x4x4
                       Conv2D<6, Kernel<3>, Padding::valid, 1>, ReLU,  // 2x2x6
                       Flatten, Dense<5>>;                             // 5
using FloatNet = Net<float>;
using Int8Net = Net<QInt8>;
static_assert(FloatNet::layer_count == 5 && Int8Net::layer_count == 5);

constexpr std::size_t samples = 24;

struct Range {
  float min = 0.0f;
  float max = 0.0f;
  template <class View>
  void add(View values) {
    for (float v : values) {
      min = v < min ? v : min;
      max = v > max ? v : max;
    }
  }
};

}  // namespace

TEST_CASE("int8 model: post-training quantization stays within a few steps of float") {
  microtl_test::Xorshift32 rng(2024);
  static const auto w0 = microtl_test::random_floats<4 * 9>(rng, -0.8f, 0.8f);
  static const auto b0 = microtl_test::random_floats<4>(rng, -0.2f, 0.2f);
  static const auto w2 = microtl_test::random_floats<6 * 9 * 4>(rng, -0.4f, 0.4f);
  static const auto b2 = microtl_test::random_floats<6>(rng, -0.2f, 0.2f);
  static const auto w4 = microtl_test::random_floats<5 * 24>(rng, -0.5f, 0.5f);
  static const auto b4 = microtl_test::random_floats<5>(rng, -0.1f, 0.1f);
  static const LinearParams<float, 36, 4> f0{w0, b0};
  static const LinearParams<float, 216, 6> f2{w2, b2};
  static const LinearParams<float, 120, 5> f4{w4, b4};
  const FloatNet float_net(f0, f2, f4);
  FloatNet::InferenceArena float_arena;

  static std::array<std::array<float, 64>, samples> inputs{};
  for (auto& input : inputs) {
    input = microtl_test::random_floats<64>(rng, -1.0f, 1.0f);
  }

  // Calibration: the range of the input and of every layer's output over all samples.
  Range input_range;
  std::array<Range, FloatNet::layer_count> ranges{};
  for (const auto& input : inputs) {
    input_range.add(input);
    (void)float_net.forward(
        FloatNet::input_view(input), float_arena,
        [&](auto index, auto output, auto) { ranges[decltype(index)::value].add(output); });
  }
  const quant::QuantParams q_in = quant::choose_activation_params(input_range.min, input_range.max);
  const quant::QuantParams q0 = quant::choose_activation_params(ranges[0].min, ranges[0].max);
  const quant::QuantParams q2 = quant::choose_activation_params(ranges[2].min, ranges[2].max);
  const quant::QuantParams q4 = quant::choose_activation_params(ranges[4].min, ranges[4].max);

  // The pool keeps q0, so conv2's input is q0; the Flatten keeps q2, so the Dense's input is q2.
  static const auto c0 =
      quantize_linear<ChannelAxis::leading>(std::span(w0), std::span(b0), q_in, q0);
  static const auto c2 =
      quantize_linear<ChannelAxis::leading>(std::span(w2), std::span(b2), q0, q2);
  static const auto c4 =
      quantize_linear<ChannelAxis::leading>(std::span(w4), std::span(b4), q2, q4);
  const auto p0 = c0.params();
  const auto p2 = c2.params();
  const auto p4 = c4.params();
  const Int8Net int8_net(q_in, p0, p2, p4);
  Int8Net::InferenceArena int8_arena;

  float worst = 0.0f;
  std::size_t same_argmax = 0;
  for (const auto& input : inputs) {
    const auto expected = float_net.forward(FloatNet::input_view(input), float_arena);
    std::array<float, 5> reference{};
    for (std::size_t i = 0; i < 5; ++i) {
      reference[i] = expected.values[i];
    }
    std::array<std::int8_t, 64> codes{};
    quant::quantize(std::span<const float, 64>(input), std::span<std::int8_t, 64>(codes), q_in);
    const auto out = int8_net.forward(Int8Net::input_view(codes), int8_arena);
    CHECK(out.quant.scale == q4.scale);
    CHECK(out.quant.zero_point == q4.zero_point);
    std::size_t best_float = 0;
    std::size_t best_int8 = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      const float got = quant::dequantize(out.values[i], out.quant);
      const float error = got > reference[i] ? got - reference[i] : reference[i] - got;
      worst = error > worst ? error : worst;
      best_float = reference[i] > reference[best_float] ? i : best_float;
      best_int8 = out.values[i] > out.values[best_int8] ? i : best_int8;
    }
    same_argmax += best_float == best_int8 ? 1 : 0;
  }
  // Three quantized layers, each adding up to about half a step of its own output plus the
  // error carried in from its input: measured 1.01 output steps here. A bound of 2 steps
  // catches any wrong offset, scale or channel (those are off by tens of steps).
  MESSAGE("worst error: " << static_cast<double>(worst / q4.scale) << " output steps");
  CHECK(worst <= 2.0f * q4.scale);
  CHECK(same_argmax >= samples - 2);
}
