// Residual<...> (graph/residual.hpp) and TFLite's int8 ADD (kernels/portable/add.hpp): the add
// bit-exact against a reference written here from TFLite's published formulas, models with a
// residual block against values worked out by hand, the memory the block plans, the block's
// backward pass against finite differences, and the block inside a Trainer.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../support/random.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

// ---------------------------------------------------------------------------------------
// The reference int8 ADD: TFLite's Prepare (add.cc) and reference_integer_ops::Add, written
// from the formulas with int64 arithmetic and explicit rounding, independently of quant/.
// ---------------------------------------------------------------------------------------
namespace ref {

struct Multiplier {
  std::int64_t q;  // Q0.31
  int shift;
};

// QuantizeMultiplier: real = q / 2^31 * 2^shift, q = round(fraction * 2^31).
Multiplier quantize(double real) {
  if (real == 0.0) {
    return {0, 0};
  }
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);
  auto q = static_cast<std::int64_t>(std::round(std::ldexp(fraction, 31)));
  if (q == (std::int64_t{1} << 31)) {
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) {
    return {0, 0};
  }
  return {q, exponent};
}

// SaturatingRoundingDoublingHighMul for the operands an add produces: round(a q / 2^31) with
// ties toward +infinity, i.e. floor((a q + 2^30) / 2^31), as a floor division.
std::int64_t high_mul(std::int64_t a, std::int64_t q) {
  const std::int64_t numerator = a * q + (std::int64_t{1} << 30);
  const std::int64_t denominator = std::int64_t{1} << 31;
  std::int64_t quotient = numerator / denominator;
  if (numerator % denominator != 0 && numerator < 0) {
    --quotient;
  }
  return quotient;
}

// RoundingDivideByPOT: x / 2^e rounded half away from zero, on the magnitude.
std::int64_t divide_pot(std::int64_t x, int e) {
  const std::int64_t d = std::int64_t{1} << e;
  const std::int64_t magnitude = x < 0 ? -x : x;
  const std::int64_t rounded = (magnitude + d / 2) / d;
  return x < 0 ? -rounded : rounded;
}

// MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0).
std::int64_t scale_down(std::int64_t x, Multiplier m) {
  REQUIRE(m.shift <= 0);
  return divide_pot(high_mul(x, m.q), -m.shift);
}

struct Range {
  std::int64_t low;
  std::int64_t high;
};

// CalculateActivationRangeQuantized: relu from the zero point, relu6 up to quantize(6).
Range clamp_range(quant::Activation a, quant::QuantParams out) {
  Range r{-128, 127};
  if (a != quant::Activation::none) {
    r.low = std::max<std::int64_t>(r.low, out.zero_point);
  }
  if (a == quant::Activation::relu6) {
    r.high = std::min<std::int64_t>(
        r.high, out.zero_point + static_cast<std::int64_t>(std::round(6.0f / out.scale)));
  }
  return r;
}

struct Add {
  Multiplier m1, m2, out;
  std::int64_t zp1, zp2, zp_out;
  Range range;

  Add(quant::QuantParams p1, quant::QuantParams p2, quant::QuantParams po, quant::Activation a)
      : m1{},
        m2{},
        out{},
        zp1(p1.zero_point),
        zp2(p2.zero_point),
        zp_out(po.zero_point),
        range(clamp_range(a, po)) {
    const double twice_max =
        2.0 * std::max(static_cast<double>(p1.scale), static_cast<double>(p2.scale));
    m1 = quantize(static_cast<double>(p1.scale) / twice_max);
    m2 = quantize(static_cast<double>(p2.scale) / twice_max);
    out = quantize(twice_max / (1048576.0 * static_cast<double>(po.scale)));
  }
  bool supported() const { return m1.shift <= 0 && m2.shift <= 0 && out.shift <= 0; }

  std::int8_t operator()(std::int8_t q1, std::int8_t q2) const {
    const std::int64_t a1 = (q1 - zp1) * 1048576;  // * 2^20
    const std::int64_t a2 = (q2 - zp2) * 1048576;
    const std::int64_t sum = scale_down(a1, m1) + scale_down(a2, m2);
    std::int64_t y = scale_down(sum, out) + zp_out;
    y = y < range.low ? range.low : (y > range.high ? range.high : y);
    return static_cast<std::int8_t>(y);
  }
};

}  // namespace ref

// A scale of random mantissa in [1, 2) times 2^exponent.
float random_scale(microtl_test::Xorshift32& rng, int low_exponent, int high_exponent) {
  const int e = rng.uniform_int(low_exponent, high_exponent);
  return std::ldexp(rng.uniform_float(1.0f, 2.0f), e);
}

std::int8_t random_code(microtl_test::Xorshift32& rng) {
  return static_cast<std::int8_t>(rng.uniform_int(-128, 127));
}

// ---------------------------------------------------------------------------------------
// The int8 add against the reference.
// ---------------------------------------------------------------------------------------
TEST_CASE("add_s8: bit-exact with TFLite's int8 ADD on random scales, codes and activations") {
  constexpr std::size_t n = 32;
  microtl_test::Xorshift32 rng(1401);
  constexpr std::array<quant::Activation, 3> activations{
      quant::Activation::none, quant::Activation::relu, quant::Activation::relu6};
  int cases = 0;
  int mismatches = 0;
  int saturated = 0;
  for (int t = 0; t < 4000; ++t) {
    quant::QuantParams p1{random_scale(rng, -24, 6), rng.uniform_int(-128, 127)};
    quant::QuantParams p2{random_scale(rng, -24, 6), rng.uniform_int(-128, 127)};
    switch (t % 8) {
      case 0:  // equal scales: every input multiplier is exactly 1/2
        p2.scale = p1.scale;
        break;
      case 1:  // one input far below the other (its multiplier underflows to 0)
        p2.scale = std::ldexp(p1.scale, -rng.uniform_int(20, 40));
        break;
      case 2:  // scales that are exact powers of two: real ties in the rounding
        p1.scale = std::ldexp(1.0f, rng.uniform_int(-20, 4));
        p2.scale = std::ldexp(1.0f, rng.uniform_int(-20, 4));
        break;
      default:
        break;
    }
    const float larger = std::max(p1.scale, p2.scale);
    // Output scales from just above TFLite's lower limit 2 max / 2^20 (almost every sum
    // saturates) to far above the inputs (the sum rounds to a few codes).
    quant::QuantParams po{
        std::ldexp(larger * rng.uniform_float(1.0f, 2.0f), rng.uniform_int(-18, 8)),
        rng.uniform_int(-128, 127)};
    if (t % 16 == 3) {  // the power-of-two limit itself: output multiplier exactly 1/2
      po.scale = std::ldexp(larger, -18);
    }
    const quant::Activation act = activations[static_cast<std::size_t>(t) % 3];
    const ref::Add reference(p1, p2, po, act);
    const kernels::AddParamsS8 params = kernels::prepare_add_s8(p1, p2, po, act);
    REQUIRE(kernels::add_scales_supported(params) == reference.supported());
    if (!reference.supported()) {
      continue;
    }
    std::array<std::int8_t, n> a{}, b{}, y{};
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = random_code(rng);
      b[i] = random_code(rng);
    }
    a[0] = -128;  // the corners of the code range
    b[0] = -128;
    a[1] = 127;
    b[1] = 127;
    a[2] = -128;
    b[2] = 127;
    kernels::add_s8<n>(a, b, y, params);
    for (std::size_t i = 0; i < n; ++i) {
      const std::int8_t expected = reference(a[i], b[i]);
      ++cases;
      if (expected == -128 || expected == 127) {
        ++saturated;
      }
      if (y[i] != expected) {
        ++mismatches;
        if (mismatches < 5) {
          MESSAGE("scales " << p1.scale << " " << p2.scale << " " << po.scale << " codes "
                            << int{a[i]} << " " << int{b[i]} << ": " << int{y[i]} << " vs "
                            << int{expected});
        }
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(cases > 100000);
  CHECK(saturated > 10000);  // saturation is exercised, not just the middle of the range
}

// Output multipliers of 1 and more are refused by TFLite's Prepare, and flagged here.
TEST_CASE("add_s8: scales TFLite refuses are flagged") {
  const quant::QuantParams in{1.0f, 0};
  CHECK(kernels::add_scales_supported(kernels::prepare_add_s8(in, in, {1.0f, 0}, {})));
  CHECK_FALSE(kernels::add_scales_supported(
      kernels::prepare_add_s8(in, in, {std::ldexp(1.0f, -19), 0}, {})));  // multiplier 1
  CHECK_FALSE(kernels::add_scales_supported(
      kernels::prepare_add_s8(in, in, {std::ldexp(1.0f, -22), 0}, {})));
}

// ---------------------------------------------------------------------------------------
// Models with a residual block, against values worked out by hand.
// ---------------------------------------------------------------------------------------

// F = Dense(W = [[1, -1], [0.5, 0]], b = [0.25, -3]), then ReLU after the block, then
// Dense([4, 8], 1):
//   x = [1, 2]:  F(x) = [1 - 2 + 0.25, 0.5 - 3] = [-0.75, -2.5]
//                x + F(x) = [0.25, -0.5] -> ReLU [0.25, 0] -> 4 * 0.25 + 8 * 0 + 1 = 2
// Every step is exact in float.
TEST_CASE("Residual: a float model with a residual block, hand-worked") {
  using Model = Sequential<Input<Shape<2>>, Residual<Dense<2>>, ReLU, Dense<1>>;
  static_assert(Model::layer_count == 2);  // the ReLU fuses into the block's add
  static_assert(Model::layer<0>::activation == quant::Activation::relu);
  static const std::array<float, 4> w{1.0f, -1.0f, 0.5f, 0.0f};
  static const std::array<float, 2> b{0.25f, -3.0f};
  static const std::array<float, 2> w2{4.0f, 8.0f};
  static const std::array<float, 1> b2{1.0f};
  static const LinearParams<float, 4, 2> inner{w, b};
  static const LinearParams<float, 2, 1> head{w2, b2};
  static constexpr auto block = residual_params(inner);
  static const Model model(block, head);
  static Model::InferenceArena arena;
  const std::array<float, 2> x{1.0f, 2.0f};
  std::array<float, 2> after_block{};
  const auto out = model.forward(Model::input_view(x), arena, [&](auto i, auto y, auto) {
    if constexpr (decltype(i)::value == 0) {
      after_block = {y[0], y[1]};
    }
  });
  CHECK(after_block[0] == 0.25f);
  CHECK(after_block[1] == 0.0f);
  CHECK(out.values[0] == 2.0f);

  // Without the ReLU the add's negative half stays: [0.25, -0.5] -> 1 - 4 + 1 = -2.
  using Plain = Sequential<Input<Shape<2>>, Residual<Dense<2>>, Dense<1>>;
  static const Plain plain(block, head);
  static Plain::InferenceArena plain_arena;
  CHECK(plain.forward(Plain::input_view(x), plain_arena).values[0] == -2.0f);
}

// int8, x with scale 1/2 and zero point 0, F = ReLU (same quantization), add output scale 1/4
// and zero point -10. TFLite's add: twice_max = 1, input multipliers 1/2 (2^30, shift 0),
// output multiplier 1 / (2^20 / 4) = 2^-18 (2^30, shift -17):
//   x = 4:   a = 4 * 2^20 for both -> 2 * 2^20 each -> sum 2^22 -> 2^21 / 2^17 = 16 -> 6
//   x = -6:  a = -6 * 2^20 -> -3 * 2^20; F = 0 -> 0; sum -3 * 2^20 -> -3 * 2^19 / 2^17 = -12
//            -> -22
//   x = 0:   0 -> -10
// (reals: (2 + 2) / 0.25 = 16, -3 / 0.25 = -12, 0). A ReLU after the block clamps at the
// output zero point -10.
TEST_CASE("Residual: an int8 model with a residual block, hand-worked") {
  using Model = Sequential<Input<Shape<3>, QInt8>, Residual<ReLU>>;
  static constexpr auto block = residual_params_int8(quant::QuantParams{0.25f, -10});
  static const Model model(quant::QuantParams{0.5f, 0}, block);
  static Model::InferenceArena arena;
  const std::array<std::int8_t, 3> x{4, -6, 0};
  const auto out = model.forward(Model::input_view(x), arena);
  CHECK(out.values[0] == 6);
  CHECK(out.values[1] == -22);
  CHECK(out.values[2] == -10);
  CHECK(out.quant.scale == 0.25f);
  CHECK(out.quant.zero_point == -10);

  using Fused = Sequential<Input<Shape<3>, QInt8>, Residual<ReLU>, ReLU>;
  static_assert(Fused::layer_count == 1);
  static const Fused fused(quant::QuantParams{0.5f, 0}, block);
  static Fused::InferenceArena fused_arena;
  const auto clamped = fused.forward(Fused::input_view(x), fused_arena);
  CHECK(clamped.values[0] == 6);
  CHECK(clamped.values[1] == -10);
  CHECK(clamped.values[2] == -10);
}

// F may change element types inside: float in, int8 in the middle, float out.
//   x = [0.5, -0.3, 0.04, 20], scale 0.1:  codes [5, -3, 0, 127 (clamped)] -> ReLU [5, 0, 0, 127]
//   -> [0.5, 0, 0, 12.7];  y = x + F(x) = [1, -0.3, 0.04, 32.7]
TEST_CASE("Residual: a float block with int8 layers inside") {
  using Model = Sequential<Input<Shape<4>>, Residual<Quantize, ReLU, Dequantize>>;
  static_assert(Model::layer<0>::int8_inside);
  static constexpr quant::QuantParams q{0.1f, 0};
  static constexpr auto block = residual_params(q);
  static const Model model(block);
  static Model::InferenceArena arena;
  const std::array<float, 4> x{0.5f, -0.3f, 0.04f, 20.0f};
  const auto y = model.forward(Model::input_view(x), arena);
  const std::array<float, 4> expected{1.0f, -0.3f, 0.04f, 32.7f};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(std::fabs(y.values[i] - expected[i]) < 1e-5f);
  }
}

// An int8 block around a quantized Dense: the same as running the Dense as a model of its
// own, then the reference add of its input and output.
TEST_CASE("Residual: int8 block around a Dense equals the Dense, then the reference add") {
  constexpr quant::QuantParams in_q{0.05f, 3};
  constexpr quant::QuantParams dense_q{0.08f, -7};
  constexpr quant::QuantParams add_q{0.11f, 5};
  microtl_test::Xorshift32 rng(1402);
  std::array<float, 16> wf{};
  std::array<float, 4> bf{};
  for (auto& v : wf)
    v = rng.uniform_float(-1.0f, 1.0f);
  for (auto& v : bf)
    v = rng.uniform_float(-0.5f, 0.5f);
  static const auto quantized = quantize_linear<ChannelAxis::leading>(
      std::span<const float, 16>(wf), std::span<const float, 4>(bf), in_q, dense_q);
  static const auto dense = quantized.params();
  static const auto block = residual_params_int8(add_q, dense);

  using Model = Sequential<Input<Shape<4>, QInt8>, Residual<Dense<4>>>;
  using DenseOnly = Sequential<Input<Shape<4>, QInt8>, Dense<4>>;
  static const Model model(in_q, block);
  static const DenseOnly dense_only(in_q, dense);
  static Model::InferenceArena arena;
  static DenseOnly::InferenceArena dense_arena;
  const ref::Add reference(in_q, dense_q, add_q, quant::Activation::none);
  int mismatches = 0;
  for (int t = 0; t < 500; ++t) {
    std::array<std::int8_t, 4> x{};
    for (auto& v : x)
      v = random_code(rng);
    const auto f = dense_only.forward(DenseOnly::input_view(x), dense_arena);
    REQUIRE(f.quant.scale == dense_q.scale);
    const auto y = model.forward(Model::input_view(x), arena);
    for (std::size_t i = 0; i < 4; ++i) {
      mismatches += y.values[i] == reference(x[i], f.values[i]) ? 0 : 1;
    }
  }
  CHECK(mismatches == 0);
}

// ---------------------------------------------------------------------------------------
// Memory: F runs in the block's scratch (graph/residual.hpp states the formula).
// ---------------------------------------------------------------------------------------
constexpr std::size_t al(std::size_t bytes) {
  return align_up(bytes, MICROTL_ALIGNMENT);
}

TEST_CASE("Residual: the block's scratch is F's inference arena, its input kept alive") {
  // Dense block on 2 floats: F = one Dense, input external: scratch = align(8).
  using Small = Sequential<Input<Shape<2>>, Residual<Dense<2>>, ReLU, Dense<1>>;
  static_assert(Small::layer<0>::scratch_bytes == al(8));
  // The block: its scratch and output (the model's input is the caller's); the head: its
  // input and output.
  static_assert(Small::inference_arena_bytes == std::max(al(8) + al(8), al(8) + al(4)));

  // F = Conv2D (same) -> ReLU (fused) -> Conv2D on 4x4x2 floats (128 bytes each):
  //   conv 1: input external + its scratch + output 128
  //   conv 2: input 128 + its scratch + output 128       -> scratch: the larger
  // The model: block (input external) scratch + 128; Flatten a view; Dense<2> 128 + 8.
  using Block = Residual<Conv2D<2, Kernel<3, 3>, Padding::same>, ReLU,
                         Conv2D<2, Kernel<3, 3>, Padding::same>>;
  using Conv = Sequential<Input<Shape<4, 4, 2>>, Block, Flatten, Dense<2>>;
  using B = Conv::layer<0>;
  static_assert(B::inner_count == 2);
  constexpr std::size_t s0 = al(B::inner<0>::scratch_bytes);
  constexpr std::size_t s1 = al(B::inner<1>::scratch_bytes);
  static_assert(B::scratch_bytes == std::max(s0 + al(128), al(128) + s1 + al(128)));
  static_assert(Conv::inference_arena_bytes ==
                std::max(al(B::scratch_bytes) + al(128), al(128) + al(8)));
  CHECK(B::scratch_bytes >= 2 * al(128));
}

// ---------------------------------------------------------------------------------------
// Backward: dL/dx against central differences of L = sum_k u_k y_k.
// ---------------------------------------------------------------------------------------
template <class L>
struct BlockRun {
  using S = typename L::input_shape;
  static constexpr std::size_t n = S::size;
  alignas(MICROTL_ALIGNMENT) std::byte scratch[L::scratch_bytes + 1]{};
  alignas(MICROTL_ALIGNMENT) std::byte saved[L::backward_saved_bytes + 1]{};

  void forward(const typename L::Params& p, const float* x, float* y) {
    (void)L::forward(p, TensorView<const float, S>::unchecked(x), NoQuant{},
                     TensorView<float, S>::unchecked(y),
                     std::span<std::byte>(scratch, L::scratch_bytes));
  }

  int gradient_mismatches(const typename L::Params& p, std::uint32_t seed) {
    microtl_test::Xorshift32 rng(seed);
    const auto x = microtl_test::random_floats<n>(rng, -1.0f, 1.0f);
    const auto u = microtl_test::random_floats<n>(rng, -1.0f, 1.0f);
    const auto loss = [&](const std::array<float, n>& input) {
      std::array<float, n> y{};
      forward(p, input.data(), y.data());
      float sum = 0.0f;
      for (std::size_t k = 0; k < n; ++k)
        sum += u[k] * y[k];
      return sum;
    };
    std::array<float, n> y{};
    forward(p, x.data(), y.data());
    const ForwardRecord<L> record{TensorView<const float, S>(x), NoQuant{},
                                  TensorView<const float, S>(y), NoQuant{},
                                  std::span<std::byte>(saved, L::backward_saved_bytes)};
    L::save_for_backward(p, record);
    std::array<float, n> dy = u;
    std::array<float, n> dx{};
    L::template backward<true>(p, record, TensorView<float, S>(dy), TensorView<float, S>(dx),
                               NoGradients{});
    constexpr float eps = 1e-2f;
    int mismatches = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto plus = x, minus = x;
      plus[i] += eps;
      minus[i] -= eps;
      const float numeric = (loss(plus) - loss(minus)) / (2.0f * eps);
      if (std::fabs(dx[i] - numeric) > 2e-3f * std::fmax(1.0f, std::fabs(dx[i]))) {
        ++mismatches;
        MESSAGE("dx[" << i << "] analytic " << dx[i] << " numeric " << numeric);
      }
    }
    return mismatches;
  }
};

template <std::size_t W, std::size_t C>
struct RandomLinear {
  std::array<float, W> w{};
  std::array<float, C> b{};
  explicit RandomLinear(microtl_test::Xorshift32& rng) {
    for (auto& v : w)
      v = rng.uniform_float(-0.8f, 0.8f);
    for (auto& v : b)
      v = rng.uniform_float(-0.3f, 0.3f);
  }
  LinearParams<float, W, C> params() const { return {w, b}; }
};

TEST_CASE("Residual: float backward against finite differences") {
  microtl_test::Xorshift32 rng(1403);
  SUBCASE("Dense, Tanh, Dense") {
    using L = Residual<Dense<5>, Tanh, Dense<5>>::bind<Shape<5>, float>;
    const RandomLinear<25, 5> d1(rng), d2(rng);
    const auto p1 = d1.params();
    const auto p2 = d2.params();
    const auto p = residual_params(p1, p2);
    static BlockRun<L> run;
    CHECK(run.gradient_mismatches(p, 11) == 0);
    CHECK(run.gradient_mismatches(p, 12) == 0);
  }
  SUBCASE("Dense with a fused ReLU inside, ReLU fused into the add") {
    using L = Residual<Dense<6>, ReLU, Dense<6>>::bind<Shape<6>, float, quant::Activation::relu>;
    const RandomLinear<36, 6> d1(rng), d2(rng);
    const auto p1 = d1.params();
    const auto p2 = d2.params();
    const auto p = residual_params(p1, p2);
    static BlockRun<L> run;
    CHECK(run.gradient_mismatches(p, 21) == 0);
    CHECK(run.gradient_mismatches(p, 22) == 0);
  }
  SUBCASE("views inside: Flatten, Dense, Reshape") {
    using L = Residual<Flatten, Dense<6>, Sigmoid, Reshape<Shape<2, 3>>>::bind<Shape<2, 3>, float>;
    const RandomLinear<36, 6> d1(rng);
    const auto p1 = d1.params();
    const auto p = residual_params(p1);
    static BlockRun<L> run;
    CHECK(run.gradient_mismatches(p, 31) == 0);
  }
  SUBCASE("convolutions inside (kernel scratch, two slots)") {
    using L = Residual<Conv2D<2, Kernel<3, 3>, Padding::same>, Tanh,
                       Conv2D<2, Kernel<3, 3>, Padding::same>>::bind<Shape<3, 3, 2>, float>;
    const RandomLinear<36, 2> c1(rng), c2(rng);
    const auto p1 = c1.params();
    const auto p2 = c2.params();
    const auto p = residual_params(p1, p2);
    static BlockRun<L> run;
    CHECK(run.gradient_mismatches(p, 41) == 0);
  }
}

// int8 block: g passes where the output code is not clamped; F = ReLU passes it where x is
// above its zero point: dx = g (1 + [x > zp]).
TEST_CASE("Residual: int8 backward in real units") {
  using L = Residual<ReLU>::bind<Shape<4>, QInt8>;
  const auto p = residual_params_int8(quant::QuantParams{0.25f, 0});
  const quant::QuantParams xq{0.5f, 0};
  const std::array<std::int8_t, 4> x{4, -6, 100, 1};  // 100: 2 * 50 / 0.25 = 400 saturates
  std::array<std::int8_t, 4> y{};
  alignas(MICROTL_ALIGNMENT) static std::byte scratch[L::scratch_bytes + 1];
  alignas(MICROTL_ALIGNMENT) static std::byte saved[L::backward_saved_bytes + 1];
  const quant::QuantParams yq = L::forward(p, TensorView<const std::int8_t, Shape<4>>(x), xq,
                                           TensorView<std::int8_t, Shape<4>>(y),
                                           std::span<std::byte>(scratch, L::scratch_bytes));
  CHECK(y[2] == 127);
  const ForwardRecord<L> record{TensorView<const std::int8_t, Shape<4>>(x), xq,
                                TensorView<const std::int8_t, Shape<4>>(y), yq,
                                std::span<std::byte>(saved, L::backward_saved_bytes)};
  L::save_for_backward(p, record);
  std::array<float, 4> dy{1.0f, 1.0f, 1.0f, 0.5f};
  std::array<float, 4> dx{};
  L::backward<true>(p, record, TensorView<float, Shape<4>>(dy), TensorView<float, Shape<4>>(dx),
                    NoGradients{});
  CHECK(dx[0] == 2.0f);
  CHECK(dx[1] == 1.0f);
  CHECK(dx[2] == 0.0f);  // the add saturated
  CHECK(dx[3] == 1.0f);
}

// ---------------------------------------------------------------------------------------
// In a Trainer.
// ---------------------------------------------------------------------------------------

float cross_entropy(const float* logits, std::size_t label) {
  const float m = std::fmax(logits[0], logits[1]);
  const float sum = std::exp(logits[0] - m) + std::exp(logits[1] - m);
  return std::log(sum) - (logits[label] - m);
}

// One SGD step of a Trainable Dense before a frozen Residual: the step equals -lr times the
// gradient of the whole model's loss, measured by central differences through forward().
TEST_CASE("Residual: a trainable layer before a frozen block gets the model's gradient") {
  // F widens to 8 inside: its scratch (32 + 32 + 16 bytes) exceeds the gradients.
  using Model = Sequential<Input<Shape<3>>, Trainable<Dense<3>>, Residual<Dense<8>, Tanh, Dense<3>>,
                           Dense<2>>;
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static_assert(T::first_trainable == 0);
  // The block's scratch in the training arena's shared region (free during the forward pass).
  static_assert(T::plan.region_bytes == al(Model::layer<1>::scratch_bytes));
  static_assert(T::plan.region_bytes > T::plan.gradient_bytes);
  static_assert(T::training_arena_bytes >= T::plan.shared_offset + T::plan.region_bytes);
  microtl_test::Xorshift32 rng(1404);
  static const RandomLinear<9, 3> head(rng);
  static const RandomLinear<24, 8> f1(rng);
  static const RandomLinear<24, 3> f2(rng);
  static const RandomLinear<6, 2> tail(rng);
  static const auto head_p = head.params();
  static const auto f1_p = f1.params();
  static const auto f2_p = f2.params();
  static const auto tail_p = tail.params();
  static const auto block = residual_params(f1_p, f2_p);
  static Model model(head_p, block, tail_p);
  constexpr float lr = 0.05f;
  static T::TrainingArena arena;
  T trainer(model, SGD{lr}, arena);
  const std::array<float, 3> x{0.7f, -0.4f, 0.9f};
  constexpr std::size_t label = 1;

  const auto loss_with = [&](const std::array<float, 9>& w) {
    const LinearParams<float, 9, 3> p{w, head.b};
    const Model probe(p, block, tail_p);
    static Model::InferenceArena probe_arena;
    const auto out = probe.forward(Model::input_view(x), probe_arena);
    return cross_entropy(out.values.data(), label);
  };
  REQUIRE(trainer.step(Model::input_view(x), label) == Status::ok);
  CHECK(std::fabs(trainer.last_loss() - loss_with(head.w)) < 1e-5f);
  constexpr float eps = 1e-2f;
  int mismatches = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    auto plus = head.w, minus = head.w;
    plus[i] += eps;
    minus[i] -= eps;
    const float numeric = (loss_with(plus) - loss_with(minus)) / (2.0f * eps);
    const float applied = (head.w[i] - model.state<0>().weights[i]) / lr;
    if (std::fabs(applied - numeric) > 2e-3f * std::fmax(1.0f, std::fabs(numeric))) {
      ++mismatches;
      MESSAGE("w[" << i << "] step/lr " << applied << " numeric " << numeric);
    }
  }
  CHECK(mismatches == 0);
}

// Two classes told apart by the sign of x0 - x2; layers on both sides of a frozen block train.
template <class Model, class... P>
void learns(const P&... params) {
  static Model model(params...);
  using T = Trainer<Model, SoftmaxCrossEntropy, Adam>;
  static typename T::TrainingArena arena;
  T trainer(model, Adam{0.02f}, arena);
  microtl_test::Xorshift32 rng(1405);
  std::array<std::array<float, 4>, 16> samples{};
  for (auto& s : samples)
    for (auto& v : s)
      v = rng.uniform_float(-1.0f, 1.0f);
  float first = 0.0f, last = 0.0f;
  for (int epoch = 0; epoch < 30; ++epoch) {
    float sum = 0.0f;
    for (const auto& s : samples) {
      const std::size_t label = s[0] > s[2] ? 1 : 0;
      REQUIRE(trainer.step(typename Model::input_view(s), label) == Status::ok);
      sum += trainer.last_loss();
    }
    (epoch == 0 ? first : last) = sum;
  }
  CHECK(last < 0.5f * first);
}

TEST_CASE("Residual: a frozen block between trained layers; a block before them") {
  microtl_test::Xorshift32 rng(1406);
  static const RandomLinear<16, 4> a(rng), f1(rng), f2(rng);
  static const RandomLinear<8, 2> b(rng);
  static const auto a_p = a.params();
  static const auto f1_p = f1.params();
  static const auto f2_p = f2.params();
  static const auto b_p = b.params();
  static const auto block = residual_params(f1_p, f2_p);
  SUBCASE("between") {
    learns<Sequential<Input<Shape<4>>, Trainable<Dense<4>>, Residual<Dense<4>, ReLU, Dense<4>>,
                      ReLU, Trainable<Dense<2>>>>(a_p, block, b_p);
  }
  SUBCASE("in the frozen prefix") {
    learns<Sequential<Input<Shape<4>>, Residual<Dense<4>, ReLU, Dense<4>>, Trainable<Dense<2>>>>(
        block, b_p);
  }
}

// An int8 block in the trained part, after an int8 BiasOnly Dense: one SGD step moves the
// bias by -lr times the gradient worked out here by the chain rule from the forward values
// (real units; gradients pass where codes are not clamped):
//   g_z = softmax(z) - onehot            g_h = W2^T g_z                (frozen float head)
//   g   = g_h [-128 < r < 127]           the block's add, r its output codes
//   dx  = g + g [zp_d < d < 127]         skip + F = ReLU on the Dense's output codes d
//   db  = dx [-128 < d < 127]            the BiasOnly Dense's output stage
TEST_CASE("Residual: an int8 block passes gradients to an int8 BiasOnly layer before it") {
  using Model =
      Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<4>>, Residual<ReLU>, Dequantize, Dense<2>>;
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static_assert(T::first_trainable == 0);
  constexpr quant::QuantParams in_q{1.0f / 64.0f, 0};
  constexpr quant::QuantParams dense_q{0.05f, 3};
  constexpr quant::QuantParams add_q{0.08f, -5};
  microtl_test::Xorshift32 rng(1407);
  static std::array<float, 16> wf{};
  static std::array<float, 4> bf{};
  for (auto& v : wf)
    v = rng.uniform_float(-1.0f, 1.0f);
  for (auto& v : bf)
    v = rng.uniform_float(-0.5f, 0.5f);
  static const auto quantized = quantize_linear<ChannelAxis::leading>(
      std::span<const float, 16>(wf), std::span<const float, 4>(bf), in_q, dense_q);
  static const auto int8_params = quantized.params();
  static const layers::QuantizedBiasOnlyParams<16, 4> bias_only{
      int8_params, quantized.weight_scales, in_q.scale};
  static const auto block = residual_params_int8(add_q);
  static const RandomLinear<8, 2> head(rng);
  static const auto head_p = head.params();
  static Model model(in_q, bias_only, block, head_p);
  constexpr float lr = 0.1f;
  static T::TrainingArena arena;
  T trainer(model, SGD{lr}, arena);

  int checked = 0;
  for (int t = 0; t < 20; ++t) {
    std::array<std::int8_t, 4> x{};
    for (auto& v : x)
      v = static_cast<std::int8_t>(rng.uniform_int(-127, 127));
    const std::size_t label = static_cast<std::size_t>(t % 2);
    std::array<std::int8_t, 4> d{}, r{};
    std::array<float, 2> z{};
    static Model::InferenceArena probe;
    (void)model.forward(Model::input_view(x), probe, [&](auto i, auto y, auto) {
      constexpr std::size_t I = decltype(i)::value;
      if constexpr (I == 0) {
        d = {y[0], y[1], y[2], y[3]};
      } else if constexpr (I == 1) {
        r = {y[0], y[1], y[2], y[3]};
      } else if constexpr (I == 3) {
        z = {y[0], y[1]};
      }
    });
    const float m = std::fmax(z[0], z[1]);
    const float e0 = std::exp(z[0] - m), e1 = std::exp(z[1] - m);
    const std::array<float, 2> g_z{e0 / (e0 + e1) - (label == 0 ? 1.0f : 0.0f),
                                   e1 / (e0 + e1) - (label == 1 ? 1.0f : 0.0f)};
    std::array<float, 4> expected{};
    const auto before = model.state<0>().bias;
    for (std::size_t c = 0; c < 4; ++c) {
      const float g_h = head.w[c] * g_z[0] + head.w[4 + c] * g_z[1];
      const float g = (r[c] > -128 && r[c] < 127) ? g_h : 0.0f;
      const float dx = g + ((d[c] > dense_q.zero_point && d[c] < 127) ? g : 0.0f);
      const float db = (d[c] > -128 && d[c] < 127) ? dx : 0.0f;
      expected[c] = before[c] - lr * db;
    }
    REQUIRE(trainer.step(Model::input_view(x), label) == Status::ok);
    for (std::size_t c = 0; c < 4; ++c) {
      CHECK(std::fabs(model.state<0>().bias[c] - expected[c]) <= 1e-5f);
      checked += before[c] != expected[c] ? 1 : 0;
    }
  }
  CHECK(checked > 20);  // the steps moved the biases (the check is not vacuous)
}

}  // namespace
