// Trainable<...> and BiasOnly<...> (train/trainable.hpp), seen through the public API: what a
// model copies into RAM (a trainable layer's weights and bias, a bias-only layer's bias) and
// what it only refers to (a bias-only layer's weights, a frozen layer's parameters, which stay
// where the caller put them, in flash on a device); how many values train; what training
// changes.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "../support/compare.hpp"
#include "../support/random.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/trainable.hpp"
#include "microtl/train/trainer.hpp"

using namespace microtl;
using microtl_test::bit_identical;
using microtl_test::random_floats;

namespace {

// A trainable layer (with its ReLU fused), a bias-only layer and a frozen layer.
using Mixed = Sequential<Input<Shape<6>>, Trainable<Dense<4>>, ReLU, BiasOnly<Dense<3>>, Dense<2>>;
static_assert(Mixed::layer_count == 3);
using L0 = Mixed::layer<0>;
using L1 = Mixed::layer<1>;
using L2 = Mixed::layer<2>;
static_assert(L0::activation == quant::Activation::relu);  // the wrapper still fuses

// Which layers train, and how many values: Dense<4> on 6 inputs has 24 weights and 4 biases,
// Dense<3> on 4 has 12 and 3.
static_assert(is_trainable_v<L0> && is_trainable_v<L1> && !is_trainable_v<L2>);
static_assert(L0::trained_tensors.size() == 2 &&
              L0::trained_tensors[0].index == linear_tensor::weights &&
              L0::trained_tensors[1].index == linear_tensor::bias);
static_assert(L1::trained_tensors.size() == 1 &&
              L1::trained_tensors[0].index == linear_tensor::bias);
static_assert(L0::Params::weights_extent == 24 && L0::Params::bias_extent == 4 &&
              L0::trained_value_count == 28);
static_assert(L1::Params::weights_extent == 12 && L1::Params::bias_extent == 3 &&
              L1::trained_value_count == 3);

// What the model object holds per layer: the trainable layer's 28 values; the bias-only
// layer's 3 biases and a pointer to its weights (not the 12 weights); the frozen layer's
// pointer to its parameters, nothing else.
static_assert(sizeof(Mixed::layer_state_t<0>) >= 28 * sizeof(float));
static_assert(sizeof(Mixed::layer_state_t<1>) >= 3 * sizeof(float) + sizeof(const float*));
static_assert(sizeof(Mixed::layer_state_t<1>) < 12 * sizeof(float));
static_assert(sizeof(Mixed::layer_state_t<2>) == sizeof(const void*));
static_assert(sizeof(Mixed) <= sizeof(Mixed::layer_state_t<0>) + sizeof(Mixed::layer_state_t<1>) +
                                   sizeof(Mixed::layer_state_t<2>) + 16);

// Gradients and optimizer state exist for the trainable values only, one float each (every
// tensor aligned): 24 + 4 for the first layer, 3 for the bias-only one, none for the frozen.
constexpr std::size_t aligned_floats(std::size_t n) {
  return (n * sizeof(float) + MICROTL_ALIGNMENT - 1) / MICROTL_ALIGNMENT * MICROTL_ALIGNMENT;
}
constexpr std::size_t trainable_bytes = aligned_floats(24) + aligned_floats(4) + aligned_floats(3);
static_assert(MICROTL_ALIGNMENT != 8 || trainable_bytes == 96 + 16 + 16);
static_assert(Trainer<Mixed, SoftmaxCrossEntropy, SGD>::parameter_grad_bytes == trainable_bytes);
static_assert(Trainer<Mixed, SoftmaxCrossEntropy, SGD>::optimizer_state_bytes == 0);
static_assert(Trainer<Mixed, SoftmaxCrossEntropy, SGDMomentum>::optimizer_state_bytes ==
              trainable_bytes);
// Adam keeps two values per trainable value, both moments of a tensor side by side.
static_assert(Trainer<Mixed, SoftmaxCrossEntropy, Adam>::optimizer_state_bytes ==
              aligned_floats(2 * 24) + aligned_floats(2 * 4) + aligned_floats(2 * 3));

// Writable arrays (a stray write would show), filled by the test that uses them.
std::array<float, 24> w0{};
std::array<float, 4> b0{};
std::array<float, 12> w1{};
std::array<float, 3> b1{};
std::array<float, 6> w2{};
std::array<float, 2> b2{};
const LinearParams<float, 24, 4> p0{w0, b0};
const LinearParams<float, 12, 3> p1{w1, b1};
const LinearParams<float, 6, 2> p2{w2, b2};

void fill_parameters(std::uint32_t seed) {
  microtl_test::Xorshift32 rng(seed);
  microtl_test::fill_floats(w0, rng, -1, 1);
  microtl_test::fill_floats(b0, rng, 0.1f, 0.5f);
  microtl_test::fill_floats(w1, rng, -1, 1);
  microtl_test::fill_floats(b1, rng, -0.2f, 0.2f);
  microtl_test::fill_floats(w2, rng, -1, 1);
  microtl_test::fill_floats(b2, rng, -0.2f, 0.2f);
}

template <std::size_t N>
bool inside(const float* p, const std::array<float, N>& a) {
  return p >= a.data() && p < a.data() + N;
}

}  // namespace

TEST_CASE("trainable: weights and bias are copied into the model; the layer computes with them") {
  fill_parameters(41);
  static Mixed model(p0, p1, p2);
  auto& state = model.state<0>();
  // A copy: other memory, the same values.
  CHECK_FALSE(inside(state.weights.data(), w0));
  CHECK_FALSE(inside(state.bias.data(), b0));
  CHECK(bit_identical(state.weights, w0));
  CHECK(bit_identical(state.bias, b0));
  // The layer's parameters are views of the copy.
  CHECK(model.parameters<0>().weights.data() == state.weights.data());
  CHECK(model.parameters<0>().bias.data() == state.bias.data());
  // Independent of the caller's arrays from now on, both ways.
  const auto w0_before = w0;
  w0[5] = 123.0f;
  CHECK(state.weights[5] == w0_before[5]);
  state.bias[1] = -7.0f;
  CHECK(b0[1] != -7.0f);
  w0 = w0_before;
}

TEST_CASE("bias-only: the bias is copied, the weights stay where they are") {
  fill_parameters(42);
  static Mixed model(p0, p1, p2);
  auto& state = model.state<1>();
  CHECK(state.weights == w1.data());  // a pointer to the caller's array
  CHECK(model.parameters<1>().weights.data() == w1.data());
  CHECK_FALSE(inside(state.bias.data(), b1));
  CHECK(bit_identical(state.bias, b1));
  CHECK(model.parameters<1>().bias.data() == state.bias.data());
  // Referenced: a change of the caller's weights is what the layer computes with.
  const float saved = w1[4];
  w1[4] = 9.0f;
  CHECK(model.parameters<1>().weights[4] == 9.0f);
  w1[4] = saved;
}

TEST_CASE("frozen: the model keeps a pointer to the caller's parameters, nothing else") {
  fill_parameters(43);
  static Mixed model(p0, p1, p2);
  CHECK(&model.parameters<2>() == &p2);
  CHECK(model.parameters<2>().weights.data() == w2.data());
  CHECK(model.parameters<2>().bias.data() == b2.data());
}

TEST_CASE("training changes the trainable values only, never the caller's arrays") {
  fill_parameters(44);
  const auto w0_before = w0;
  const auto b0_before = b0;
  const auto w1_before = w1;
  const auto b1_before = b1;
  const auto w2_before = w2;
  const auto b2_before = b2;
  static Mixed model(p0, p1, p2);
  using T = Trainer<Mixed, SoftmaxCrossEntropy, SGDMomentum>;
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.1f, 0.9f, 1e-3f}, arena);
  microtl_test::Xorshift32 rng(45);
  for (int i = 0; i < 20; ++i) {
    const auto x = random_floats<6>(rng, -1, 1);
    REQUIRE(trainer.step(Mixed::input_view(x), static_cast<std::size_t>(i % 2)) == Status::ok);
  }
  // What trains did train.
  CHECK_FALSE(bit_identical(model.state<0>().weights, w0_before));
  CHECK_FALSE(bit_identical(model.state<0>().bias, b0_before));
  CHECK_FALSE(bit_identical(model.state<1>().bias, b1_before));
  // The bias-only layer's weights and the frozen layer's parameters are still the caller's
  // arrays, bit for bit; so are the arrays the trainable copies came from.
  CHECK(model.parameters<1>().weights.data() == w1.data());
  CHECK(bit_identical(w1, w1_before));
  CHECK(&model.parameters<2>() == &p2);
  CHECK(bit_identical(w2, w2_before));
  CHECK(bit_identical(b2, b2_before));
  CHECK(bit_identical(w0, w0_before));
  CHECK(bit_identical(b0, b0_before));
  CHECK(bit_identical(b1, b1_before));
}

TEST_CASE("trainer: bias-only training leaves the weights bit-identical") {
  using Net = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
  microtl_test::Xorshift32 rng(12);
  // Writable memory: a stray write would show.
  static auto w1 = random_floats<24>(rng, -1, 1);
  static const auto b1 = random_floats<4>(rng, 0.1f, 0.5f);
  static const auto w2 = random_floats<12>(rng, -1, 1);
  static const std::array<float, 3> b2{};
  static const LinearParams<float, 24, 4> p1{w1, b1};
  static const LinearParams<float, 12, 3> p2{w2, b2};
  static Net model(p1, p2);
  const auto w1_copy = w1;
  using T = Trainer<Net, SoftmaxCrossEntropy, SGDMomentum>;
  static_assert(T::first_trainable == 0);
  // Gradients and momentum only for 4 biases + 36 parameters of the last layer.
  static_assert(T::parameter_grad_bytes == 16 + 48 + 16);
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.1f, 0.9f, 2e-4f}, arena);
  const auto x = random_floats<6>(rng, -1, 1);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(trainer.step(Net::input_view(x), 1) == Status::ok);
  }
  CHECK(model.parameters<0>().weights.data() == w1.data());  // still the caller's array
  CHECK(w1 == w1_copy);
  CHECK_FALSE(model.state<0>().bias == b1);  // the biases did train
}

TEST_CASE("trainer: a bias-only layer trains with plain SGD, on the two-pass update") {
  // Its input gradient passes through frozen weights that the fused guard's bound does not
  // cover: such a model is not boundable, and with the guard it does not fuse.
  using Net = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
  using T = Trainer<Net, SoftmaxCrossEntropy, SGD>;
  static_assert(!T::boundable && !T::fusable);
  static_assert(Trainer<Net, SoftmaxCrossEntropy, SGD, false>::fusable);  // unguarded: fused
  microtl_test::Xorshift32 rng(13);
  static const auto w1 = random_floats<24>(rng, -1, 1);
  static const auto b1 = random_floats<4>(rng, 0.1f, 0.5f);
  static const auto w2 = random_floats<12>(rng, -1, 1);
  static const std::array<float, 3> b2{};
  static const LinearParams<float, 24, 4> p1{w1, b1};
  static const LinearParams<float, 12, 3> p2{w2, b2};
  static Net model(p1, p2);
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f, 0.0f}, arena);
  const auto x = random_floats<6>(rng, -1, 1);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(trainer.step(Net::input_view(x), 1) == Status::ok);
  }
  CHECK_FALSE(model.state<0>().bias == b1);  // the biases did train
}

TEST_CASE("bias-only on an int8 layer: weights, multipliers and output stay in place") {
  // Dense<3> on 4 int8 inputs, bias-only; its bias trains as real values, in RAM, and is
  // requantized to the int32 bias the kernel uses.
  using Net =
      Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<3>>, Dequantize, Trainable<Dense<2>>>;
  using L = Net::layer<0>;
  static_assert(is_trainable_v<L> && L::trained_tensors.size() == 1 &&
                L::trained_tensors[0].index == linear_tensor::bias);
  static_assert(L::Params::weights_extent == 12 && L::trained_value_count == 3);
  microtl_test::Xorshift32 rng(46);
  static const auto w = random_floats<12>(rng, -1, 1);
  static const auto b = random_floats<3>(rng, -0.5f, 0.5f);
  static const quant::QuantParams q_in{0.02f, 0};
  static const auto q = quantize_linear<ChannelAxis::leading>(std::span(w), std::span(b), q_in,
                                                              quant::QuantParams{0.05f, 0});
  static const auto frozen = q.params();
  static const layers::QuantizedBiasOnlyParams<12, 3> init{frozen, q.weight_scales, q_in.scale};
  static const auto hw = random_floats<6>(rng, -1, 1);
  static const std::array<float, 2> hb{};
  static const LinearParams<float, 6, 2> head{hw, hb};
  static Net model(q_in, init, head);
  const auto& state = model.state<0>();
  const auto params = model.parameters<0>();
  CHECK(params.weights.data() == q.weights.data());
  CHECK(params.output.scale == 0.05f);
  CHECK_FALSE(params.bias.data() == q.bias.data());  // the int32 bias the kernel uses: RAM
  CHECK(params.bias.data() == state.bias_q.data());
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(state.bias_q[c] == q.bias[c]);
    // The real bias is the int32 one times the bias scale, input scale * weight scale.
    CHECK(state.bias[c] == static_cast<float>(q.bias[c]) * (q_in.scale * q.weight_scales[c]));
  }
}
