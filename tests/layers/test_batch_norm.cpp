// BatchNorm (layers/batch_norm.hpp): forward against hand-worked values, gradients against
// finite differences, and training through Trainable<BatchNorm> with nothing else changed
// (trainer, parameter store and signature see it through the layer contract); folding into the
// linear layer before it (layers/fold_batch_norm.hpp) for int8 inference.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>

#include "../support/random.hpp"
#include "microtl/layers/fold_batch_norm.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

using Bound = BatchNorm::bind<Shape<2, 2>, float>;

// y = gamma (x - mean) / sqrt(variance + epsilon) + beta, with epsilon 0 so that every
// square root is exact:
//   channel 0: gamma 3, beta 1, mean 1, variance 4     -> y = 1.5 (x - 1) + 1
//   channel 1: gamma 1.5, beta -1, mean 0, variance 0.25 -> y = 3 x - 1
//   x = [[1, 2], [3, -4]]  ->  y = [[1.5*0 + 1, 3*2 - 1], [1.5*2 + 1, 3*(-4) - 1]]
//                               = [[1, 5], [4, -13]]
TEST_CASE("BatchNorm: forward, hand-worked") {
  const std::array<float, 2> gamma{3.0f, 1.5f};
  const std::array<float, 2> beta{1.0f, -1.0f};
  const std::array<float, 2> mean{1.0f, 0.0f};
  const std::array<float, 2> variance{4.0f, 0.25f};
  const BatchNormParams<2> p{gamma, beta, mean, variance, 0.0f};
  const std::array<float, 4> x{1.0f, 2.0f, 3.0f, -4.0f};
  std::array<float, 4> y{};
  (void)Bound::forward(p, TensorView<const float, Shape<2, 2>>(x), NoQuant{},
                       TensorView<float, Shape<2, 2>>(y), {});
  CHECK(y[0] == 1.0f);  // every step is exact in float
  CHECK(y[1] == 5.0f);
  CHECK(y[2] == 4.0f);
  CHECK(y[3] == -13.0f);
}

// L = sum_k u_k y_k: dL/dx, dL/dgamma, dL/dbeta against central differences.
TEST_CASE("BatchNorm: gradients against finite differences") {
  using L = BatchNorm::bind<Shape<3, 4>, float>;
  microtl_test::Xorshift32 rng(71);
  std::array<float, 4> gamma{}, beta{}, mean{}, variance{};
  for (std::size_t c = 0; c < 4; ++c) {
    gamma[c] = rng.uniform_float(0.5f, 2.0f);
    beta[c] = rng.uniform_float(-1.0f, 1.0f);
    mean[c] = rng.uniform_float(-0.5f, 0.5f);
    variance[c] = rng.uniform_float(0.5f, 2.0f);
  }
  std::array<float, 12> x{}, u{};
  for (auto& v : x)
    v = rng.uniform_float(-2.0f, 2.0f);
  for (auto& v : u)
    v = rng.uniform_float(-1.0f, 1.0f);
  const auto loss = [&](const std::array<float, 12>& input) {
    std::array<float, 12> y{};
    const BatchNormParams<4> p{gamma, beta, mean, variance};
    (void)L::forward(p, TensorView<const float, Shape<3, 4>>(input), NoQuant{},
                     TensorView<float, Shape<3, 4>>(y), {});
    float sum = 0.0f;
    for (std::size_t k = 0; k < 12; ++k)
      sum += u[k] * y[k];
    return sum;
  };
  const BatchNormParams<4> p{gamma, beta, mean, variance};
  std::array<float, 12> y{};
  (void)L::forward(p, TensorView<const float, Shape<3, 4>>(x), NoQuant{},
                   TensorView<float, Shape<3, 4>>(y), {});
  std::array<float, 12> dy = u;
  std::array<float, 12> dx{};
  std::array<float, 4> dgamma{}, dbeta{};
  GradientSinkFor<GradientPolicy::accumulate, 2, 3U> sink{};
  sink.target = {dgamma.data(), dbeta.data()};
  const ForwardRecord<L> record{TensorView<const float, Shape<3, 4>>(x),
                                NoQuant{},
                                TensorView<const float, Shape<3, 4>>(y),
                                NoQuant{},
                                {}};
  L::backward<true>(p, record, TensorView<float, Shape<3, 4>>(dy),
                    TensorView<float, Shape<3, 4>>(dx), sink);

  constexpr float eps = 1e-2f;
  const auto close = [](float analytic, float numeric) {
    return std::fabs(analytic - numeric) <= 2e-3f * std::fmax(1.0f, std::fabs(analytic));
  };
  for (std::size_t i = 0; i < 12; ++i) {
    auto plus = x, minus = x;
    plus[i] += eps;
    minus[i] -= eps;
    CHECK(close(dx[i], (loss(plus) - loss(minus)) / (2.0f * eps)));
  }
  for (std::size_t c = 0; c < 4; ++c) {
    const float g = gamma[c];
    gamma[c] = g + eps;
    const float up = loss(x);
    gamma[c] = g - eps;
    const float down = loss(x);
    gamma[c] = g;
    CHECK(close(dgamma[c], (up - down) / (2.0f * eps)));
    const float b = beta[c];
    beta[c] = b + eps;
    const float up_b = loss(x);
    beta[c] = b - eps;
    const float down_b = loss(x);
    beta[c] = b;
    CHECK(close(dbeta[c], (up_b - down_b) / (2.0f * eps)));
  }
}

TEST_CASE("BatchNorm: trains under Trainable<BatchNorm>, statistics stay frozen, persists") {
  using Model = Sequential<Input<Shape<2, 3>>, Trainable<BatchNorm>, Flatten, Trainable<Dense<2>>>;
  using L0 = Model::layer<0>;
  static_assert(TrainableLayer<L0>);
  static_assert(L0::trained_value_count == 6);  // gamma and beta of 3 channels
  static_assert(trained_value_count_v<Model> == 6 + 12 + 2);
  // Another trainable layer with the same shapes is another model.
  static_assert(io::model_signature<Model>() !=
                io::model_signature<
                    Sequential<Input<Shape<2, 3>>, BatchNorm, Flatten, Trainable<Dense<2>>>>());

  static const std::array<float, 3> gamma{1.0f, 1.0f, 1.0f};
  static const std::array<float, 3> beta{0.0f, 0.0f, 0.0f};
  static const std::array<float, 3> mean{0.5f, -0.5f, 0.0f};
  static const std::array<float, 3> variance{1.0f, 2.0f, 0.5f};
  static const BatchNormParams<3> bn{gamma, beta, mean, variance};
  static std::array<float, 12> w{};
  static const std::array<float, 2> b{};
  microtl_test::Xorshift32 rng(72);
  for (auto& v : w)
    v = rng.uniform_float(-0.5f, 0.5f);
  static const LinearParams<float, 12, 2> dense{w, b};
  static Model model(bn, dense);
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f}, arena);

  // Two classes told apart by the sign of channel 1.
  std::array<std::array<float, 6>, 8> samples{};
  for (std::size_t s = 0; s < samples.size(); ++s) {
    for (auto& v : samples[s])
      v = rng.uniform_float(-1.0f, 1.0f);
    const float sign = s % 2 == 0 ? 1.0f : -1.0f;
    samples[s][1] = sign * (1.0f + std::fabs(samples[s][1]));
    samples[s][4] = sign * (1.0f + std::fabs(samples[s][4]));
  }
  float first = 0.0f, last = 0.0f;
  for (int epoch = 0; epoch < 20; ++epoch) {
    float sum = 0.0f;
    for (std::size_t s = 0; s < samples.size(); ++s) {
      REQUIRE(trainer.step(Model::input_view(samples[s]), s % 2) == Status::ok);
      sum += trainer.last_loss();
    }
    (epoch == 0 ? first : last) = sum;
  }
  CHECK(last < 0.5f * first);
  CHECK_FALSE(model.state<0>().gamma == gamma);             // gamma trained
  CHECK(model.parameters<0>().mean.data() == mean.data());  // the statistics: referenced, frozen
  CHECK(mean == std::array<float, 3>{0.5f, -0.5f, 0.0f});

  using Store = io::ParameterStore<Model>;
  static io::RamStorage<Store::storage_bytes> flash;
  REQUIRE(Store::save(model, flash) == Status::ok);
  static Model rebooted(bn, dense);
  REQUIRE(Store::load(rebooted, flash) == Status::ok);
  CHECK(rebooted.state<0>().gamma == model.state<0>().gamma);
  CHECK(rebooted.state<0>().beta == model.state<0>().beta);
  CHECK(rebooted.state<2>().weights == model.state<2>().weights);
}

// ---------------------------------------------------------------------------------------
// Folding (layers/fold_batch_norm.hpp).
// ---------------------------------------------------------------------------------------

template <std::size_t C>
struct RandomBatchNorm {
  std::array<float, C> gamma{}, beta{}, mean{}, variance{};
  explicit RandomBatchNorm(microtl_test::Xorshift32& rng) {
    for (std::size_t c = 0; c < C; ++c) {
      gamma[c] = rng.uniform_float(0.5f, 2.0f) * (c % 2 == 0 ? 1.0f : -1.0f);
      beta[c] = rng.uniform_float(-1.0f, 1.0f);
      mean[c] = rng.uniform_float(-0.5f, 0.5f);
      variance[c] = rng.uniform_float(0.1f, 3.0f);
    }
  }
  BatchNormParams<C> params() const { return {gamma, beta, mean, variance, 1e-3f}; }
};

template <std::size_t N>
std::array<float, N> random_array(microtl_test::Xorshift32& rng, float low, float high) {
  std::array<float, N> a{};
  for (auto& v : a)
    v = rng.uniform_float(low, high);
  return a;
}

// The folded layer against the chain Linear -> BatchNorm it replaces, on random inputs.
template <class Chain, class Folded, class LinearP, class BatchNormP>
int fold_mismatches(const LinearP& linear, const BatchNormP& bn, const LinearP& folded,
                    microtl_test::Xorshift32& rng) {
  constexpr std::size_t N = Chain::input_shape::size;
  const Chain chain(linear, bn);
  const Folded one(folded);
  static typename Chain::InferenceArena chain_arena;
  static typename Folded::InferenceArena folded_arena;
  int mismatches = 0;
  for (int t = 0; t < 20; ++t) {
    const auto x = random_array<N>(rng, -1.0f, 1.0f);
    const auto a = chain.forward(typename Chain::input_view(x), chain_arena);
    const auto b = one.forward(typename Folded::input_view(x), folded_arena);
    for (std::size_t i = 0; i < Chain::output_shape::size; ++i) {
      if (std::fabs(a.values[i] - b.values[i]) > 1e-5f * std::fmax(1.0f, std::fabs(a.values[i]))) {
        ++mismatches;
      }
    }
  }
  return mismatches;
}

TEST_CASE("fold_batch_norm: the folded float layer computes Linear -> BatchNorm") {
  microtl_test::Xorshift32 rng(1410);
  SUBCASE("Conv2D (output channel leading)") {
    using Conv = Conv2D<3, Kernel<3, 3>, Padding::same>;
    using Chain = Sequential<Input<Shape<5, 5, 2>>, Conv, BatchNorm>;
    using Folded = Sequential<Input<Shape<5, 5, 2>>, Conv>;
    const auto w = random_array<54>(rng, -1.0f, 1.0f);
    const auto b = random_array<3>(rng, -0.5f, 0.5f);
    const RandomBatchNorm<3> bn(rng);
    const LinearParams<float, 54, 3> conv{w, b};
    const auto folded = fold_batch_norm<ChannelAxis::leading>(conv, bn.params());
    CHECK(fold_mismatches<Chain, Folded>(conv, bn.params(), folded.params(), rng) == 0);
  }
  SUBCASE("DepthwiseConv2D (output channel trailing)") {
    using Depthwise = DepthwiseConv2D<Kernel<3, 3>, Padding::same>;
    using Chain = Sequential<Input<Shape<4, 4, 3>>, Depthwise, BatchNorm>;
    using Folded = Sequential<Input<Shape<4, 4, 3>>, Depthwise>;
    const auto w = random_array<27>(rng, -1.0f, 1.0f);
    const auto b = random_array<3>(rng, -0.5f, 0.5f);
    const RandomBatchNorm<3> bn(rng);
    const LinearParams<float, 27, 3> dw{w, b};
    const auto folded = fold_batch_norm<ChannelAxis::trailing>(dw, bn.params());
    CHECK(fold_mismatches<Chain, Folded>(dw, bn.params(), folded.params(), rng) == 0);
  }
  SUBCASE("Dense and Conv1D") {
    using Chain = Sequential<Input<Shape<6>>, Dense<4>, BatchNorm>;
    using Folded = Sequential<Input<Shape<6>>, Dense<4>>;
    const auto w = random_array<24>(rng, -1.0f, 1.0f);
    const auto b = random_array<4>(rng, -0.5f, 0.5f);
    const RandomBatchNorm<4> bn(rng);
    const LinearParams<float, 24, 4> dense{w, b};
    const auto folded = fold_batch_norm<ChannelAxis::leading>(dense, bn.params());
    CHECK(fold_mismatches<Chain, Folded>(dense, bn.params(), folded.params(), rng) == 0);
    using Chain1 = Sequential<Input<Shape<8, 2>>, Conv1D<4, 3>, BatchNorm>;
    using Folded1 = Sequential<Input<Shape<8, 2>>, Conv1D<4, 3>>;
    const LinearParams<float, 24, 4> conv1{w, b};
    const auto folded1 = fold_batch_norm<ChannelAxis::leading>(conv1, bn.params());
    CHECK(fold_mismatches<Chain1, Folded1>(conv1, bn.params(), folded1.params(), rng) == 0);
  }
}

// In a constant expression: variance + epsilon perfect squares, so every step is exact.
//   channel 0: scale 3 / sqrt(4) = 1.5;  w' = 1.5 w;  b' = (1 - 0.5) 1.5 + 0.25 = 1
//   channel 1: scale -1 / sqrt(0.25) = -2;  w' = -2 w;  b' = (0 + 1) (-2) + 0 = -2
namespace constant {
constexpr std::array<float, 4> w{1.0f, -2.0f, 0.5f, 3.0f};  // Dense [2][2]
constexpr std::array<float, 2> b{1.0f, 0.0f};
constexpr std::array<float, 2> gamma{3.0f, -1.0f};
constexpr std::array<float, 2> beta{0.25f, 0.0f};
constexpr std::array<float, 2> mean{0.5f, -1.0f};
constexpr std::array<float, 2> variance{4.0f, 0.25f};
constexpr BatchNormParams<2> bn{gamma, beta, mean, variance, 0.0f};
constexpr auto folded = fold_batch_norm<ChannelAxis::leading>(std::span<const float, 4>(w),
                                                              std::span<const float, 2>(b), bn);
static_assert(folded.weights == std::array<float, 4>{1.5f, -3.0f, -1.0f, -6.0f});
static_assert(folded.bias == std::array<float, 2>{1.0f, -2.0f});
}  // namespace constant

TEST_CASE("fold_batch_norm: at compile time as at run time") {
  const BatchNormParams<2> bn{constant::gamma, constant::beta, constant::mean, constant::variance,
                              0.0f};
  const auto folded = fold_batch_norm<ChannelAxis::leading>(
      std::span<const float, 4>(constant::w), std::span<const float, 2>(constant::b), bn);
  CHECK(folded.weights == constant::folded.weights);
  CHECK(folded.bias == constant::folded.bias);
  // A square root that is not exact: Newton's in double, rounded, against std::sqrt.
  static constexpr std::array<float, 2> variance2{2.0f, 0.3f};
  constexpr BatchNormParams<2> bn2{constant::gamma, constant::beta, constant::mean, variance2,
                                   1e-3f};
  constexpr auto at_compile_time = fold_batch_norm<ChannelAxis::leading>(
      std::span<const float, 4>(constant::w), std::span<const float, 2>(constant::b), bn2);
  const BatchNormParams<2> bn2_runtime{constant::gamma, constant::beta, constant::mean, variance2,
                                       1e-3f};
  const auto at_run_time = fold_batch_norm<ChannelAxis::leading>(
      std::span<const float, 4>(constant::w), std::span<const float, 2>(constant::b), bn2_runtime);
  CHECK(at_compile_time.weights == at_run_time.weights);
  CHECK(at_compile_time.bias == at_run_time.bias);
}

// Fold, then quantize with the library's per-channel quantization: the same int8 layer as
// folding by hand (the formulas written out here) and quantizing that, and it runs like the
// float chain Conv2D -> BatchNorm up to quantization.
TEST_CASE("fold_batch_norm: folded then quantized equals the int8 path built by hand") {
  microtl_test::Xorshift32 rng(1411);
  const auto w = random_array<54>(rng, -1.0f, 1.0f);
  const auto b = random_array<3>(rng, -0.5f, 0.5f);
  const RandomBatchNorm<3> bn(rng);
  const LinearParams<float, 54, 3> conv{w, b};
  constexpr quant::QuantParams in_q{2.0f / 255.0f, 0};
  constexpr quant::QuantParams out_q{0.05f, 2};

  // By hand: w' = w gamma / sqrt(var + eps) per output channel (leading), b' likewise.
  std::array<float, 54> w_hand{};
  std::array<float, 3> b_hand{};
  for (std::size_t c = 0; c < 3; ++c) {
    const float scale = bn.gamma[c] / std::sqrt(bn.variance[c] + 1e-3f);
    for (std::size_t i = 0; i < 18; ++i)
      w_hand[c * 18 + i] = w[c * 18 + i] * scale;
    b_hand[c] = (b[c] - bn.mean[c]) * scale + bn.beta[c];
  }
  const auto folded = fold_batch_norm<ChannelAxis::leading>(conv, bn.params());
  static const auto from_library =
      quantize_linear<ChannelAxis::leading>(std::span<const float, 54>(folded.weights),
                                            std::span<const float, 3>(folded.bias), in_q, out_q);
  static const auto by_hand = quantize_linear<ChannelAxis::leading>(
      std::span<const float, 54>(w_hand), std::span<const float, 3>(b_hand), in_q, out_q);
  CHECK(from_library.weights == by_hand.weights);
  CHECK(from_library.bias == by_hand.bias);
  CHECK(from_library.multipliers == by_hand.multipliers);

  using Conv = Conv2D<3, Kernel<3, 3>, Padding::same>;
  using Int8 = Sequential<Input<Shape<5, 5, 2>, QInt8>, Conv>;
  using Float = Sequential<Input<Shape<5, 5, 2>>, Conv, BatchNorm>;
  static const auto library_params = from_library.params();
  static const auto hand_params = by_hand.params();
  const Int8 library_model(in_q, library_params);
  const Int8 hand_model(in_q, hand_params);
  const BatchNormParams<3> bn_params = bn.params();  // (the model keeps a pointer)
  const Float float_model(conv, bn_params);
  static Int8::InferenceArena a1, a2;
  static Float::InferenceArena a3;
  int differ = 0;
  float worst = 0.0f;
  for (int t = 0; t < 20; ++t) {
    std::array<std::int8_t, 50> x{};
    std::array<float, 50> xf{};
    for (std::size_t i = 0; i < 50; ++i) {
      x[i] = static_cast<std::int8_t>(rng.uniform_int(-127, 127));
      xf[i] = quant::dequantize(x[i], in_q);
    }
    const auto y1 = library_model.forward(Int8::input_view(x), a1);
    const auto y2 = hand_model.forward(Int8::input_view(x), a2);
    const auto yf = float_model.forward(Float::input_view(xf), a3);
    for (std::size_t i = 0; i < 75; ++i) {
      differ += y1.values[i] == y2.values[i] ? 0 : 1;
      const float real = quant::dequantize(y1.values[i], out_q);
      if (std::fabs(yf.values[i]) < 6.0f) {  // inside the int8 output's range
        worst = std::fmax(worst, std::fabs(real - yf.values[i]));
      }
    }
  }
  CHECK(differ == 0);
  CHECK(worst < 4.0f * out_q.scale);  // a few output steps: weight rounding and the output's
}

}  // namespace
