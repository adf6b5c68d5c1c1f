// The divergence guard of a fused SGD step (batch 1, plain SGD: the backward pass writes
// the parameters as it goes, train/gradient_sink.hpp), in two versions that refuse exactly
// the same steps:
//
//   GuardCheck::full     every new value is computed once without writing (the sgd_check
//                        policy: the very expression the update writes) and tested against
//                        the invariant (P) of train/guard.hpp; then the update runs. Two
//                        backward passes.
//   GuardCheck::bounded  first a bound on every new value from a few sums (below); when it
//                        proves them all within (P), the update runs at once. Otherwise, or
//                        when the model is not a chain of dense layers and ReLUs, the full
//                        check decides. A few hundred instructions per step.
//
// Why the bound is sound. For a dense layer trained by fused SGD (batch 1, rate lr),
//   W'[o][i] = W[o][i] - (lr g[o]) x[i],   b'[o] = b[o] - lr g[o]
// with g the gradient at its (pre-activation) output and x its input. If P >= |p| for every
// value p of the layer, G >= |g[o]| for every o and X >= max(1, |x[i]|) for every i, then
//   |p'| <= P + lr G X
// exactly; in float every product and sum of the update rounds once (relative error at most
// u = 2^-24), and so does every operation computing the bound: multiplying the bound by
// slack = 1 + 2^-10 covers them with room to spare (for up to 2^13 terms in a sum: (1 + u)^n
// <= 1 + 2^-11). Sums of magnitudes bound the maxima: X = max(1, sum_i |x[i]|), and for the
// last layer G = sum_o |dL/dy[o]| (a ReLU-family derivative is 0 or 1). One layer down,
//   g_below[i] = act'(.) sum_o W[o][i] g[o],   so   G_below <= Units * P * G
// with P and G of the layer above, before its update (the backward pass reads W first). A
// ReLU or ReLU6 layer in between passes G on unchanged.
//
// P is kept in each layer's State (magnitude_bound): after a step it is the bound of that
// step, P + lr G X (the true magnitudes are usually far below it). When it is unknown
// (after refresh(): a load, a non-fused update) or no longer proves the step, the layer's
// values are scanned for their true maximum once and the bound is tried again. Any NaN or
// infinity in g or x makes a sum non-finite, the test `bound <= limit` false, and the full
// check decide.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/layers/contract.hpp"
#include "microtl/train/guard.hpp"

namespace microtl {

enum class GuardCheck : std::uint8_t { bounded, full };

namespace fused_guard {

inline constexpr float slack = 1.0f + 1.0f / 1024.0f;

// sum_i |v[i]| (NaN or infinity when one is).
inline float sum_of_magnitudes(const float* v, std::size_t n) noexcept {
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    sum += std::fabs(v[i]);
  }
  return sum;
}

// The largest |p| over the layer's trained values (NaN when one is).
template <class State>
float scan_magnitude(const State& state) noexcept {
  float largest = 0.0f;
  state.for_each_trained([&](auto, auto values) {
    for (const float v : values) {
      const float m = std::fabs(v);
      largest = (m > largest || m != m) ? m : largest;
    }
  });
  return largest;
}

// Whether layer L of the trainable region can be bounded: a trained float dense layer, or a
// layer whose input gradient is no larger than its output gradient, or a view.
template <class L>
constexpr bool boundable() {
  if constexpr (is_trainable_v<L>) {
    if constexpr (requires { requires L::outer_product_gradient; }) {
      return L::out_features <= 8192 && L::in_features <= 8192;
    } else {
      return false;
    }
  } else {
    return L::placement == OutputPlacement::view || requires { requires L::nonexpanding_gradient; };
  }
}

// The bound walk over layers I = Last .. First (see above). `input_of<I>()` is the saved
// input of layer I; `states` the model; g the bound G at the output of layer I. On success
// every trained layer's new bound is written to `next[I]` (the caller commits them after
// the update).
template <std::size_t I, std::size_t First, class Model, class InputOf, class Next>
bool bound_step(Model& model, float lr, float g, InputOf&& input_of, Next& next) noexcept {
  using L = typename Model::template layer<I>;
  float g_below = g;
  if constexpr (is_trainable_v<L>) {
    auto& state = model.template state<I>();
    const float x = std::fmax(
        1.0f, sum_of_magnitudes(input_of.template operator()<I>(), L::in_features) * slack);
    const auto bound_with = [&](float p) { return (p + lr * g * x) * slack; };
    float p = state.magnitude_bound;
    float bound = bound_with(p);
    if (!(bound <= guard::parameter_limit)) {
      p = scan_magnitude(state);  // the true maximum, once
      state.magnitude_bound = p;
      bound = bound_with(p);
      if (!(bound <= guard::parameter_limit)) {
        return false;
      }
    }
    next[I] = bound;
    g_below = static_cast<float>(L::out_features) * p * g * slack;
  }
  if constexpr (I > First) {
    return bound_step<I - 1, First>(model, lr, g_below, input_of, next);
  } else {
    (void)g_below;
    return true;
  }
}

}  // namespace fused_guard

}  // namespace microtl
