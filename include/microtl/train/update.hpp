// The update at the end of a mini-batch: gradient-norm clipping, the divergence guard, and
// the optimizer applied to every trained tensor of the model (train/trained_tensors.hpp).
//
// The gradients of layer I start at grad_offset[I] in the training arena and follow its
// trained tensors in order (weights, then bias); its optimizer state, state_per_parameter
// floats per value, starts at state_offset[I] in the same order.
//
// The divergence guard runs every tensor's update once without writing (Optimizer::step
// <false>: does any new value or state become NaN or infinite?) and only then for real: a
// refused update changes nothing, not even the optimizer's step counters. No copy of the
// parameters is needed.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include "microtl/core/status.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl {

namespace update_detail {

// Calls f(values, grads, state) for every trained tensor of the model, with the spans of its
// gradients and optimizer state in the arena at `base`.
template <class Plan, class Model, class Optimizer, class F>
void for_each_update_target(Model& model, std::byte* base, const Plan& plan, F&& f) noexcept {
  constexpr std::size_t spp = Optimizer::state_per_parameter;
  for_each_trained_tensor(model, [&](auto layer, auto tensor, auto values) {
    constexpr std::size_t I = decltype(layer)::value;
    using L = typename Model::template layer<I>;
    constexpr std::size_t before = trained_values_before<L>(decltype(tensor)::value);
    float* grads = static_cast<float*>(
        static_cast<void*>(base + plan.grad_offset[I] + before * sizeof(float)));
    float* state = static_cast<float*>(
        static_cast<void*>(base + plan.state_offset[I] + spp * before * sizeof(float)));
    f(std::span<float>(values), std::span<const float>(grads, values.size()),
      std::span<float>(state, spp * values.size()));
  });
}

}  // namespace update_detail

// One optimizer step from `samples` accumulated gradients (their sum is in the arena).
//   ok        the parameters moved (and every trainable layer refreshed what it derives)
//   diverged  the clipped gradient norm is not finite, or (Guard) the update would have made
//             a parameter or the optimizer state NaN or infinite: nothing changed
// max_grad_norm > 0 clips the mean gradient to that L2 norm.
template <bool Guard, class Model, class Optimizer, class Plan>
Status apply_update(Model& model, Optimizer& optimizer, std::byte* base, const Plan& plan,
                    std::size_t samples, float max_grad_norm) noexcept {
  float scale = 1.0f / static_cast<float>(samples);
  if (max_grad_norm > 0.0f) {
    // The mean gradient g = sum / n has norm |sum| * scale; above the limit, scale it down.
    const float* grads = static_cast<const float*>(static_cast<const void*>(base));
    float squares = 0.0f;
    for (std::size_t i = 0; i < plan.parameter_grad_bytes / sizeof(float); ++i) {
      squares += grads[i] * grads[i];
    }
    const float norm = std::sqrt(squares) * scale;
    if (!std::isfinite(norm)) {
      return Status::diverged;
    }
    if (norm > max_grad_norm) {
      scale *= max_grad_norm / norm;
    }
  }
  const Optimizer before = optimizer;  // its step counters (Adam's b^t) roll back too
  const auto context = optimizer.begin_step();
  if constexpr (Guard) {
    bool finite = true;
    update_detail::for_each_update_target<Plan, Model, Optimizer>(
        model, base, plan, [&](auto values, auto grads, auto state) {
          finite = finite && optimizer.template step<false>(values, grads, state, scale, context);
        });
    if (!finite) {
      optimizer = before;
      return Status::diverged;
    }
  }
  update_detail::for_each_update_target<Plan, Model, Optimizer>(
      model, base, plan, [&](auto values, auto grads, auto state) {
        (void)optimizer.template step<true>(values, grads, state, scale, context);
      });
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (is_trainable_v<typename Model::template layer<I>>) {
            model.template state<I>().refresh();
          }
        }(),
        ...);
  }(std::make_index_sequence<Model::layer_count>{});
  return Status::ok;
}

}  // namespace microtl
