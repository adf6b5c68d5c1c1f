// Sigmoid and Tanh: float values and stability, int8 bit-exact with TFLite's reference integer
// kernels, backward by finite differences (float) and by its formula (int8), and models with
// them that train.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "layer_checks.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

template <class Spec, class S, class E = float>
using Bound = typename Spec::template bind<S, E>;

using SigmoidF = Bound<Sigmoid, Shape<3, 4>>;
using TanhF = Bound<Tanh, Shape<3, 4>>;
using Sigmoid8 = Bound<Sigmoid, Shape<256>, QInt8>;
using Tanh8 = Bound<Tanh, Shape<256>, QInt8>;

static_assert(BackwardLayer<SigmoidF> && BackwardLayer<TanhF>);
static_assert(BackwardLayer<Sigmoid8> && BackwardLayer<Tanh8>);
static_assert(std::is_same_v<SigmoidF::output_shape, Shape<3, 4>>);
static_assert(SigmoidF::placement == OutputPlacement::in_place);

template <class L, std::size_t N>
std::array<float, N> run_float(const std::array<float, N>& x) {
  std::array<float, N> y{};
  (void)microtl_test::run_layer<L>(x.data(), NoQuant{}, y.data());
  return y;
}

// Every int8 code, -128 .. 127, in order.
std::array<std::int8_t, 256> all_codes() {
  std::array<std::int8_t, 256> codes{};
  for (std::size_t i = 0; i < 256; ++i) {
    codes[i] = static_cast<std::int8_t>(static_cast<int>(i) - 128);
  }
  return codes;
}

}  // namespace

TEST_CASE("Sigmoid, Tanh float: values worked out by hand") {
  // sigmoid(0) = 1/2; sigmoid(1) = 1 / (1 + e^-1) = 1 / 1.3678794 = 0.7310586;
  // sigmoid(-2) = 1 / (1 + e^2) = 1 / 8.3890561 = 0.1192029; sigmoid(4) = 1 / 1.0183156 =
  // 0.9820138. tanh(0) = 0; tanh(0.5) = (e - 1) / (e + 1) with e = e^1 = 2.7182818: 0.4621172;
  // tanh(-1) = -(e^2 - 1) / (e^2 + 1) = -6.3890561 / 8.3890561 = -0.7615942;
  // tanh(3) = (e^6 - 1) / (e^6 + 1) = 402.42879 / 404.42879 = 0.9950548.
  std::array<float, 12> x{0.0f, 1.0f, -2.0f, 4.0f, 0.5f, -1.0f, 3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  const auto s = run_float<SigmoidF>(x);
  CHECK(s[0] == doctest::Approx(0.5).epsilon(1e-6));
  CHECK(s[1] == doctest::Approx(0.7310586).epsilon(1e-6));
  CHECK(s[2] == doctest::Approx(0.1192029).epsilon(1e-6));
  CHECK(s[3] == doctest::Approx(0.9820138).epsilon(1e-6));
  const auto t = run_float<TanhF>(x);
  CHECK(t[0] == 0.0f);
  CHECK(t[4] == doctest::Approx(0.4621172).epsilon(1e-6));
  CHECK(t[5] == doctest::Approx(-0.7615942).epsilon(1e-6));
  CHECK(t[6] == doctest::Approx(0.9950548).epsilon(1e-6));
}

TEST_CASE("Sigmoid, Tanh float: large |x| saturates without overflow or NaN") {
  constexpr float big = std::numeric_limits<float>::max();
  const std::array<float, 12> x{100.0f, -100.0f, 1000.0f, -1000.0f, big,   -big,
                                88.0f,  -88.0f,  89.0f,   -89.0f,   50.0f, -50.0f};
  const auto s = run_float<SigmoidF>(x);
  const auto t = run_float<TanhF>(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CAPTURE(x[i]);
    CHECK(std::isfinite(s[i]));
    CHECK(std::isfinite(t[i]));
    CHECK(s[i] >= 0.0f);
    CHECK(s[i] <= 1.0f);
    CHECK(t[i] == (x[i] > 0.0f ? 1.0f : -1.0f));
  }
  CHECK(s[0] == 1.0f);
  CHECK(s[1] < 1e-40f);  // e^-100 = 3.7e-44
  CHECK(s[4] == 1.0f);
  CHECK(s[5] == 0.0f);
  // The backward pass at saturation: slope 0, no NaN.
  std::array<float, 12> dy{};
  dy.fill(1.0f);
  std::array<float, 12> dx{};
  microtl_test::run_backward<SigmoidF>(x.data(), NoQuant{}, s.data(), NoQuant{}, dy.data(),
                                       dx.data());
  for (const float g : dx) {
    CHECK(std::isfinite(g));
    CHECK(g >= 0.0f);
    CHECK(g < 1e-20f);
  }
}

TEST_CASE("Sigmoid, Tanh float: backward equals finite differences") {
  CHECK(microtl_test::random_gradient_mismatches<SigmoidF>(61, -4.0f, 4.0f) == 0);
  CHECK(microtl_test::random_gradient_mismatches<TanhF>(62, -3.0f, 3.0f) == 0);
  CHECK(microtl_test::random_gradient_mismatches<Bound<Sigmoid, Shape<7>>>(63, -8.0f, 8.0f) == 0);
  CHECK(microtl_test::random_gradient_mismatches<Bound<Tanh, Shape<2, 2, 3>>>(64) == 0);
}

TEST_CASE("Sigmoid, Tanh int8: TFLite's fixed-point logistic and tanh, raw") {
  // Q4.27 in, Q0.31 out. The expected raw values come from an independent transcription of
  // gemmlowp's fixedpoint.h (logistic, tanh, exp_on_negative_values, Newton-Raphson division)
  // in Python integers; they differ from the exact functions in the last bits, as gemmlowp
  // does (logistic of 1 raw is 2^30 + 124, not 2^30 + 4).
  struct Golden {
    std::int32_t a, logistic, tanh;
  };
  constexpr std::array<Golden, 10> golden{{
      {134217728, 1569936226, 1635510876},   // 1.0
      {-134217728, 577547421, -1635510876},  // -1.0
      {201326592, 1755727730, 1943791024},   // 1.5
      {-671088640, 14372791, -2147288656},   // -5.0
      {123456789, 1535464548, 1558674772},   // 0.9198
      {-987654321, 1367271, -2147481900},    // -7.3587
      {1, 1073741948, 260},                  // 2^-27
      {-1, 1073741699, -260},                // -2^-27
      {2013265920, 2147482988, 2147483647},  // 15.0
      {0, 1073741824, 0},                    // 0: exactly 1/2 and 0
  }};
  for (const Golden& g : golden) {
    CAPTURE(g.a);
    CHECK(layers::smooth_detail::logistic_q4_27(g.a) == g.logistic);
    CHECK(layers::smooth_detail::tanh_q4_27(g.a) == g.tanh);
  }
  // TFLite's Prepare: input_scale * 2^27 as a multiplier, radius = floor(15 * 2^27 / 2^shift).
  //   the float 0.05 is 13421773 * 2^-28; * 2^27 = 6710886.5 = (13421773 / 2^24) * 2^23:
  //   shift 23, multiplier 13421773 / 2^24 * 2^31 = 13421773 * 2^7 = 1717986944 (exact);
  //   radius 15 * 2^27 / 2^23 = 240.
  //   0.0123f is 13207024 * 2^-30 (= 0.0122999996): * 2^27 = 13207024 / 8 = 1650878
  //   = (13207024 / 2^24) * 2^21: shift 21, multiplier 13207024 * 2^7 = 1690499072;
  //   radius 15 * 2^27 / 2^21 = 960.
  const layers::SmoothInputS8 p = layers::prepare_smooth_s8({0.05f, 3});
  CHECK(p.multiplier == 1717986944);
  CHECK(p.left_shift == 23);
  CHECK(p.radius == 240);
  CHECK(p.zero_point == 3);
  const layers::SmoothInputS8 q = layers::prepare_smooth_s8({0.0123f, 0});
  CHECK(q.multiplier == 1690499072);
  CHECK(q.left_shift == 21);
  CHECK(q.radius == 960);
}

TEST_CASE("Sigmoid, Tanh int8: codes worked out by hand") {
  // Input scale 1/16, zero point 0: code c is x = c / 16; Q4.27 holds it exactly
  // (multiplier 2^30, shift 24: radius 15 * 2^27 / 2^24 = 120).
  //   Sigmoid: q = round(256 sigmoid(x)) - 128         Tanh: q = round(128 tanh(x))
  //   c = 0    x = 0:      256 * 0.5 = 128 -> 0          0
  //   c = 16   x = 1:      256 * 0.7310586 = 187.151 -> 59;   128 * 0.7615942 = 97.484 -> 97
  //   c = -16  x = -1:     256 * 0.2689414 = 68.849 -> -59;   -97
  //   c = 32   x = 2:      256 * 0.8807971 = 225.484 -> 97;   128 * 0.9640276 = 123.39 -> 123
  //   c = -8   x = -0.5:   256 * 0.3775407 = 96.650 -> -31;   128 * -0.4621172 = -59.151 -> -59
  //   c = 40   x = 2.5:    256 * 0.9241418 = 236.58 -> 109;   128 * 0.9866143 = 126.29 -> 126
  //   c = 127  beyond the radius (127 >= 120): 127 and 127
  //   c = -128 beyond the radius: -128 and -128
  const quant::QuantParams in{1.0f / 16.0f, 0};
  const auto codes = all_codes();
  std::array<std::int8_t, 256> s{};
  std::array<std::int8_t, 256> t{};
  const quant::QuantParams s_quant = microtl_test::run_layer<Sigmoid8>(codes.data(), in, s.data());
  const quant::QuantParams t_quant = microtl_test::run_layer<Tanh8>(codes.data(), in, t.data());
  CHECK(s_quant.scale == 1.0f / 256.0f);
  CHECK(s_quant.zero_point == -128);
  CHECK(t_quant.scale == 1.0f / 128.0f);
  CHECK(t_quant.zero_point == 0);
  const auto at = [](const std::array<std::int8_t, 256>& y, int c) {
    return static_cast<int>(y[static_cast<std::size_t>(c + 128)]);
  };
  CHECK(at(s, 0) == 0);
  CHECK(at(t, 0) == 0);
  CHECK(at(s, 16) == 59);
  CHECK(at(t, 16) == 97);
  CHECK(at(s, -16) == -59);
  CHECK(at(t, -16) == -97);
  CHECK(at(s, 32) == 97);
  CHECK(at(t, 32) == 123);
  CHECK(at(s, -8) == -31);
  CHECK(at(t, -8) == -59);
  CHECK(at(s, 40) == 109);
  CHECK(at(t, 40) == 126);
  CHECK(at(s, 127) == 127);
  CHECK(at(t, 127) == 127);
  CHECK(at(s, -128) == -128);
  CHECK(at(t, -128) == -128);
}

TEST_CASE("Sigmoid, Tanh int8: every code is the correctly rounded function") {
  // gemmlowp's approximations are far more precise than half an output step, so every code
  // is round(256 sigmoid(x)) - 128 (round(128 tanh(x))), clamped, with x = scale (q - zp) in
  // double; a code whose exact value lies within 1e-4 of a rounding tie is skipped (none in
  // these tables).
  struct Case {
    quant::QuantParams in;
  };
  const std::array<Case, 5> cases{
      {{{0.05f, 3}}, {{0.0123f, 0}}, {{0.1f, -128}}, {{0.2f, 127}}, {{0.0371f, -10}}}};
  const auto codes = all_codes();
  int skipped = 0;
  for (const Case& c : cases) {
    std::array<std::int8_t, 256> s{};
    std::array<std::int8_t, 256> t{};
    (void)microtl_test::run_layer<Sigmoid8>(codes.data(), c.in, s.data());
    (void)microtl_test::run_layer<Tanh8>(codes.data(), c.in, t.data());
    for (std::size_t i = 0; i < 256; ++i) {
      const double x = static_cast<double>(c.in.scale) *
                       static_cast<double>(static_cast<int>(codes[i]) - c.in.zero_point);
      const double exact_s = 256.0 / (1.0 + std::exp(-x));
      const double exact_t = 128.0 * std::tanh(x);
      const auto near_tie = [](double v) { return std::fabs(v - std::floor(v) - 0.5) < 1e-4; };
      const auto rounded = [](double v, int offset) {
        const int r = static_cast<int>(std::lround(v)) + offset;
        return r < -128 ? -128 : (r > 127 ? 127 : r);
      };
      CAPTURE(c.in.scale);
      CAPTURE(c.in.zero_point);
      CAPTURE(static_cast<int>(codes[i]));
      if (near_tie(exact_s) || near_tie(exact_t)) {
        ++skipped;
        continue;
      }
      CHECK(static_cast<int>(s[i]) == rounded(exact_s, -128));
      CHECK(static_cast<int>(t[i]) == rounded(exact_t, 0));
    }
  }
  CHECK(skipped == 0);
}

TEST_CASE("Sigmoid, Tanh int8: backward in real units from the saved output") {
  // Output codes y: Sigmoid real (y + 128) / 256, Tanh real y / 128.
  //   Sigmoid: code 0 -> 0.5, slope 0.25; code 64 -> 0.75, slope 0.1875; code -128 -> 0, slope 0
  //   Tanh:    code 0 -> 0, slope 1; code 64 -> 0.5, slope 0.75; code -128 -> -1, slope 0
  using S8 = Bound<Sigmoid, Shape<3>, QInt8>;
  using T8 = Bound<Tanh, Shape<3>, QInt8>;
  const std::array<std::int8_t, 3> x{0, 0, 0};  // not read
  const std::array<std::int8_t, 3> y{0, 64, -128};
  std::array<float, 3> dy{2.0f, 2.0f, 2.0f};
  std::array<float, 3> dx{};
  microtl_test::run_backward<S8>(x.data(), {0.1f, 0}, y.data(), S8::int8_output, dy.data(),
                                 dx.data());
  CHECK(dx[0] == 0.5f);
  CHECK(dx[1] == 0.375f);
  CHECK(dx[2] == 0.0f);
  dy = {2.0f, 2.0f, 2.0f};
  microtl_test::run_backward<T8>(x.data(), {0.1f, 0}, y.data(), T8::int8_output, dy.data(),
                                 dx.data());
  CHECK(dx[0] == 2.0f);
  CHECK(dx[1] == 1.5f);
  CHECK(dx[2] == 0.0f);
}

TEST_CASE("Sigmoid, Tanh int8 in a Sequential: the fixed output quantization flows on") {
  using Model = Sequential<Input<Shape<4>, QInt8>, Sigmoid, Dequantize>;
  static_assert(Model::layer_count == 2);
  static const Model model(quant::QuantParams{1.0f / 16.0f, 0});
  static Model::InferenceArena arena;
  const std::array<std::int8_t, 4> x{0, 16, -16, 127};
  const auto out = model.forward(Model::input_view(x), arena);
  // Codes 0, 59, -59, 127 (see above), read back with scale 1/256, zero point -128.
  CHECK(out.values[0] == 0.5f);
  CHECK(out.values[1] == 187.0f / 256.0f);
  CHECK(out.values[2] == 69.0f / 256.0f);
  CHECK(out.values[3] == 255.0f / 256.0f);

  using TanhModel = Sequential<Input<Shape<4>, QInt8>, Tanh, Dequantize>;
  static const TanhModel tanh_model(quant::QuantParams{1.0f / 16.0f, 0});
  static TanhModel::InferenceArena tanh_arena;
  const auto t = tanh_model.forward(TanhModel::input_view(x), tanh_arena);
  CHECK(t.values[0] == 0.0f);
  CHECK(t.values[1] == 97.0f / 128.0f);
  CHECK(t.values[2] == -97.0f / 128.0f);
  CHECK(t.values[3] == 127.0f / 128.0f);
}

namespace {

// XOR of two inputs in {-1, 1}: class 1 when they differ. Not linearly separable: the hidden
// Sigmoid / Tanh units must learn.
template <class Model>
float xor_epoch_loss_after(Model& model, int epochs, float learning_rate) {
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static typename T::TrainingArena arena;
  T trainer(model, SGD{learning_rate, 0.0f}, arena);
  const std::array<std::array<float, 2>, 4> inputs{{{-1, -1}, {-1, 1}, {1, -1}, {1, 1}}};
  const std::array<std::size_t, 4> labels{0, 1, 1, 0};
  float loss = 0.0f;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    loss = 0.0f;
    for (std::size_t i = 0; i < 4; ++i) {
      REQUIRE(trainer.step(typename Model::input_view(inputs[i]), labels[i]) == Status::ok);
      loss += trainer.last_loss();
    }
  }
  return loss / 4.0f;
}

template <class Model>
int xor_correct(const Model& model) {
  static typename Model::InferenceArena arena;
  const std::array<std::array<float, 2>, 4> inputs{{{-1, -1}, {-1, 1}, {1, -1}, {1, 1}}};
  const std::array<std::size_t, 4> labels{0, 1, 1, 0};
  int correct = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto out = model.forward(typename Model::input_view(inputs[i]), arena);
    const std::size_t predicted = out.values[1] > out.values[0] ? 1 : 0;
    correct += predicted == labels[i] ? 1 : 0;
  }
  return correct;
}

template <class Model>
void check_learns_xor(std::uint32_t seed, float learning_rate) {
  microtl_test::Xorshift32 rng(seed);
  static auto w1 = microtl_test::random_floats<16>(rng, -1.0f, 1.0f);
  static auto b1 = microtl_test::random_floats<8>(rng, -0.1f, 0.1f);
  static auto w2 = microtl_test::random_floats<16>(rng, -1.0f, 1.0f);
  static std::array<float, 2> b2{};
  static const LinearParams<float, 16, 8> p1{w1, b1};
  static const LinearParams<float, 16, 2> p2{w2, b2};
  static Model model(p1, p2);
  const float first = xor_epoch_loss_after(model, 1, learning_rate);
  const float last = xor_epoch_loss_after(model, 300, learning_rate);
  CAPTURE(first);
  CAPTURE(last);
  CHECK(last < 0.25f * first);
  CHECK(xor_correct(model) == 4);
}

}  // namespace

TEST_CASE("Sigmoid, Tanh: a model with them learns XOR") {
  using TanhNet = Sequential<Input<Shape<2>>, Trainable<Dense<8>>, Tanh, Trainable<Dense<2>>>;
  using SigmoidNet = Sequential<Input<Shape<2>>, Trainable<Dense<8>>, Sigmoid, Trainable<Dense<2>>>;
  static_assert(TanhNet::layer_count == 3);
  check_learns_xor<TanhNet>(71, 0.1f);
  check_learns_xor<SigmoidNet>(72, 0.5f);
}
