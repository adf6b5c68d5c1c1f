// The update at the end of a mini-batch: gradient-norm clipping, the divergence guard, and
// the optimizer applied to every trained tensor of the model (train/trained_tensors.hpp).
//
// The gradients of layer I start at grad_offset[I] in the training arena and follow its
// trained tensors in order (weights, then bias); its optimizer state, state_per_parameter
// floats per value, starts at state_offset[I] in the same order.
//
// The divergence guard runs every tensor's update once without writing (Optimizer::step
// <false>: would every new value and state meet the invariant of train/guard.hpp, as the
// layer's State::admits and guard::state_ok say?) and only then for real: a refused update
// changes nothing, not even the optimizer's step counters. No copy of the parameters is
// needed.
//
// Gradient clipping needs the L2 norm of all gradients. Summing squares overflows once a
// gradient passes about 1.8e19 (and then clipping would refuse what it should scale), so
// the norm is taken relative to the largest magnitude m:
//   ||g|| = m * sqrt(sum_i (g_i / m)^2)        every term <= 1: the sum is at most n
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/status.hpp"
#include "microtl/train/guard.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl {

namespace update_detail {

// Calls f(values, grads, state) for every trained tensor of the model, with the spans of its
// gradients and optimizer state in the arena at `base`.
// Calls f(values, grads, state, check) for every trained tensor of the model, with the spans
// of its gradients and optimizer state in the arena at `base`, and the guard's check for
// its new values (the layer's State::admits).
template <class Plan, class Model, class Optimizer, class F>
void for_each_update_target(Model& model, std::byte* base, const Plan& plan, F&& f) noexcept {
  constexpr std::size_t spp = Optimizer::state_per_parameter;
  for_each_trained_tensor(model, [&](auto layer, auto tensor, auto values) {
    constexpr std::size_t I = decltype(layer)::value;
    constexpr std::size_t tensor_index = decltype(tensor)::value;
    using L = typename Model::template layer<I>;
    constexpr std::size_t before = trained_values_before<L>(tensor_index);
    float* grads = static_cast<float*>(
        static_cast<void*>(base + plan.grad_offset[I] + before * sizeof(float)));
    float* state = static_cast<float*>(
        static_cast<void*>(base + plan.state_offset[I] + spp * before * sizeof(float)));
    using State = std::remove_cvref_t<decltype(model.template state<I>())>;
    const guard::UpdateCheck<State, tensor_index> check{model.template state<I>()};
    f(std::span<float>(values), std::span<const float>(grads, values.size()),
      std::span<float>(state, spp * values.size()), check);
  });
}

// The L2 norm of `grads` without overflow (see above); NaN or infinity when one is.
inline float l2_norm(std::span<const float> grads) noexcept {
  float largest = 0.0f;
  for (const float g : grads) {
    const float magnitude = std::fabs(g);
    largest = magnitude > largest || magnitude != magnitude ? magnitude : largest;
  }
  if (largest == 0.0f || !std::isfinite(largest)) {
    return largest;
  }
  float squares = 0.0f;
  for (const float g : grads) {
    const float ratio = g / largest;
    squares += ratio * ratio;
  }
  return largest * std::sqrt(squares);
}

}  // namespace update_detail

// One optimizer step from `samples` accumulated gradients (their sum is in the arena).
//   ok                the parameters moved (and every trainable layer refreshed what it
//                     derives)
//   invalid_argument  a hyper-parameter is out of its range (Optimizer::validate): nothing
//                     changed
//   diverged          a gradient is not finite, or (Guard) the update would have broken the
//                     invariant of train/guard.hpp: nothing changed
// max_grad_norm > 0 clips the mean gradient to that L2 norm.
template <bool Guard, class Model, class Optimizer, class Plan>
Status apply_update(Model& model, Optimizer& optimizer, std::byte* base, const Plan& plan,
                    std::size_t samples, float max_grad_norm) noexcept {
  MICROTL_TRY(optimizer.validate());
  float scale = 1.0f / static_cast<float>(samples);
  if (max_grad_norm > 0.0f) {
    // The mean gradient g = sum / n has norm |sum| * scale; above the limit, scale it down.
    const float norm = update_detail::l2_norm(std::span<const float>(
                           static_cast<const float*>(static_cast<const void*>(base)),
                           plan.parameter_grad_bytes / sizeof(float))) *
                       scale;
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
    bool within = true;
    update_detail::for_each_update_target<Plan, Model, Optimizer>(
        model, base, plan, [&](auto values, auto grads, auto state, const auto& check) {
          within =
              within && optimizer.template step<false>(values, grads, state, scale, context, check);
        });
    if (!within) {
      optimizer = before;
      return Status::diverged;
    }
  }
  update_detail::for_each_update_target<Plan, Model, Optimizer>(
      model, base, plan, [&](auto values, auto grads, auto state, const auto&) {
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
