// The guard's invariant: what holds of a model after every accepted training step, every
// successful load and every feature-cache insertion, so that the model can still run.
//
//   (P) every trained float value p:            |p| <= parameter_limit = 2^24
//   (S) every optimizer state value s:          |s| <= state_limit     = 2^64
//   (B) every trained int8 layer's int32 bias:  |b| <= bias_limit(K)   = 2^31 - 1 - 2^15 K
//       (K: the layer's fan-in, weights per output channel)
//   (X) a sample trains only when every float value it feeds the trainable part is finite
//       with |x| <= feature_limit = 2^24 (int8 codes always are), and its loss is finite
//
// Each is a strict "<=", so NaN fails every one of them: finiteness is part of the bound.
//
// Why these bounds hold under normal training and still protect the model:
//  - (B) is exact, not a heuristic. An int8 linear kernel adds to the bias K products
//    w * (x - z) with w, x, z int8: |w * (x - z)| <= 128 * 255 < 2^15. The DSP kernels split
//    the sum as w * x + (-z) * w (each part < 2^14 per term), so in any order of additions
//    every partial sum stays within |b| + 2^15 K <= 2^31 - 1: the int32 accumulator cannot
//    overflow for any int8 input. TFLite's converter gives biases of a few thousand steps;
//    even K = 4096 leaves 1.88e9 steps of room.
//  - (P) 2^24 is where float32's spacing reaches 2: a parameter that large has stopped
//    learning (any step |lr * g| < 1 rounds away), so no useful training goes there. Trained
//    networks, with weight decay and normalised inputs, keep |w| well under 100.
//  - (X) 2^24 is the same bound for activations: a 24-bit ADC's full scale is 2^23; larger
//    is a broken sensor or an attack. With (P) and (X), one float linear layer of fan-in
//    K <= 2^16 gives |y| <= K 2^48 + 2^24 < 2^65, and a second one < 2^106: a head of up to
//    two float linear layers (the MicroTL recipe) stays finite for every admissible input.
//    Deeper heads are protected by the loss check of (X): an overflowing sample is refused.
//  - (S) is the headroom for the next step: momentum and Adam's first moment are gradient
//    sized, Adam's second moment is a squared gradient (|g| up to 2^32), and 2^64 leaves a
//    factor 2^64 below float's maximum, so that the next update's arithmetic cannot overflow
//    from the state side.
//
// Who enforces what:
//  - the trainer (train/trainer.hpp) checks (X) before anything is touched (Status::
//    not_finite or out_of_range: the input is the cause), validates the optimizer's
//    hyper-parameters (invalid_argument), and before writing an update computes every new
//    value and state once and refuses the update (Status::diverged: the update is the cause,
//    counted in diverged_steps()) unless (P), (S) and (B) hold for all of them;
//  - io::load (io/parameter_store.hpp) accepts a blob only when every value meets (P) and
//    (B) (Status::out_of_range otherwise);
//  - FeatureCache::add (train/feature_cache.hpp) stores a sample only when it meets (X).
// Each trainable layer's State says which values it admits (State::admits, layers/
// contract.hpp): (P), and for an int8 bias-only layer also (B).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "microtl/config.hpp"
#include "microtl/core/status.hpp"
#include "microtl/kernels/mve/float_checks.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl::guard {

inline constexpr float parameter_limit = 16777216.0f;          // 2^24
inline constexpr float feature_limit = 16777216.0f;            // 2^24
inline constexpr float state_limit = 18446744073709551616.0f;  // 2^64
// A magnitude bound not known (yet): fails every `bound <= limit` test.
inline constexpr float unknown_bound = __builtin_inff();

// The largest int32 bias magnitude an int8 linear layer of fan-in K may hold (B).
constexpr std::int32_t bias_limit(std::size_t fan_in) noexcept {
  constexpr std::int64_t int32_max = 2147483647;
  constexpr std::int64_t per_term = std::int64_t{1} << 15;  // > 128 * 255
  const std::int64_t room = int32_max - per_term * static_cast<std::int64_t>(fan_in);
  return room > 0 ? static_cast<std::int32_t>(room) : 0;
}

// The guarded update tests every new value, so the test must be cheap: two multiplies and no
// branch. With K = FLT_MAX / limit (an exact power-of-two scaling of FLT_MAX), v * K is
// finite exactly when |v| <= limit: at |v| = limit it is FLT_MAX itself; at the next float
// above, the exact product exceeds FLT_MAX by far more than half its spacing and rounds to
// infinity. Infinity times 0 is NaN, a finite value times 0 is 0, and a NaN stays NaN:
//   poison(v) = (v * K) * 0      is 0 when |v| <= limit, NaN otherwise (NaN and infinity too)
// Summing poisons keeps 0 or NaN (a sum of zeros cannot overflow).
inline constexpr float float_max = 3.40282346638528859812e+38f;
inline float parameter_poison(float value) noexcept {
  return (value * (float_max / parameter_limit)) * 0.0f;
}
inline float state_poison(float value) noexcept {
  return (value * (float_max / state_limit)) * 0.0f;
}

// (P): finite and within the parameter bound.
inline bool parameter_ok(float value) noexcept {
  return parameter_poison(value) == 0.0f;
}

// (S)
inline bool state_ok(float value) noexcept {
  return state_poison(value) == 0.0f;
}

// (X) for one float value.
constexpr bool feature_ok(float value) noexcept {
  return value <= feature_limit && value >= -feature_limit;
}

// (X) for the float values of a sample: ok, not_finite (a NaN or infinity) or out_of_range
// (finite, beyond feature_limit).
inline Status check_features(std::span<const float> values) noexcept {
#if MICROTL_USE_MVE_FLOAT_KERNELS
  // Four values per compare (the same answer: kernels/mve/float_checks.hpp).
  const bool within = kernels::mve::all_within_f32(values.data(), values.size(), feature_limit);
#else
  bool within = true;
  for (const float v : values) {
    within = within && feature_ok(v);
  }
#endif
  if (within) {
    return Status::ok;
  }
  for (const float v : values) {
    if (v != v || v - v != 0.0f) {  // NaN, or infinity (inf - inf is NaN)
      return Status::not_finite;
    }
  }
  return Status::out_of_range;
}

// (X) for int8 codes replayed through a Dequantize (a feature cache's): every
//   s (q - z),  q in [-128, 127],   is at most   |s| max(|-128 - z|, |127 - z|)
// in magnitude, so one test of the quantization stands for the test of every value. The
// bound, or not_finite for a NaN or infinite scale, or out_of_range when the bound passes
// feature_limit or |z| > 2^24 (where q - z could overflow and the float bound be inexact).
inline Result<float> replay_bound(const quant::QuantParams& quant) noexcept {
  const float s = std::fabs(quant.scale);
  if (!(s - s == 0.0f)) {  // NaN or infinity
    return Status::not_finite;
  }
  constexpr std::int32_t largest_zero_point = 16777216;  // 2^24
  if (quant.zero_point > largest_zero_point || quant.zero_point < -largest_zero_point) {
    return Status::out_of_range;
  }
  const float z = static_cast<float>(quant.zero_point);  // exact below 2^24
  const float bound = s * std::fmax(std::fabs(-128.0f - z), std::fabs(127.0f - z));
  if (!feature_ok(bound)) {
    return Status::out_of_range;
  }
  return bound;
}

// What an optimizer's guarded step (step<false>, train/optimizer.hpp) asks of every new
// value it computes, as a poison (0 when admitted, NaN otherwise, see above): `parameter(i,
// v)` for trained value i of the tensor, `state(v)` for an optimizer state value.
// A layer whose State declares `uniform_parameter_bound` admits exactly (P) for every value
// (the float layers): its check is the two multiplies; any other asks State::admits.
template <class State, std::size_t Tensor>
struct UpdateCheck {
  const State& layer_state;
  float parameter(std::size_t i, float value) const noexcept {
    if constexpr (requires { requires State::uniform_parameter_bound; }) {
      (void)i;
      return parameter_poison(value);
    } else {
      return layer_state.admits(Tensor, i, value) ? 0.0f : not_admitted;
    }
  }
  static float state(float value) noexcept { return state_poison(value); }

 private:
  static constexpr float not_admitted = __builtin_nanf("");
};

// Whether every trained value of `model` meets the invariant ((P), and (B) for int8 bias-only
// layers): ok, or out_of_range naming the first value that does not (a model built from
// parameters that already break it, or a state restored from elsewhere).
template <class Model>
Status check_model(const Model& model) noexcept {
  bool within = true;
  for_each_trained_tensor(model, [&](auto layer, auto tensor, auto values) {
    const auto& state = model.template state<decltype(layer)::value>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      within = within && state.admits(decltype(tensor)::value, i, values[i]);
    }
  });
  return within ? Status::ok : Status::out_of_range;
}

}  // namespace microtl::guard
