// MaxPool1D, AvgPool1D, GlobalAvgPool1D: values worked out by hand, int8 identical to the 2-D
// pool kernels on the one-row image, backward by finite differences (float) and against the
// float layer (int8, real units), and a Conv1D model with a pool that trains.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "layer_checks.hpp"
#include "microtl/kernels/pooling.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

template <class Spec, class S, class E = float, quant::Activation A = quant::Activation::none>
using Bound = typename Spec::template bind<S, E, A>;

using Max2 = Bound<MaxPool1D<2>, Shape<6, 2>>;
using Avg3Same = Bound<AvgPool1D<3, 2, Padding::same>, Shape<6, 2>>;
using Global = Bound<GlobalAvgPool1D, Shape<6, 2>>;

static_assert(std::is_same_v<Max2::output_shape, Shape<3, 2>>);
static_assert(std::is_same_v<Avg3Same::output_shape, Shape<3, 2>>);
static_assert(std::is_same_v<Global::output_shape, Shape<2>>);
static_assert(std::is_same_v<Bound<MaxPool1D<3, 1>, Shape<10, 4>>::output_shape, Shape<8, 4>>);
static_assert(
    std::is_same_v<Bound<AvgPool1D<4, 3, Padding::same>, Shape<10, 1>>::output_shape, Shape<4, 1>>);
static_assert(BackwardLayer<Max2> && BackwardLayer<Avg3Same> && BackwardLayer<Global>);
static_assert(BackwardLayer<Bound<MaxPool1D<2>, Shape<6, 2>, QInt8>>);
static_assert(std::string_view(Max2::name) == "MaxPool1D");
static_assert(std::string_view(Avg3Same::name) == "AvgPool1D");
static_assert(std::string_view(Global::name) == "GlobalAvgPool1D");

// x[l][c], L = 6, C = 2:  channel 0: 1, -2, 3, 0.5, -1, -4   channel 1: 0, 5, -3, -2, 2, 2.5
constexpr std::array<float, 12> kX{1.0f, 0.0f,  -2.0f, 5.0f, 3.0f,  -3.0f,
                                   0.5f, -2.0f, -1.0f, 2.0f, -4.0f, 2.5f};

template <class L>
std::array<float, L::output_shape::size> run_float(const std::array<float, 12>& x) {
  std::array<float, L::output_shape::size> y{};
  (void)microtl_test::run_layer<L>(x.data(), NoQuant{}, y.data());
  return y;
}

template <std::size_t N>
std::array<std::int8_t, N> random_codes(microtl_test::Xorshift32& rng, int low, int high) {
  std::array<std::int8_t, N> a{};
  for (auto& v : a) {
    v = static_cast<std::int8_t>(rng.uniform_int(low, high));
  }
  return a;
}

}  // namespace

TEST_CASE("pooling 1-D float: values worked out by hand") {
  // MaxPool1D<2>: windows {0, 1}, {2, 3}, {4, 5}
  //   channel 0: max(1, -2) = 1, max(3, 0.5) = 3, max(-1, -4) = -1
  //   channel 1: max(0, 5) = 5, max(-3, -2) = -2, max(2, 2.5) = 2.5
  CHECK(run_float<Max2>(kX) == std::array<float, 6>{1.0f, 5.0f, 3.0f, -2.0f, -1.0f, 2.5f});
  // With a fused ReLU the negatives become 0.
  CHECK(run_float<Bound<MaxPool1D<2>, Shape<6, 2>, float, quant::Activation::relu>>(kX) ==
        std::array<float, 6>{1.0f, 5.0f, 3.0f, 0.0f, 0.0f, 2.5f});
  // AvgPool1D<3, 2, same>: 3 outputs (ceil(6 / 2)); padding (3 - 1) * 2 + 3 - 6 = 1, all of it
  // after, so the windows are {0, 1, 2}, {2, 3, 4}, {4, 5} (the last has 2 real taps):
  //   channel 0: (1 - 2 + 3) / 3 = 2/3, (3 + 0.5 - 1) / 3 = 5/6, (-1 - 4) / 2 = -2.5
  //   channel 1: (0 + 5 - 3) / 3 = 2/3, (-3 - 2 + 2) / 3 = -1, (2 + 2.5) / 2 = 2.25
  const auto avg = run_float<Avg3Same>(kX);
  const std::array<float, 6> avg_expected{2.0f / 3.0f, 2.0f / 3.0f, 5.0f / 6.0f,
                                          -1.0f,       -2.5f,       2.25f};
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(avg[i] == doctest::Approx(static_cast<double>(avg_expected[i])).epsilon(1e-6));
  }
  // GlobalAvgPool1D: channel 0 (1 - 2 + 3 + 0.5 - 1 - 4) / 6 = -2.5 / 6 = -0.41667;
  // channel 1 (0 + 5 - 3 - 2 + 2 + 2.5) / 6 = 4.5 / 6 = 0.75. ReLU6 fused: 0 and 0.75.
  const auto global = run_float<Global>(kX);
  CHECK(global[0] == doctest::Approx(-2.5 / 6.0).epsilon(1e-6));
  CHECK(global[1] == doctest::Approx(0.75).epsilon(1e-6));
  CHECK(run_float<Bound<GlobalAvgPool1D, Shape<6, 2>, float, quant::Activation::relu6>>(kX) ==
        std::array<float, 2>{0.0f, 0.75f});
}

TEST_CASE("pooling 1-D int8: values worked out by hand") {
  // Codes, L = 6, C = 1, zero point -10 (the fused ReLU clamps at code -10).
  //   MaxPool1D<2> + ReLU: max(3, 4) = 4, max(-30, -40) = -30 -> -10, max(7, -7) = 7
  //   AvgPool1D<2>: TFLite rounds the mean half away from zero:
  //     (3 + 4) / 2 = 3.5 -> 4, (-30 - 40) / 2 = -35, (7 - 7) / 2 = 0
  //   AvgPool1D<3>: (3 + 4 - 30) / 3 = -7.67 -> -8, (-40 + 7 - 7) / 3 = -13.33 -> -13
  //   AvgPool1D<2, 2> over 3, 4, -3, -4: 7 / 2 = 3.5 -> 4, -7 / 2 = -3.5 -> -4 (ties away)
  const quant::QuantParams q{0.5f, -10};
  const std::array<std::int8_t, 6> x{3, 4, -30, -40, 7, -7};
  std::array<std::int8_t, 3> max{};
  const auto max_q =
      microtl_test::run_layer<Bound<MaxPool1D<2>, Shape<6, 1>, QInt8, quant::Activation::relu>>(
          x.data(), q, max.data());
  CHECK(max == std::array<std::int8_t, 3>{4, -10, 7});
  CHECK(max_q.scale == q.scale);  // the input's quantization, unchanged
  CHECK(max_q.zero_point == q.zero_point);
  std::array<std::int8_t, 3> avg2{};
  (void)microtl_test::run_layer<Bound<AvgPool1D<2>, Shape<6, 1>, QInt8>>(x.data(), q, avg2.data());
  CHECK(avg2 == std::array<std::int8_t, 3>{4, -35, 0});
  std::array<std::int8_t, 2> avg3{};
  (void)microtl_test::run_layer<Bound<AvgPool1D<3>, Shape<6, 1>, QInt8>>(x.data(), q, avg3.data());
  CHECK(avg3 == std::array<std::int8_t, 2>{-8, -13});
  const std::array<std::int8_t, 4> ties{3, 4, -3, -4};
  std::array<std::int8_t, 2> tie_avg{};
  (void)microtl_test::run_layer<Bound<AvgPool1D<2>, Shape<4, 1>, QInt8>>(ties.data(), q,
                                                                         tie_avg.data());
  CHECK(tie_avg == std::array<std::int8_t, 2>{4, -4});
}

namespace {

// The 1-D layer against the 2-D kernel called on the one-row image [1][L][C] (window 1 x Pool).
template <std::size_t L, std::size_t C, std::size_t Pool, std::size_t Stride, Padding Pad,
          quant::Activation A>
void check_int8_equals_one_row_pool(std::uint32_t seed) {
  microtl_test::Xorshift32 rng(seed);
  const quant::QuantParams q{0.1f, static_cast<std::int32_t>(rng.uniform_int(-20, 20))};
  const quant::ActivationRange range = quant::activation_range(A, q);
  const auto x = random_codes<L * C>(rng, -128, 127);
  constexpr std::size_t out_size = kernels::output_elements(1, L, 1, Pool, Stride, Pad, C);

  std::array<std::int8_t, out_size> max_1d{};
  std::array<std::int8_t, out_size> max_2d{};
  (void)microtl_test::run_layer<Bound<MaxPool1D<Pool, Stride, Pad>, Shape<L, C>, QInt8, A>>(
      x.data(), q, max_1d.data());
  kernels::max_pool_s8<1, L, C, 1, Pool, Stride, Pad>(x, max_2d, range);
  CHECK(max_1d == max_2d);

  std::array<std::int8_t, out_size> avg_1d{};
  std::array<std::int8_t, out_size> avg_2d{};
  (void)microtl_test::run_layer<Bound<AvgPool1D<Pool, Stride, Pad>, Shape<L, C>, QInt8, A>>(
      x.data(), q, avg_1d.data());
  kernels::avg_pool_s8<1, L, C, 1, Pool, Stride, Pad>(x, avg_2d, range);
  CHECK(avg_1d == avg_2d);

  std::array<std::int8_t, C> global_1d{};
  std::array<std::int8_t, C> global_2d{};
  (void)microtl_test::run_layer<Bound<GlobalAvgPool1D, Shape<L, C>, QInt8, A>>(x.data(), q,
                                                                               global_1d.data());
  kernels::global_avg_pool_s8<1, L, C>(x, global_2d, range);
  CHECK(global_1d == global_2d);
}

}  // namespace

TEST_CASE("pooling 1-D int8: the 2-D pool kernels on the one-row image") {
  check_int8_equals_one_row_pool<16, 3, 2, 2, Padding::valid, quant::Activation::none>(81);
  check_int8_equals_one_row_pool<15, 4, 3, 2, Padding::same, quant::Activation::relu>(82);
  check_int8_equals_one_row_pool<9, 2, 4, 1, Padding::valid, quant::Activation::relu6>(83);
  check_int8_equals_one_row_pool<7, 5, 5, 3, Padding::same, quant::Activation::none>(84);
}

TEST_CASE("pooling 1-D float: backward equals finite differences") {
  using microtl_test::random_gradient_mismatches;
  CHECK(random_gradient_mismatches<Max2>(91) == 0);
  CHECK(random_gradient_mismatches<Bound<MaxPool1D<3, 2, Padding::same>, Shape<9, 3>>>(92) == 0);
  CHECK(
      random_gradient_mismatches<Bound<MaxPool1D<2>, Shape<8, 2>, float, quant::Activation::relu>>(
          93) == 0);
  CHECK(random_gradient_mismatches<Avg3Same>(94) == 0);
  CHECK(random_gradient_mismatches<
            Bound<AvgPool1D<4, 1>, Shape<9, 2>, float, quant::Activation::relu>>(98) == 0);
  CHECK(random_gradient_mismatches<Global>(96) == 0);
  // ReLU6 with the means spread over both kinks (0 and 6).
  CHECK(random_gradient_mismatches<
            Bound<GlobalAvgPool1D, Shape<3, 8>, float, quant::Activation::relu6>>(97, -4.0f,
                                                                                  10.0f) == 0);
}

namespace {

// The int8 layer's backward (real units) against the float layer's on the dequantized input.
// Max (with ReLU) routes to the same argmax and clamps at the same outputs, since
// dequantization keeps the order and the sign; the average without activation never clamps
// for codes in [-100, 100]. So the two must agree exactly.
template <class Spec, std::size_t L, std::size_t C, quant::Activation A>
int int8_backward_mismatches(std::uint32_t seed) {
  using L8 = Bound<Spec, Shape<L, C>, QInt8, A>;
  using LF = Bound<Spec, Shape<L, C>, float, A>;
  constexpr std::size_t n_out = L8::output_shape::size;
  microtl_test::Xorshift32 rng(seed);
  const quant::QuantParams q{0.05f, -3};
  const auto x = random_codes<L * C>(rng, -100, 100);
  std::array<float, L * C> x_real{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x_real[i] = quant::dequantize(x[i], q);
  }
  std::array<std::int8_t, n_out> y{};
  std::array<float, n_out> y_real{};
  const quant::QuantParams y_quant = microtl_test::run_layer<L8>(x.data(), q, y.data());
  (void)microtl_test::run_layer<LF>(x_real.data(), NoQuant{}, y_real.data());
  const auto u = microtl_test::random_floats<n_out>(rng, -1.0f, 1.0f);
  auto dy8 = u;
  auto dyf = u;
  std::array<float, L * C> dx8{};
  std::array<float, L * C> dxf{};
  microtl_test::run_backward<L8>(x.data(), q, y.data(), y_quant, dy8.data(), dx8.data());
  microtl_test::run_backward<LF>(x_real.data(), NoQuant{}, y_real.data(), NoQuant{}, dyf.data(),
                                 dxf.data());
  int mismatches = 0;
  for (std::size_t i = 0; i < dx8.size(); ++i) {
    if (dx8[i] != dxf[i]) {
      ++mismatches;
      MESSAGE("dx[" << i << "] int8 " << dx8[i] << " float " << dxf[i]);
    }
  }
  return mismatches;
}

}  // namespace

TEST_CASE("pooling 1-D int8: backward in real units equals the float layer's") {
  CHECK(int8_backward_mismatches<MaxPool1D<2>, 10, 3, quant::Activation::relu>(101) == 0);
  CHECK(int8_backward_mismatches<MaxPool1D<3, 2, Padding::same>, 9, 2, quant::Activation::none>(
            102) == 0);
  CHECK(int8_backward_mismatches<AvgPool1D<3, 2, Padding::same>, 9, 2, quant::Activation::none>(
            103) == 0);
  CHECK(int8_backward_mismatches<GlobalAvgPool1D, 6, 4, quant::Activation::none>(104) == 0);

  // By hand: MaxPool1D<2> + ReLU on codes 5, 9 | -20, -30 | 2, 2 with zero point -3:
  // outputs 9, -20 -> clamped to -3, 2 (the first of the tie). dy = 1, 2, 3 reaches
  // x[1] = 1 (the max), nothing from the clamped window, x[4] = 3 (the first maximum).
  using M8 = Bound<MaxPool1D<2>, Shape<6, 1>, QInt8, quant::Activation::relu>;
  const quant::QuantParams q{0.05f, -3};
  const std::array<std::int8_t, 6> x{5, 9, -20, -30, 2, 2};
  std::array<std::int8_t, 3> y{};
  const quant::QuantParams y_quant = microtl_test::run_layer<M8>(x.data(), q, y.data());
  CHECK(y == std::array<std::int8_t, 3>{9, -3, 2});
  std::array<float, 3> dy{1.0f, 2.0f, 3.0f};
  std::array<float, 6> dx{};
  microtl_test::run_backward<M8>(x.data(), q, y.data(), y_quant, dy.data(), dx.data());
  CHECK(dx == std::array<float, 6>{0.0f, 1.0f, 0.0f, 0.0f, 3.0f, 0.0f});
}

namespace {

// Two classes of 16-sample, 1-channel signals: a slow wave (class 0) or a fast one (class 1),
// each with a random phase and amplitude.
constexpr std::size_t kLength = 16;

std::array<float, kLength> signal(microtl_test::Xorshift32& rng, std::size_t label) {
  const float frequency = label == 0 ? 0.35f : 2.2f;
  const float phase = rng.uniform_float(0.0f, 6.28f);
  const float amplitude = rng.uniform_float(0.6f, 1.2f);
  std::array<float, kLength> x{};
  for (std::size_t i = 0; i < kLength; ++i) {
    x[i] = amplitude * std::sin(frequency * static_cast<float>(i) + phase) +
           rng.uniform_float(-0.1f, 0.1f);
  }
  return x;
}

}  // namespace

TEST_CASE("pooling 1-D: a Conv1D -> MaxPool1D -> Flatten -> Dense model trains") {
  using Model = Sequential<Input<Shape<kLength, 1>>, Trainable<Conv1D<4, 3, Padding::same>>, ReLU,
                           MaxPool1D<2>, Flatten, Trainable<Dense<2>>>;
  static_assert(Model::layer_count == 4);  // the ReLU is fused into the Conv1D
  static_assert(std::is_same_v<Model::layer<1>::output_shape, Shape<8, 4>>);
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;

  microtl_test::Xorshift32 rng(111);
  static auto wc = microtl_test::random_floats<12>(rng, -0.8f, 0.8f);
  static auto bc = microtl_test::random_floats<4>(rng, -0.1f, 0.1f);
  static auto wd = microtl_test::random_floats<64>(rng, -0.3f, 0.3f);
  static std::array<float, 2> bd{};
  static const LinearParams<float, 12, 4> pc{wc, bc};
  static const LinearParams<float, 64, 2> pd{wd, bd};
  static Model model(pc, pd);
  static T::TrainingArena arena;
  T trainer(model, SGD{0.05f, 0.0f}, arena);

  constexpr std::size_t kSamples = 16;
  std::array<std::array<float, kLength>, kSamples> data{};
  std::array<std::size_t, kSamples> labels{};
  for (std::size_t i = 0; i < kSamples; ++i) {
    labels[i] = i % 2;
    data[i] = signal(rng, labels[i]);
  }
  const auto epoch = [&] {
    float loss = 0.0f;
    for (std::size_t i = 0; i < kSamples; ++i) {
      REQUIRE(trainer.step(Model::input_view(data[i]), labels[i]) == Status::ok);
      loss += trainer.last_loss();
    }
    return loss / static_cast<float>(kSamples);
  };
  const float first = epoch();
  float last = first;
  for (int e = 0; e < 40; ++e) {
    last = epoch();
  }
  CAPTURE(first);
  CAPTURE(last);
  CHECK(last < 0.3f * first);

  // And it tells fresh signals apart.
  static Model::InferenceArena inference;
  int correct = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    const std::size_t label = i % 2;
    const auto x = signal(rng, label);
    const auto out = model.forward(Model::input_view(x), inference);
    correct += (out.values[1] > out.values[0] ? 1U : 0U) == label ? 1 : 0;
  }
  CHECK(correct >= 18);
}
