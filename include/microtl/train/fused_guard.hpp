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
// with P and G of the layer above, before its update (the backward pass reads W first);
// more precisely |g_below[i]| <= P sum_o |g[o]| and sum_i |g_below[i]| <= In P sum_o |g[o]|.
// A ReLU or ReLU6 layer in between passes G on unchanged.
//
// P is kept in each layer's State (magnitude_bound): after a step it is the bound of that
// step, P + lr G X (the true magnitudes are usually far below it, and the bounds of the
// layers above grow the G below). When a P is unknown (after refresh(): a load, a non-fused
// update) or the bounds no longer prove the step, every trained layer's values are scanned
// for their true maximum and the bound is tried again: a scan every few hundred steps in
// normal training. Any NaN or infinity in g or x makes a sum non-finite, the test
// `bound <= limit` false, and the full check decide.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

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
    // Every value of the layer trains and its State keeps their bound (not a bias-only
    // layer: the gradient below passes through its frozen weights, which P does not bound).
    if constexpr (
        requires { requires L::outer_product_gradient; } &&
        requires(typename L::State state) { state.magnitude_bound; }) {
      return L::out_features <= 8192 && L::in_features <= 8192;
    } else {
      return false;
    }
  } else {
    return L::placement == OutputPlacement::view || requires { requires L::nonexpanding_gradient; };
  }
}

// The bound walk over layers I = Last .. First (see above), from G at the output of layer
// I: g_max >= every |g[o]|, g_sum >= sum_o |g[o]|. `input_of<I>()` is the saved input of
// layer I; first_x >= 0 is a known bound of every |x[i]| of the first trained layer (replayed
// int8 features: guard::replay_bound), used instead of their sum. On success every trained
// layer's new bound is in next[I] (the caller commits
// them after the update); false when a bound exceeds the limit (or is NaN, or a layer's P
// is unknown).
template <std::size_t I, std::size_t First, class Model, class InputOf, class Next>
bool bound_step(const Model& model, float lr, float g_max, float g_sum, float first_x,
                InputOf&& input_of, Next& next) noexcept {
  using L = typename Model::template layer<I>;
  float max_below = g_max;
  float sum_below = g_sum;
  if constexpr (is_trainable_v<L>) {
    const float p = model.template state<I>().magnitude_bound;
    const float x_sum = I == First && first_x >= 0.0f
                            ? first_x
                            : sum_of_magnitudes(input_of.template operator()<I>(), L::in_features);
    const float x = std::fmax(1.0f, x_sum * slack);
    const float bound = (p + lr * g_max * x) * slack;
    if (!(bound <= guard::parameter_limit)) {
      return false;
    }
    next[I] = bound;
    // dx[i] = sum_o W[o][i] g[o]:  |dx[i]| <= P sum_o |g[o]|,  sum_i |dx[i]| <= In P sum_o |g[o]|
    max_below = p * g_sum * slack;
    sum_below = static_cast<float>(L::in_features) * max_below;
  }
  if constexpr (I > First) {
    return bound_step<I - 1, First>(model, lr, max_below, sum_below, first_x, input_of, next);
  } else {
    (void)max_below;
    (void)sum_below;
    return true;
  }
}

// Every trained layer's P from a scan of its values (their true maximum).
template <std::size_t First, class Model>
void rescan(Model& model) noexcept {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (is_trainable_v<typename Model::template layer<First + I>>) {
            auto& state = model.template state<First + I>();
            state.magnitude_bound = scan_magnitude(state);
          }
        }(),
        ...);
  }(std::make_index_sequence<Model::layer_count - First>{});
}

}  // namespace fused_guard

}  // namespace microtl
