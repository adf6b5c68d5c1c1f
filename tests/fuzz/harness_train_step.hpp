// Fuzz harness: Trainer::step, Trainer::apply, set_gradient_clipping and FeatureCache on
// arbitrary inputs, labels and hyper-parameters, with the guard's invariant
// (train/guard.hpp) as the oracle after every operation.
//
// Input: a header of 7 bytes, then records of 21 bytes, one training sample each (at most
// max_records; a last partial record is padded with zeros):
//   byte 0        bits 0-1: mini-batch size - 1 (1..4); bits 2-3: the optimizer
//                 (SGDMomentum, SGD, Adam, SGDMomentum); bits 4-7: the feature caches'
//                 epoch seed
//   bytes 1-3     hyper-parameter set A, bytes 4-6 set B; each set is three bytes of two
//                 4-bit indices (low nibble first) into the tables below: learning rate and
//                 weight decay; momentum (Adam's beta1) and Adam's beta2; Adam's epsilon
//                 and the gradient-clipping norm. Index 0 is the usual value; the tables
//                 hold valid edge values and invalid ones (negative, NaN, infinite, huge,
//                 momentum >= 1, lr * wd > 1, eps <= 0, betas outside [0, 1)).
//   record        op: uint8 (bit 0: switch to the other hyper-parameter set before this
//                 sample; bit 1: apply() after it), label: uint32 little-endian (any
//                 value), then 16 data bytes: 4 floats little-endian for float models (any
//                 bit pattern: NaN, infinities, subnormals, 3e38), int8 codes for int8 ones
// Set A is in force at the start.
//
// Lanes, each trained on every record, each with a twin trainer on a copy of its model:
//  - Mlp: 4 -> Trainable Dense 5 (ReLU) -> Trainable Dense 3, fed the 4 floats;
//  - Int8Dense: int8 input of 4 codes (the first 4 data bytes) -> BiasOnly<Dense<3>> (int8,
//    its int32 bias trains) -> Dequantize -> Trainable Dense 2;
//  - Int8Conv: int8 4x4x1 image (the 16 data bytes, input zero point -3) -> BiasOnly<Conv2D
//    <2, 3x3, same>> -> Flatten -> Dequantize -> Trainable Dense 2.
// Properties, for every lane:
//  - a set_gradient_clipping(norm) answers invalid_argument exactly for a negative, NaN or
//    infinite norm (the twin never sees those calls: they must leave no trace);
//  - a step is refused exactly when due and names a due cause: invalid_argument when a
//    hyper-parameter is out of its documented range; not_finite for a NaN or infinite float
//    input, out_of_range for a finite one beyond guard::feature_limit (2^24);
//    label_out_of_range for a label >= the classes. A step with none of these causes
//    answers ok or diverged, and diverged only when it completes a mini-batch (an update
//    ran). refused_samples() counts exactly the not_finite and out_of_range answers,
//    diverged_steps() exactly the diverged ones (of step and apply);
//  - a refused step (any non-ok status) leaves the trained parameters, the int8 layers'
//    int32 biases, the optimizer state (in the training arena) and the optimizer (Adam's
//    step counters) bit-identical;
//  - no trace: the twin gets every record except those refused for a cause of their own
//    (input, label, hyper-parameters), answers the same status, and after every record and
//    every apply() both trainers hold bit-identical parameters, biases, optimizer state and
//    optimizer. (A `diverged` answer drops the batch's gradients in both.)
//  - apply() (after a record whose op says so, and once at the end): ok when no gradients
//    are pending; otherwise invalid_argument (parameters unchanged, gradients kept) exactly
//    when a hyper-parameter is invalid, else ok or diverged (unchanged);
//  - the fused guard's two modes (train/fused_guard.hpp), on the lanes where the trainer can
//    fuse plain SGD into the backward pass (T::fusable: the Mlp lane, and both caches'
//    trainers, with SGD): a full-guard twin, a trainer on a third copy of the model with
//    GuardCheck::full, gets every call the lane's trainer gets (GuardCheck::bounded, as the
//    twin's): every record, apply() and hyper-parameter change, also those refused. After
//    each it answered the same status, counts the same diverged_steps() and
//    refused_samples(), and holds bit-identical trained values (the trained tensors, not the
//    States: magnitude_bound differs between the modes by design); its magnitude_bounds are
//    all unknown (infinity). (At run time the step is fused only at batch 1 without weight
//    decay or clipping; otherwise the mode must not matter either.) In every lane, a known
//    magnitude_bound is >= the largest |value| of its layer (the bound is sound). The fused
//    steps' decisions are counted (guard_decisions: proven by the bound, accepted by the
//    full check after the bound failed, refused);
//  - the invariant, after every operation whatever it answered: guard::check_model(model)
//    is ok; every int8 bias-only layer's bias_q is within +-bias_limit; every optimizer
//    state value is within guard::state_limit (2^64); a forward pass (Model::forward with an
//    InferenceArena) of a fixed normal sample and of extreme admissible ones (all inputs
//    +-2^24 for float models; all codes 127, all -128 for int8 ones) gives finite outputs.
//    (The fuzz preset has UBSan: an int32 accumulator overflow in the int8 kernels aborts.)
//
// Two FeatureCache<.., 4>: over a frozen float Dense, fed the record's floats, and over an
// int8 extractor (int8 Dense, Dequantize: the cache keeps int8 codes), fed the 16 data bytes
// as int8 codes. add() answers label_out_of_range for a label >= 3, capacity_exceeded when
// full, not_finite / out_of_range for a bad float input (or feature), ok otherwise, and
// stores exactly when it answers ok (with that label). Then two epochs over each cache with
// the hyper-parameters in force at the end: ok for an empty cache; invalid_argument and
// nothing changed when a hyper-parameter is invalid; ok or diverged otherwise; the
// invariant holds after each epoch. With SGD, a full-guard twin trainer (GuardCheck::full, on
// its own copy of the model) trains on the same cache after each epoch: the same status,
// counts and trained bits, as in the lanes.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "microtl/config.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"
#include "microtl/train/guard.hpp"
#include "microtl/train/trainer.hpp"

// -DMICROTL_FUZZ_TRACE prints every status to stderr (to see what an input exercises).
#ifdef MICROTL_FUZZ_TRACE
#include <cstdio>
#define MICROTL_FUZZ_LOG(...) std::fprintf(stderr, __VA_ARGS__)
#else
#define MICROTL_FUZZ_LOG(...) ((void)0)
#endif

namespace microtl_fuzz::train_step {

using namespace microtl;

// Whether the invariant must hold after every accepted step: yes with the divergence guard
// (MICROTL_DIVERGENCE_GUARD, on by default).
//
// Without the guard, this harness finds accepted steps that leave parameters infinite or
// NaN within a minute (regressions/fuzz_train_step/overflowing_*: inputs up to 3e38, learning
// rates 1 and 100). With the guard those inputs are refused (out_of_range) or their updates
// are (diverged), and the parameters keep their bound.
inline constexpr bool require_invariant = MICROTL_DIVERGENCE_GUARD != 0;

inline constexpr std::size_t header_bytes = 7;
inline constexpr std::size_t record_bytes = 21;
inline constexpr std::size_t max_records = 32;

inline constexpr std::uint8_t op_switch = 0x01;  // switch the hyper-parameter set first
inline constexpr std::uint8_t op_apply = 0x02;   // apply() after the step

// ---------------------------------------------------------------------------------------
// Hyper-parameters: the tables the header indexes, and their documented ranges
// (train/optimizer.hpp), written out here again independently of Optimizer::validate.
// (Values the documentation and the code could disagree on are left out: a weight decay
// or an epsilon above 2^24 but finite; the code refuses them, the comments say "finite".)
// ---------------------------------------------------------------------------------------
inline constexpr float nan = std::numeric_limits<float>::quiet_NaN();
inline constexpr float inf = std::numeric_limits<float>::infinity();
inline constexpr float below_one = 0.99999994f;     // the largest float < 1
inline constexpr float above_max_lr = 16777218.0f;  // the next float after 2^24

inline constexpr std::array<float, 16> learning_rates = {
    0.01f,  0.1f, 1.0f, 100.0f, 0.001f,       0.0f, 10.0f, 1e4f, 1e6f, max_learning_rate,
    -0.01f, nan,  inf,  1e38f,  above_max_lr, -0.0f};
inline constexpr std::array<float, 16> weight_decays = {
    0.0f,   1e-4f,  2e-4f, 1e-3f, 0.01f, 0.5f, 1.0f, 100.0f, 1e-38f, max_learning_rate,
    -1e-4f, -1e30f, nan,   inf,   -inf,  -0.0f};
inline constexpr std::array<float, 16> momenta = {  // momentum, Adam's beta1
    0.9f, 0.0f, 0.5f,  0.99f, 0.999f, below_one, 0.1f, 0.95f,
    1.0f, 1.5f, -0.1f, nan,   inf,    1e30f,     2.0f, -0.0f};
inline constexpr std::array<float, 16> second_moments = {  // Adam's beta2
    0.999f, 0.9f,   0.99f,  0.9999f, 0.0f, 0.5f, below_one, 0.1f,
    1.0f,   1.001f, -1e-3f, nan,     inf,  -inf, 2.0f,      -0.0f};
inline constexpr std::array<float, 16> epsilons = {
    1e-8f, 1e-6f, 1e-3f,  1.0f, 1e-45f, 1e-38f, 0.1f,  max_learning_rate,
    0.0f,  -0.0f, -1e-8f, nan,  inf,    -inf,   -1.0f, 1e-20f};
inline constexpr std::array<float, 16> clip_norms = {
    0.0f, 0.5f,  1.0f,  10.0f, 1e-30f, 1e30f, std::numeric_limits<float>::max(), 0.1f, 1e-45f,
    3.0f, -0.0f, -1.0f, nan,   inf,    -inf,  -std::numeric_limits<float>::max()};

struct HyperParameters {
  float learning_rate, weight_decay, momentum, beta2, epsilon, clip;
};

inline HyperParameters hyper_parameters(std::uint8_t a, std::uint8_t b, std::uint8_t c) {
  return {learning_rates[a & 0xFU], weight_decays[a >> 4], momenta[b & 0xFU],
          second_moments[b >> 4],   epsilons[c & 0xFU],    clip_norms[c >> 4]};
}

inline bool within(float v, float low, float high) {
  return v >= low && v <= high;  // NaN fails
}

// The documented ranges of the optimizer's hyper-parameters.
template <class Optimizer>
bool valid(const HyperParameters& h) {
  const bool rate_and_decay = within(h.learning_rate, 0.0f, max_learning_rate) &&
                              within(h.weight_decay, 0.0f, max_learning_rate) &&
                              h.learning_rate * h.weight_decay <= 1.0f;
  const auto decay_factor = [](float beta) { return beta >= 0.0f && beta < 1.0f; };
  if constexpr (std::is_same_v<Optimizer, SGD>) {
    return rate_and_decay;
  } else if constexpr (std::is_same_v<Optimizer, SGDMomentum>) {
    return rate_and_decay && decay_factor(h.momentum);
  } else {
    return rate_and_decay && decay_factor(h.momentum) && decay_factor(h.beta2) &&
           h.epsilon > 0.0f && h.epsilon <= max_learning_rate;
  }
}

inline bool valid_clip(float norm) {
  return within(norm, 0.0f, std::numeric_limits<float>::max());
}

// Sets the hyper-parameters of `o` (not Adam's step counters).
inline void assign(SGD& o, const HyperParameters& h) {
  o.learning_rate = h.learning_rate;
  o.weight_decay = h.weight_decay;
}
inline void assign(SGDMomentum& o, const HyperParameters& h) {
  o.learning_rate = h.learning_rate;
  o.weight_decay = h.weight_decay;
  o.momentum = h.momentum;
}
inline void assign(Adam& o, const HyperParameters& h) {
  o.learning_rate = h.learning_rate;
  o.weight_decay = h.weight_decay;
  o.beta1 = h.momentum;
  o.beta2 = h.beta2;
  o.epsilon = h.epsilon;
}

// ---------------------------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------------------------
struct Record {
  std::uint8_t op = 0;
  std::uint32_t label = 0;
  std::array<std::uint8_t, 16> data{};

  std::array<float, 4> floats() const {
    std::array<float, 4> x{};
    std::memcpy(x.data(), data.data(), sizeof(x));
    return x;
  }
  template <std::size_t N>
  std::array<std::int8_t, N> codes() const {
    static_assert(N <= 16);
    std::array<std::int8_t, N> x{};
    std::memcpy(x.data(), data.data(), N);
    return x;
  }
};

// The cause the guard's bound (X) names for float inputs, worked out independently of
// guard::check_features: not_finite when one is NaN or infinite, otherwise out_of_range when
// one is beyond 2^24 in magnitude, otherwise ok.
template <std::size_t N>
Status input_cause(const std::array<float, N>& x) {
  bool beyond = false;
  for (const float v : x) {
    if (!std::isfinite(v)) {
      return Status::not_finite;
    }
    beyond = beyond || std::fabs(v) > 16777216.0f;
  }
  return beyond ? Status::out_of_range : Status::ok;
}

// ---------------------------------------------------------------------------------------
// The models. Frozen parameters live in static storage (models refer to them).
// ---------------------------------------------------------------------------------------
using Mlp = Sequential<Input<Shape<4>>, Trainable<Dense<5>>, ReLU, Trainable<Dense<3>>>;

inline constexpr std::array<float, 20> mlp_w1 = {
    0.31f,  -0.12f, 0.05f, 0.44f, -0.27f, 0.18f, 0.09f, -0.36f, 0.22f,  -0.08f,
    -0.41f, 0.15f,  0.27f, 0.03f, -0.19f, 0.38f, 0.12f, 0.24f,  -0.33f, 0.06f};
inline constexpr std::array<float, 5> mlp_b1 = {0.01f, -0.02f, 0.03f, 0.0f, 0.05f};
inline constexpr std::array<float, 15> mlp_w2 = {0.25f,  -0.31f, 0.12f, 0.07f,  -0.22f,
                                                 -0.14f, 0.35f,  0.02f, -0.09f, 0.28f,
                                                 0.19f,  0.04f,  -0.3f, 0.21f,  -0.11f};
inline constexpr std::array<float, 3> mlp_b2 = {0.0f, 0.1f, -0.1f};
inline constexpr LinearParams<float, 20, 5> mlp_p1{mlp_w1, mlp_b1};
inline constexpr LinearParams<float, 15, 3> mlp_p2{mlp_w2, mlp_b2};

inline constexpr float big = 16777216.0f;  // 2^24: the largest admissible float input

struct MlpLane {
  static constexpr const char* name = "mlp";
  using Model = Mlp;
  static constexpr std::size_t classes = 3;
  static Model make() { return Model(mlp_p1, mlp_p2); }
  using Input = std::array<float, 4>;
  static Input input(const Record& r) { return r.floats(); }
  static Status cause(const Input& x) { return input_cause(x); }
  static constexpr std::array<Input, 4> probes = {{{0.5f, -0.25f, 1.0f, 0.75f},
                                                   {big, big, big, big},
                                                   {-big, -big, -big, -big},
                                                   {big, -big, big, -big}}};
};

// Two small float heads on 3 and 32 int8 features.
inline constexpr std::array<float, 6> head6_w = {0.5f, -0.5f, 0.25f, 0.75f, -1.0f, 0.3f};
inline constexpr std::array<float, 2> head6_b = {0.0f, 0.1f};
inline constexpr LinearParams<float, 6, 2> head6{head6_w, head6_b};
inline constexpr std::array<float, 64> head64_w = [] {
  std::array<float, 64> w{};
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = static_cast<float>(static_cast<int>((i * 29U) % 13U) - 6) * 0.05f;
  }
  return w;
}();
inline constexpr std::array<float, 2> head64_b = {0.05f, -0.05f};
inline constexpr LinearParams<float, 64, 2> head64{head64_w, head64_b};

// An int8 Dense (4 -> 3) whose bias trains: the model of break B1 (issue 12).
using Int8Dense =
    Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<3>>, Dequantize, Trainable<Dense<2>>>;
inline constexpr quant::QuantParams int8_dense_input{1.0f / 127.0f, 0};

inline const layers::QuantizedBiasOnlyParams<12, 3>& int8_dense_bias_only() {
  static const QuantizedLinear<12, 3> quantized = [] {
    const std::array<float, 12> w = {0.9f,  -0.8f, 0.7f, 0.6f, -0.5f, 0.4f,
                                     -0.3f, 0.2f,  0.1f, 1.0f, 0.5f,  -1.0f};
    const std::array<float, 3> b = {0.1f, -0.2f, 0.05f};
    return quantize_linear<ChannelAxis::leading>(std::span<const float, 12>(w),
                                                 std::span<const float, 3>(b), int8_dense_input,
                                                 quant::QuantParams{0.05f, 0});
  }();
  static const LinearParams<QInt8, 12, 3> frozen = quantized.params();
  static const layers::QuantizedBiasOnlyParams<12, 3> params{frozen, quantized.weight_scales,
                                                             int8_dense_input.scale};
  return params;
}

struct Int8DenseLane {
  static constexpr const char* name = "int8 dense";
  using Model = Int8Dense;
  static constexpr std::size_t classes = 2;
  static Model make() { return Model(int8_dense_input, int8_dense_bias_only(), head6); }
  using Input = std::array<std::int8_t, 4>;
  static Input input(const Record& r) { return r.codes<4>(); }
  static Status cause(const Input&) { return Status::ok; }
  static constexpr std::array<Input, 3> probes = {
      {{10, -20, 30, -40}, {127, 127, 127, 127}, {-128, -128, -128, -128}}};
};

// An int8 3x3 convolution (1 -> 2 channels, same padding over a 4x4 image, input zero
// point -3: the padding is the zero point) whose bias trains.
using Int8Conv =
    Sequential<Input<Shape<4, 4, 1>, QInt8>, BiasOnly<Conv2D<2, Kernel<3>, Padding::same>>, Flatten,
               Dequantize, Trainable<Dense<2>>>;
inline constexpr quant::QuantParams int8_conv_input{1.0f / 64.0f, -3};

inline const layers::QuantizedBiasOnlyParams<18, 2>& int8_conv_bias_only() {
  static const QuantizedLinear<18, 2> quantized = [] {
    std::array<float, 18> w{};
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = static_cast<float>(static_cast<int>((i * 7U) % 11U) - 5) * 0.1f;
    }
    const std::array<float, 2> b = {0.2f, -0.1f};
    return quantize_linear<ChannelAxis::leading>(std::span<const float, 18>(w),
                                                 std::span<const float, 2>(b), int8_conv_input,
                                                 quant::QuantParams{0.04f, -10});
  }();
  static const LinearParams<QInt8, 18, 2> frozen = quantized.params();
  static const layers::QuantizedBiasOnlyParams<18, 2> params{frozen, quantized.weight_scales,
                                                             int8_conv_input.scale};
  return params;
}

struct Int8ConvLane {
  static constexpr const char* name = "int8 conv";
  using Model = Int8Conv;
  static constexpr std::size_t classes = 2;
  static Model make() { return Model(int8_conv_input, int8_conv_bias_only(), head64); }
  using Input = std::array<std::int8_t, 16>;
  static Input input(const Record& r) { return r.codes<16>(); }
  static Status cause(const Input&) { return Status::ok; }
  static constexpr std::array<Input, 3> probes = [] {
    std::array<Input, 3> p{};
    for (std::size_t i = 0; i < 16; ++i) {
      p[0][i] = static_cast<std::int8_t>(static_cast<int>(i * 13U % 61U) - 30);
      p[1][i] = 127;
      p[2][i] = -128;
    }
    return p;
  }();
};

// Two int8 convolutions trained through each other (issue 15): the first's bias trains and
// receives its gradient through the second, whose weights train (a float master copy and the
// int8 codes derived from it), then the float head.
using Int8Chain =
    Sequential<Input<Shape<4, 4, 1>, QInt8>, BiasOnly<Conv2D<2, Kernel<3>, Padding::same>>, ReLU,
               Trainable<Conv2D<2, Kernel<3>, Padding::same>>, Flatten, Dequantize,
               Trainable<Dense<2>>>;
inline constexpr quant::QuantParams int8_chain_middle{0.04f, -10};  // int8_conv_bias_only's output

inline const layers::QuantizedTrainingParams<36, 2>& int8_chain_trained_conv() {
  static const QuantizedLinear<36, 2> quantized = [] {
    std::array<float, 36> w{};
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = static_cast<float>(static_cast<int>((i * 5U) % 13U) - 6) * 0.08f;
    }
    const std::array<float, 2> b = {-0.1f, 0.15f};
    return quantize_linear<ChannelAxis::leading>(std::span<const float, 36>(w),
                                                 std::span<const float, 2>(b), int8_chain_middle,
                                                 quant::QuantParams{0.05f, 2});
  }();
  static const LinearParams<QInt8, 36, 2> frozen = quantized.params();
  static const layers::QuantizedTrainingParams<36, 2> params{frozen, quantized.weight_scales,
                                                             int8_chain_middle.scale};
  return params;
}

struct Int8ChainLane {
  static constexpr const char* name = "int8 chain";
  using Model = Int8Chain;
  static constexpr std::size_t classes = 2;
  static Model make() {
    return Model(int8_conv_input, int8_conv_bias_only(), int8_chain_trained_conv(), head64);
  }
  using Input = std::array<std::int8_t, 16>;
  static Input input(const Record& r) { return r.codes<16>(); }
  static Status cause(const Input&) { return Status::ok; }
  static constexpr std::array<Input, 3> probes = Int8ConvLane::probes;
};

// ---------------------------------------------------------------------------------------
// The invariant, and bit-exact snapshots of everything a refused step must not change.
// ---------------------------------------------------------------------------------------
template <class TrainerT>
using StateBytes = std::array<std::byte, TrainerT::optimizer_state_bytes>;

template <class TrainerT, class Arena>
StateBytes<TrainerT> state_bytes(Arena& arena) {
  StateBytes<TrainerT> bytes{};
  if constexpr (TrainerT::optimizer_state_bytes > 0) {  // SGD keeps none
    std::memcpy(bytes.data(), arena.bytes().data() + TrainerT::parameter_grad_bytes, bytes.size());
  }
  return bytes;
}

// (S): every optimizer state value within guard::state_limit (the padding is zeros).
template <class TrainerT>
bool state_within(const StateBytes<TrainerT>& bytes) {
  bool ok = true;
  for (std::size_t at = 0; at + 4 <= bytes.size(); at += 4) {
    float v = 0.0f;
    std::memcpy(&v, bytes.data() + at, 4);
    ok = ok && within(v, -guard::state_limit, guard::state_limit);
  }
  return ok;
}

// Everything a refused step must leave as it was, bit for bit.
template <class Model, class TrainerT, class Optimizer>
struct Full {
  Snapshot<Model> parameters{};
  std::vector<std::int32_t> biases_q;
  StateBytes<TrainerT> state{};
  std::array<std::byte, sizeof(Optimizer)> optimizer{};
  bool operator==(const Full&) const = default;
};

// ---------------------------------------------------------------------------------------
// The fused guard's two modes (train/fused_guard.hpp): what a lane compares, and counts.
// ---------------------------------------------------------------------------------------
// f(state) for every trainable layer of the model whose State keeps a magnitude_bound (the
// float layers: the bound the fused guard carries from one step to the next).
template <class Model, class F>
void for_each_magnitude_bound(const Model& model, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (is_trainable_v<typename Model::template layer<I>> &&
                        requires { model.template state<I>().magnitude_bound; }) {
            f(model.template state<I>());
          }
        }(),
        ...);
  }(std::make_index_sequence<Model::layer_count>{});
}

// Whether every magnitude_bound of the model is known (finite).
template <class Model>
bool bounds_known(const Model& model) {
  bool known = true;
  for_each_magnitude_bound(
      model, [&](const auto& state) { known = known && std::isfinite(state.magnitude_bound); });
  return known;
}

// Whether every magnitude_bound of the model is unknown (infinity).
template <class Model>
bool bounds_unknown(const Model& model) {
  bool unknown = true;
  for_each_magnitude_bound(model, [&](const auto& state) {
    unknown = unknown && state.magnitude_bound == guard::unknown_bound;
  });
  return unknown;
}

// The largest |value| of the model's trained float values.
template <class Model>
float largest_magnitude(const Model& model) {
  float largest = 0.0f;
  for_each_magnitude_bound(model, [&](const auto& state) {
    state.for_each_trained([&](auto, auto values) {
      for (const float v : values) {
        largest = std::fmax(largest, std::fabs(v));
      }
    });
  });
  return largest;
}

// Soundness: a known magnitude_bound is >= the largest |value| of its layer's trained
// tensors (worked out here by a scan of its own, not fused_guard::scan_magnitude).
template <class Model>
bool bounds_sound(const Model& model) {
  bool sound = true;
  for_each_magnitude_bound(model, [&](const auto& state) {
    if (std::isfinite(state.magnitude_bound)) {
      state.for_each_trained([&](auto, auto values) {
        for (const float v : values) {
          sound = sound && std::fabs(v) <= state.magnitude_bound;
        }
      });
    }
  });
  return sound;
}

// What the fused guard decided on the fused steps (plain SGD at batch 1, no weight decay,
// no clipping, all hyper-parameters and the sample valid) of every lane that compares the
// two modes, since the program started (test_fuzz_regressions prints them for the committed
// inputs and requires each kind). Both modes decide every one of them the same way, or the
// lane fails; the kinds are those of the bounded mode:
struct GuardDecisions {
  std::size_t proven = 0;                 // accepted on the bound alone (full mode: accepted)
  std::size_t checked = 0;                // the bound proved nothing; the full check accepted
  std::size_t refused = 0;                // diverged (always the full check's verdict)
  std::size_t cache_epochs_ok = 0;        // feature-cache epochs of fused steps that all
  std::size_t cache_epochs_diverged = 0;  // went through, or that stopped at a refused one
};
inline GuardDecisions guard_decisions{};

// ---------------------------------------------------------------------------------------
// One lane: a model, its trainer, the twin, and (fusable lanes) the full-guard twin.
// ---------------------------------------------------------------------------------------
template <class Lane, class Optimizer>
class LaneRun {
 public:
  using Model = typename Lane::Model;
  using T = Trainer<Model, SoftmaxCrossEntropy, Optimizer>;
  static_assert(std::is_trivially_copyable_v<Optimizer>);
  static_assert(sizeof(Optimizer) % sizeof(float) == 0);  // no padding to compare

  // Where the trainer can fuse plain SGD into the backward pass (SGD, and a model the fused
  // guard's bound covers), a third trainer on a third copy of the model checks every fused
  // step with GuardCheck::full while trainer_ (and twin_) use GuardCheck::bounded; it gets
  // every call trainer_ gets. At run time the step is fused only at batch 1 without weight
  // decay or clipping; otherwise the mode must not matter either.
  static constexpr bool compares_guard_modes = T::fusable;

  LaneRun(const HyperParameters& h, std::size_t batch)
      : model_(Lane::make()),
        twin_model_(Lane::make()),
        trainer_(model_, make_optimizer(h), arena_, batch),
        twin_(twin_model_, make_optimizer(h), twin_arena_, batch),
        batch_(batch),
        hyper_(h),
        full_guard_model_(Lane::make()),
        full_guard_(full_guard_model_, make_optimizer(h), full_guard_arena_, batch) {
    trainer_.set_guard_check(GuardCheck::bounded);
    twin_.set_guard_check(GuardCheck::bounded);
    full_guard_.set_guard_check(GuardCheck::full);
  }

  // Puts hyper-parameters in force (both trainers) and sets the clipping norm.
  Failure set(const HyperParameters& h) {
    hyper_ = h;
    assign(trainer_.optimizer(), h);
    assign(twin_.optimizer(), h);
    const Full<Model, T, Optimizer> before = full(model_, trainer_, arena_);
    const Status clipping = trainer_.set_gradient_clipping(h.clip);
    if (clipping == Status::ok) {
      clip_ = h.clip;
    }
    if (clipping != (valid_clip(h.clip) ? Status::ok : Status::invalid_argument)) {
      return "set_gradient_clipping answered other than invalid_argument for a negative, NaN "
             "or infinite norm and ok otherwise";
    }
    if (full(model_, trainer_, arena_) != before) {
      return "set_gradient_clipping changed the parameters or the optimizer state";
    }
    if (clipping == Status::ok && twin_.set_gradient_clipping(h.clip) != Status::ok) {
      return "the twin's set_gradient_clipping refused a valid norm";
    }
    if constexpr (compares_guard_modes) {
      assign(full_guard_.optimizer(), h);
      if (full_guard_.set_gradient_clipping(h.clip) != clipping) {
        return "the full-guard twin's set_gradient_clipping answered differently";
      }
    }
    return nullptr;
  }

  Failure step(const Record& r) {
    const typename Lane::Input x = Lane::input(r);
    const bool hyper_valid = valid<Optimizer>(hyper_);
    const Status input = Lane::cause(x);
    const bool label_bad = r.label >= Lane::classes;
    const bool due = !hyper_valid || input != Status::ok || label_bad;

    const Full<Model, T, Optimizer> before = full(model_, trainer_, arena_);
    const std::size_t refused_before = trainer_.refused_samples();
    const std::size_t diverged_before = trainer_.diverged_steps();
    const Status status = trainer_.step(typename Model::input_view(x), r.label);
    MICROTL_FUZZ_LOG("%s step: %s\n", Lane::name, to_string(status));

    if (due) {
      const bool named = (!hyper_valid && status == Status::invalid_argument) ||
                         (input != Status::ok && status == input) ||
                         (label_bad && status == Status::label_out_of_range);
      if (!named) {
        return "a step with an invalid hyper-parameter, a non-finite or out-of-range input or a "
               "label out of range was not refused with (one of) its due causes";
      }
    } else if (status != Status::ok && status != Status::diverged) {
      return "a valid step was refused with a status other than diverged";
    } else if (status == Status::diverged && pending_ + 1 < batch_) {
      return "a step that completes no mini-batch answered diverged";
    }
    if (status != Status::ok && full(model_, trainer_, arena_) != before) {
      return "a refused step changed the parameters, an int8 bias, the optimizer state or the "
             "optimizer";
    }
    const bool input_refusal = status == Status::not_finite || status == Status::out_of_range;
    if (trainer_.refused_samples() != refused_before + (input_refusal ? 1U : 0U)) {
      return "refused_samples() did not count exactly the not_finite and out_of_range answers";
    }
    if (trainer_.diverged_steps() != diverged_before + (status == Status::diverged ? 1U : 0U)) {
      return "diverged_steps() did not count exactly the diverged answers";
    }
    if (const Failure f = same_as_full_guard(
            status, [&](T& t) { return t.step(typename Model::input_view(x), r.label); })) {
      return f;
    }
    if constexpr (compares_guard_modes) {
      if (!due && fused()) {
        count_decision(status);
      }
    }
    if (status == Status::ok) {
      pending_ = pending_ + 1 == batch_ ? 0 : pending_ + 1;
      pending_records_.resize(pending_);
      if (pending_ > 0) {
        pending_records_.back() = r;
      }
    } else if (status == Status::diverged) {
      pending_ = 0;
      pending_records_.clear();
    }
    if (!due && twin_.step(typename Model::input_view(x), r.label) != status) {
      return "the twin trainer answered a step differently";
    }
    return after("step");
  }

  Failure apply() {
    const Full<Model, T, Optimizer> before = full(model_, trainer_, arena_);
    const std::size_t diverged_before = trainer_.diverged_steps();
    // A partial mini-batch of k samples applied by apply() is a whole mini-batch of k: a
    // trainer with batch size k, from the same parameters, optimizer state and optimizer,
    // fed the same k samples, ends bit-identical (its k-th step updates).
    Model reference_model = model_;
    T reference(reference_model, trainer_.optimizer(), reference_arena_,
                pending_ > 0 ? pending_ : 1);
    if constexpr (T::optimizer_state_bytes > 0) {
      std::memcpy(reference_arena_.bytes().data() + T::parameter_grad_bytes,
                  arena_.bytes().data() + T::parameter_grad_bytes, T::optimizer_state_bytes);
    }
    if (valid_clip(clip_) && reference.set_gradient_clipping(clip_) != Status::ok) {
      return "set_gradient_clipping refused a valid norm";
    }
    // A whole mini-batch of 1 of plain SGD without weight decay or clipping is the fused step
    // (the update inside the backward pass: p - (lr g) x instead of the two-pass p - lr (g x),
    // one rounding apart, train/gradient_sink.hpp), while apply() always runs the two-pass
    // update. Clipping at FLT_MAX keeps the reference on the two-pass update and never clips:
    // with inputs and parameters within 2^24 the fusable (Mlp) lane's gradients stay below
    // 2^54. (regressions/fuzz_train_step/partial_batch_of_one_against_fused_reference)
    if (T::fusable && pending_ == 1 && clip_ == 0.0f &&
        reference.set_gradient_clipping(std::numeric_limits<float>::max()) != Status::ok) {
      return "set_gradient_clipping refused FLT_MAX";
    }
    const Status status = trainer_.apply();
    MICROTL_FUZZ_LOG("%s apply: %s\n", Lane::name, to_string(status));
    if (pending_ == 0) {
      if (status != Status::ok || full(model_, trainer_, arena_) != before) {
        return "apply() with no gradients pending did something";
      }
    } else if (!valid<Optimizer>(hyper_)) {
      if (status != Status::invalid_argument) {
        return "apply() with an invalid hyper-parameter was not invalid_argument";
      }
    } else if (status != Status::ok && status != Status::diverged) {
      return "apply() answered other than ok or diverged";
    }
    if (status != Status::ok && full(model_, trainer_, arena_) != before) {
      return "a refused apply() changed the parameters, the optimizer state or the optimizer";
    }
    if (trainer_.diverged_steps() != diverged_before + (status == Status::diverged ? 1U : 0U)) {
      return "diverged_steps() did not count a diverged apply() exactly once";
    }
    if (pending_ > 0 && status != Status::invalid_argument) {
      Status last = Status::ok;
      for (const Record& p : pending_records_) {
        const typename Lane::Input x = Lane::input(p);
        last = reference.step(typename Model::input_view(x), p.label);
      }
      if (last != status ||
          full(model_, trainer_, arena_) != full(reference_model, reference, reference_arena_)) {
        return "apply() on a partial mini-batch of k samples differs from a whole mini-batch "
               "of k (the update's average, or the accumulated gradients, are wrong)";
      }
    }
    if (status != Status::invalid_argument) {
      pending_ = 0;
      pending_records_.clear();
    }
    if (twin_.apply() != status) {
      return "the twin trainer's apply() answered differently";
    }
    if (const Failure f = same_as_full_guard(status, [](T& t) { return t.apply(); })) {
      return f;
    }
    return after("apply");
  }

 private:
  static Optimizer make_optimizer(const HyperParameters& h) {
    Optimizer o{};
    assign(o, h);
    return o;
  }

  static Full<Model, T, Optimizer> full(const Model& model, T& trainer,
                                        typename T::TrainingArena& arena) {
    Full<Model, T, Optimizer> f;
    f.parameters = snapshot(model);
    for_each_int8_bias(model, [&](const auto& state, std::int32_t) {
      f.biases_q.insert(f.biases_q.end(), state.bias_q.begin(), state.bias_q.end());
    });
    f.state = state_bytes<T>(arena);
    std::memcpy(f.optimizer.data(), &trainer.optimizer(), sizeof(Optimizer));
    return f;
  }

  // Whether trainer_'s next valid step is fused (train/trainer.hpp, fused_active).
  bool fused() const {
    return T::fusable && batch_ == 1 && hyper_.weight_decay == 0.0f && clip_ == 0.0f;
  }

  // The full-guard twin takes the call trainer_ just took (`call(trainer)`, which answered
  // `status`): the bounded guard refuses exactly what the full guard refuses, and where both
  // accept the same update code writes bit-identical values. The trained tensors are
  // compared, not the States: a State also keeps magnitude_bound, which differs between the
  // modes by design (full mode never knows one).
  template <class Call>
  Failure same_as_full_guard(Status status, Call&& call) {
    if constexpr (compares_guard_modes) {
      const Status full = call(full_guard_);
      MICROTL_FUZZ_LOG("%s full guard: %s\n", Lane::name, to_string(full));
      if (full != status) {
        return "the bounded fused guard (GuardCheck::bounded) and the full one "
               "(GuardCheck::full) answered the same step differently: the bound accepted a "
               "step the full check refuses, or a mode refused a step for another cause";
      }
      if (full_guard_.diverged_steps() != trainer_.diverged_steps() ||
          full_guard_.refused_samples() != trainer_.refused_samples()) {
        return "the bounded and the full fused guard counted diverged_steps() or "
               "refused_samples() differently";
      }
      if (snapshot(full_guard_model_) != snapshot(model_)) {
        return "the bounded and the full fused guard left trained values that are not "
               "bit-identical";
      }
      if (!bounds_unknown(full_guard_model_)) {
        return "GuardCheck::full left a layer's magnitude_bound known (it never computes one)";
      }
    } else {
      (void)status;
      (void)call;
    }
    if (!bounds_sound(model_) || !bounds_sound(twin_model_)) {
      return "a layer's magnitude_bound is below the largest |value| of its trained tensors "
             "(the fused guard's bound is not sound)";
    }
    return nullptr;
  }

  // A fused step with valid hyper-parameters and sample that answered `status`.
  void count_decision(Status status) {
    if (status == Status::diverged) {
      ++guard_decisions.refused;
      MICROTL_FUZZ_LOG("%s fused step: refused by both guards", Lane::name);
    } else if (bounds_known(model_)) {
      ++guard_decisions.proven;
      MICROTL_FUZZ_LOG("%s fused step: proven by the bound", Lane::name);
    } else {
      ++guard_decisions.checked;
      MICROTL_FUZZ_LOG("%s fused step: the bound failed, the full check accepted", Lane::name);
    }
    MICROTL_FUZZ_LOG(" (lr %g, largest |value| %g)\n", static_cast<double>(hyper_.learning_rate),
                     static_cast<double>(largest_magnitude(model_)));
  }

  Failure after(const char*) {
    if (require_invariant) {
      if (const Failure f = check_model_runs<Lane>(model_)) {
        return f;
      }
      if (!state_within<T>(state_bytes<T>(arena_))) {
        return "an optimizer state value is beyond guard::state_limit";
      }
    }
    if (full(model_, trainer_, arena_) != full(twin_model_, twin_, twin_arena_)) {
      return "a refused step or clipping norm left a trace in the trainer (the twin, which "
             "never saw it, differs)";
    }
    return nullptr;
  }

  Model model_;
  Model twin_model_;
  typename T::TrainingArena arena_;
  typename T::TrainingArena twin_arena_;
  T trainer_;
  T twin_;
  std::size_t batch_;
  std::size_t pending_ = 0;              // samples whose gradients wait for an update
  std::vector<Record> pending_records_;  // those samples
  float clip_ = 0.0f;                    // the clipping norm in force
  typename T::TrainingArena reference_arena_;
  HyperParameters hyper_;
  Model full_guard_model_;  // (used when compares_guard_modes)
  typename T::TrainingArena full_guard_arena_;
  T full_guard_;
};

// ---------------------------------------------------------------------------------------
// The feature caches.
// ---------------------------------------------------------------------------------------
// A float one, over a frozen float Dense (add() refuses NaN, infinite and huge inputs or
// features), fed the record's floats; and an int8 one, over an int8 extractor (the cache
// keeps int8 codes and replays the Dequantize), fed the 16 data bytes as int8 codes.
//
// (A float-input model that quantizes on the way, Input<float> -> Quantize -> int8 layers ->
// Dequantize -> Trainable, would feed the int8 cache arbitrary floats; but FeatureCache::add
// does not compile for it: Trainer::forward_to_cache initialises each layer's output
// quantization from its input's (`out_quant = quant`), and a Quantize's input has none
// (NoQuant). Trainer::step compiles and runs on that model.)
using FloatNet = Sequential<Input<Shape<4>>, Dense<6>, ReLU, Trainable<Dense<3>>>;
using Int8Net =
    Sequential<Input<Shape<16>, QInt8>, Dense<6>, ReLU, Dequantize, Trainable<Dense<3>>>;

inline constexpr std::array<float, 24> frozen_w = {
    0.5f, -0.3f, 0.2f,  0.1f,  -0.4f, 0.6f, 0.05f, -0.2f,  0.3f,  0.3f, -0.1f, -0.5f,
    0.7f, 0.2f,  -0.6f, 0.15f, 0.25f, 0.0f, 0.45f, -0.35f, -0.2f, 0.1f, 0.4f,  0.05f};
inline constexpr std::array<float, 6> frozen_b = {0.1f, -0.1f, 0.05f, 0.0f, 0.2f, -0.05f};
inline constexpr LinearParams<float, 24, 6> frozen_p{frozen_w, frozen_b};
inline constexpr std::array<float, 18> head_w = {0.2f,  -0.1f, 0.3f, 0.05f, -0.25f, 0.1f,
                                                 -0.3f, 0.15f, 0.2f, 0.1f,  0.05f,  -0.2f,
                                                 0.12f, -0.2f, 0.1f, 0.3f,  -0.15f, 0.25f};
inline constexpr std::array<float, 3> head_b = {0.0f, 0.05f, -0.05f};
inline constexpr LinearParams<float, 18, 3> head_p{head_w, head_b};

inline constexpr quant::QuantParams int8_input{0.02f, -5};
// The int8 Dense's parameters; the model refers to them (frozen layers are not copied), so
// they live as long as the program.
inline const auto& int8_dense_params() {
  static const auto quantized = [] {
    std::array<float, 96> w{};
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = static_cast<float>((i * 37U) % 17U) * 0.05f - 0.4f;
    }
    const std::array<float, 6> b = {0.1f, -0.1f, 0.05f, 0.0f, 0.2f, -0.05f};
    return quantize_linear<ChannelAxis::leading>(std::span<const float, 96>(w),
                                                 std::span<const float, 6>(b), int8_input,
                                                 quant::QuantParams{0.05f, -128});
  }();
  static const auto params = quantized.params();
  return params;
}

struct FloatNetLane {
  static constexpr const char* name = "float cache";
  using Model = FloatNet;
  static Model make() { return Model(frozen_p, head_p); }
  static constexpr std::array<MlpLane::Input, 3> probes = {
      {MlpLane::probes[0], MlpLane::probes[1], MlpLane::probes[3]}};
};
struct Int8NetLane {
  static constexpr const char* name = "int8 cache";
  using Model = Int8Net;
  static Model make() { return Model(int8_input, int8_dense_params(), head_p); }
  static constexpr std::array<std::array<std::int8_t, 16>, 3> probes = Int8ConvLane::probes;
};

inline constexpr std::size_t cache_classes = 3;

template <class Lane, class Optimizer>
class CacheRun {
 public:
  using Model = typename Lane::Model;
  using T = Trainer<Model, SoftmaxCrossEntropy, Optimizer>;
  using Cache = FeatureCache<T, 4>;
  // As in LaneRun: where the trainer can fuse plain SGD, a second trainer on a second copy
  // of the model trains on the same cache with GuardCheck::full (trainer_: bounded). (The
  // int8 cache's replayed features take the fused guard's other input bound: that of their
  // quantization, guard::replay_bound.)
  static constexpr bool compares_guard_modes = T::fusable;

  CacheRun(const HyperParameters& h, std::size_t batch)
      : model_(Lane::make()),
        trainer_(model_, Optimizer{}, arena_, batch),
        full_guard_model_(Lane::make()),
        full_guard_(full_guard_model_, Optimizer{}, full_guard_arena_, batch),
        batch_(batch) {
    assign(trainer_.optimizer(), h);
    assign(full_guard_.optimizer(), h);
    trainer_.set_guard_check(GuardCheck::bounded);
    full_guard_.set_guard_check(GuardCheck::full);
  }

  // FeatureCache::add with any label: refused exactly when due, stores exactly when ok.
  // `input_status`: the cause of the input itself (a valid input can still make an
  // out-of-range feature: the frozen Dense scales it).
  Failure add(typename Model::input_view input, std::uint32_t label, Status input_status) {
    const std::size_t size_before = cache_.size();
    const Status added = cache_.add(trainer_, input, label);
    const bool due_label = label >= cache_classes;
    const bool due_full = size_before == Cache::capacity;
    const bool named = (due_label && added == Status::label_out_of_range) ||
                       (due_full && added == Status::capacity_exceeded) ||
                       (input_status != Status::ok && added == input_status);
    if (due_label || due_full || input_status != Status::ok) {
      if (!named) {
        return "FeatureCache::add did not refuse a bad label, a full cache or a bad float input "
               "with (one of) its due causes";
      }
    } else if (added != Status::ok && added != Status::out_of_range) {
      return "FeatureCache::add refused a valid sample with other than out_of_range";
    }
    if (cache_.size() != size_before + (added == Status::ok ? 1U : 0U)) {
      return "FeatureCache::add stored a sample it refused, or did not store one it accepted";
    }
    if (added == Status::ok && cache_.target(size_before) != label) {
      return "FeatureCache::add stored another label than the one given";
    }
    return nullptr;
  }

  // Epochs over whatever the cache holds, with the hyper-parameters `h`.
  Failure epochs(const HyperParameters& h, std::uint32_t seed) {
    assign(trainer_.optimizer(), h);
    const Status clipping = trainer_.set_gradient_clipping(h.clip);
    if (clipping != (valid_clip(h.clip) ? Status::ok : Status::invalid_argument)) {
      return "set_gradient_clipping answered other than invalid_argument for a negative, NaN or "
             "infinite norm and ok otherwise";
    }
    if constexpr (compares_guard_modes) {
      assign(full_guard_.optimizer(), h);
      if (full_guard_.set_gradient_clipping(h.clip) != clipping) {
        return "the full-guard twin's set_gradient_clipping answered differently";
      }
    }
    const bool fused = compares_guard_modes && batch_ == 1 && valid<Optimizer>(h) &&
                       h.weight_decay == 0.0f && valid_clip(h.clip) && h.clip == 0.0f &&
                       cache_.size() > 0;
    for (int epoch = 0; epoch < 2; ++epoch) {
      const Snapshot<Model> before = snapshot(model_);
      const Status status = cache_.train_epoch(trainer_, seed);
      MICROTL_FUZZ_LOG("%s epoch (%zu samples): %s\n", Lane::name, cache_.size(),
                       to_string(status));
      if (cache_.size() == 0) {
        if (status != Status::ok) {
          return "FeatureCache::train_epoch on an empty cache was not ok";
        }
      } else if (!valid<Optimizer>(h)) {
        if (status != Status::invalid_argument || snapshot(model_) != before) {
          return "FeatureCache::train_epoch with an invalid hyper-parameter was not "
                 "invalid_argument, or changed the model";
        }
      } else if (status != Status::ok && status != Status::diverged) {
        return "FeatureCache::train_epoch answered other than ok or diverged (a stored sample "
               "was refused)";
      }
      if constexpr (compares_guard_modes) {
        const Status full = cache_.train_epoch(full_guard_, seed);
        MICROTL_FUZZ_LOG("%s epoch, full guard: %s (lr %g, largest |value| %g)\n", Lane::name,
                         to_string(full), static_cast<double>(h.learning_rate),
                         static_cast<double>(largest_magnitude(model_)));
        if (full != status) {
          return "FeatureCache::train_epoch answered differently with the bounded fused guard "
                 "(GuardCheck::bounded) and the full one (GuardCheck::full)";
        }
        if (full_guard_.diverged_steps() != trainer_.diverged_steps() ||
            full_guard_.refused_samples() != trainer_.refused_samples()) {
          return "the bounded and the full fused guard counted diverged_steps() or "
                 "refused_samples() differently over a feature-cache epoch";
        }
        if (snapshot(full_guard_model_) != snapshot(model_)) {
          return "the bounded and the full fused guard left trained values that are not "
                 "bit-identical after a feature-cache epoch";
        }
        if (!bounds_unknown(full_guard_model_)) {
          return "GuardCheck::full left a layer's magnitude_bound known (it never computes one)";
        }
        if (fused) {
          ++(status == Status::ok ? guard_decisions.cache_epochs_ok
                                  : guard_decisions.cache_epochs_diverged);
        }
      }
      if (!bounds_sound(model_)) {
        return "a layer's magnitude_bound is below the largest |value| of its trained tensors "
               "(the fused guard's bound is not sound)";
      }
      if (require_invariant) {
        if (const Failure f = check_model_runs<Lane>(model_)) {
          return f;
        }
      }
    }
    return nullptr;
  }

 private:
  Model model_;
  typename T::TrainingArena arena_;
  T trainer_;
  Cache cache_;
  Model full_guard_model_;  // (used when compares_guard_modes)
  typename T::TrainingArena full_guard_arena_;
  T full_guard_;
  std::size_t batch_;
};

// ---------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------
template <class Optimizer>
Failure run_with(ByteReader& in, std::size_t batch, std::uint32_t epoch_seed) {
  std::array<HyperParameters, 2> sets{};
  for (HyperParameters& h : sets) {
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    const std::uint8_t c = in.u8();
    h = hyper_parameters(a, b, c);
  }
  std::size_t current = 0;

  LaneRun<MlpLane, Optimizer> mlp(sets[0], batch);
  LaneRun<Int8DenseLane, Optimizer> dense(sets[0], batch);
  LaneRun<Int8ConvLane, Optimizer> conv(sets[0], batch);
  LaneRun<Int8ChainLane, Optimizer> chain(sets[0], batch);
  const auto for_lanes = [&](auto&& f) -> Failure {
    if (const Failure failure = f(mlp)) {
      return failure;
    }
    if (const Failure failure = f(dense)) {
      return failure;
    }
    if (const Failure failure = f(conv)) {
      return failure;
    }
    return f(chain);
  };
  if (const Failure f = for_lanes([&](auto& lane) { return lane.set(sets[current]); })) {
    return f;
  }
  CacheRun<FloatNetLane, Optimizer> float_cache(sets[0], batch);
  CacheRun<Int8NetLane, Optimizer> int8_cache(sets[0], batch);

  for (std::size_t n = 0; n < max_records && in.remaining() > 0; ++n) {
    Record r;
    r.op = in.u8();
    r.label = in.u32();
    for (std::uint8_t& b : r.data) {
      b = in.u8();
    }
    if ((r.op & op_switch) != 0) {
      current = 1 - current;
      if (const Failure f = for_lanes([&](auto& lane) { return lane.set(sets[current]); })) {
        return f;
      }
    }
    if (const Failure f = for_lanes([&](auto& lane) { return lane.step(r); })) {
      return f;
    }
    if ((r.op & op_apply) != 0) {
      if (const Failure f = for_lanes([](auto& lane) { return lane.apply(); })) {
        return f;
      }
    }

    const std::array<float, 4> floats = r.floats();
    if (const Failure f =
            float_cache.add(FloatNet::input_view(floats), r.label, input_cause(floats))) {
      return f;
    }
    const std::array<std::int8_t, 16> codes = r.codes<16>();
    if (const Failure f = int8_cache.add(Int8Net::input_view(codes), r.label, Status::ok)) {
      return f;
    }
  }

  // The last, partial mini-batch.
  if (const Failure f = for_lanes([](auto& lane) { return lane.apply(); })) {
    return f;
  }
  if (const Failure f = float_cache.epochs(sets[current], epoch_seed)) {
    return f;
  }
  return int8_cache.epochs(sets[current], epoch_seed);
}

inline Failure run(std::span<const std::uint8_t> data) {
  ByteReader in(data);
  const std::uint8_t config = in.u8();
  const std::size_t batch = std::size_t{1} + (config & 0x3U);
  const std::uint32_t epoch_seed = static_cast<std::uint32_t>(config >> 4);
  switch ((config >> 2) & 0x3U) {
    case 1:
      return run_with<SGD>(in, batch, epoch_seed);
    case 2:
      return run_with<Adam>(in, batch, epoch_seed);
    default:
      return run_with<SGDMomentum>(in, batch, epoch_seed);
  }
}

}  // namespace microtl_fuzz::train_step
