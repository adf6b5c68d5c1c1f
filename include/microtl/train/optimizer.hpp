// Optimizers: how accumulated gradients change the trainable parameters.
//
// Each optimizer updates one tensor at a time, given its gradient sum over a mini-batch
// and `grad_scale` = 1 / (samples in the batch), and keeps `state_per_parameter` floats of
// state per trainable value (in the trainer's arena; none for the frozen layers). All
// arithmetic is single precision: a Cortex-M4F has a single-precision FPU only.
//
// The update rules are PyTorch's (torch.optim.SGD and Adam, weight decay added to the
// gradient, applied to every trainable tensor).
//
// Each update is written once, as `step<Write>`: with Write = false it computes every new
// value without storing any and reports whether all of them meet the guard's invariant
// (train/guard.hpp): check.parameter(i, p) for every new parameter, check.state(s) for every
// new state value, each a poison (0 when admitted, NaN otherwise) that the step sums.
// The trainer's divergence guard runs that check first and only then the
// update, so a step that would break the invariant changes nothing (no copy of the
// parameters is needed). For a float layer a check is two multiplies, no branch.
//
// Hyper-parameters are validated by validate() (the trainer calls it before every sample
// and update): a value outside its range is Status::invalid_argument, and nothing changes.
//   learning_rate   finite, 0 <= lr <= max_learning_rate (2^24: one step of a unit gradient
//                   would already cross the parameter bound)
//   weight_decay    finite, >= 0, and lr * wd <= 1 (wd pulls p toward 0 by the factor
//                   1 - lr * wd per step; above 1 it overshoots and, above 2, grows p)
//   momentum        0 <= momentum < 1 (at 1 and above the velocity never decays)
//   beta1, beta2    0 <= beta < 1 (PyTorch's range; at 1 the bias correction divides by 0)
//   epsilon         finite, > 0 (0 makes an exactly-zero gradient 0 / 0)
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/status.hpp"

namespace microtl {

// What the trainer needs of an optimizer (SGD, SGDMomentum, Adam below; a user's own rule
// meets the same):
//   static constexpr std::size_t state_per_parameter;   floats of state per trained value
//   float learning_rate, weight_decay;
//   Status validate() const;                         its hyper-parameters (above)
//   struct StepContext;  StepContext begin_step();      once per update (Adam's b^t)
//   template <bool Write, class Check> bool step(std::span<float> parameters,
//       std::span<const float> grads, std::span<float> state, float grad_scale,
//       StepContext, const Check& check) const;
//     one tensor's update from its gradient sum times grad_scale; Write = false computes
//     without storing and returns whether every new value and state passes `check` (the
//     divergence guard), Write = true stores (and ignores `check`)
struct NoUpdateCheck {
  static constexpr float parameter(std::size_t, float) noexcept { return 0.0f; }
  static constexpr float state(float) noexcept { return 0.0f; }
};

template <class O>
concept OptimizerRule =
    std::copyable<O> && requires(O& o, const O& c, std::span<float> p, std::span<const float> g) {
      { O::state_per_parameter } -> std::convertible_to<std::size_t>;
      { o.learning_rate } -> std::convertible_to<float>;
      { o.weight_decay } -> std::convertible_to<float>;
      { c.validate() } -> std::same_as<Status>;
      typename O::StepContext;
      { o.begin_step() } -> std::same_as<typename O::StepContext>;
      {
        c.template step<false>(p, g, p, 1.0f, o.begin_step(), NoUpdateCheck{})
      } -> std::same_as<bool>;
      {
        c.template step<true>(p, g, p, 1.0f, o.begin_step(), NoUpdateCheck{})
      } -> std::same_as<bool>;
    };

// The ranges validate() enforces.
inline constexpr float max_learning_rate = 16777216.0f;  // 2^24

namespace optimizer_detail {
// Finite and in [low, high]: NaN fails both comparisons, infinity the bound.
constexpr bool in_range(float value, float low, float high) noexcept {
  return value >= low && value <= high;
}
// finite, 0 <= lr <= max_learning_rate; finite wd >= 0 with lr * wd <= 1.
constexpr Status validate_rate_and_decay(float learning_rate, float weight_decay) noexcept {
  if (!in_range(learning_rate, 0.0f, max_learning_rate) ||
      !in_range(weight_decay, 0.0f, max_learning_rate) || learning_rate * weight_decay > 1.0f) {
    return Status::invalid_argument;
  }
  return Status::ok;
}
// 0 <= beta < 1
constexpr bool valid_decay_factor(float beta) noexcept {
  return beta >= 0.0f && beta < 1.0f;
}
}  // namespace optimizer_detail

// Plain SGD:  g = grad * scale + wd * p;   p -= lr * g
struct SGD {
  float learning_rate = 0.01f;
  float weight_decay = 0.0f;
  static constexpr std::size_t state_per_parameter = 0;

  Status validate() const noexcept {
    return optimizer_detail::validate_rate_and_decay(learning_rate, weight_decay);
  }

  struct StepContext {};
  StepContext begin_step() noexcept { return {}; }

  template <bool Write, class Check = NoUpdateCheck>
  bool step(std::span<float> parameters, std::span<const float> grads, std::span<float> /*state*/,
            float grad_scale, StepContext, const Check& check = {}) const noexcept {
    const float lr = learning_rate;
    const float wd = weight_decay;
    float* p = parameters.data();
    const float* g = grads.data();
    const std::size_t n = parameters.size();
    float poison = 0.0f;  // 0, or NaN once a new value is not admitted
    if (wd == 0.0f) {
      // p -= (lr * scale) g, four values per loop pass (the tensors are contiguous).
      const float step_size = lr * grad_scale;
      const std::size_t body = n - n % 4;
      for (std::size_t i = 0; i < body; i += 4) {
        const float n0 = p[i] - step_size * g[i];
        const float n1 = p[i + 1] - step_size * g[i + 1];
        const float n2 = p[i + 2] - step_size * g[i + 2];
        const float n3 = p[i + 3] - step_size * g[i + 3];
        if constexpr (Write) {
          p[i] = n0;
          p[i + 1] = n1;
          p[i + 2] = n2;
          p[i + 3] = n3;
        } else {
          poison += check.parameter(i, n0) + check.parameter(i + 1, n1) +
                    check.parameter(i + 2, n2) + check.parameter(i + 3, n3);
        }
      }
      for (std::size_t i = body; i < n; ++i) {
        const float next = p[i] - step_size * g[i];
        if constexpr (Write) {
          p[i] = next;
        } else {
          poison += check.parameter(i, next);
        }
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const float next = p[i] - lr * (g[i] * grad_scale + wd * p[i]);
        if constexpr (Write) {
          p[i] = next;
        } else {
          poison += check.parameter(i, next);
        }
      }
    }
    return poison == 0.0f;
  }
  void update(std::span<float> parameters, std::span<const float> grads, std::span<float> state,
              float grad_scale, StepContext context) const noexcept {
    (void)step<true>(parameters, grads, state, grad_scale, context);
  }
};

// SGD with momentum (MicroTL's head: momentum 0.9, weight decay 2e-4):
//   g = grad * scale + wd * p;   v = momentum * v + g;   p -= lr * v       (v starts at 0)
struct SGDMomentum {
  float learning_rate = 0.01f;
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  static constexpr std::size_t state_per_parameter = 1;

  Status validate() const noexcept {
    if (!optimizer_detail::valid_decay_factor(momentum)) {
      return Status::invalid_argument;
    }
    return optimizer_detail::validate_rate_and_decay(learning_rate, weight_decay);
  }

  struct StepContext {};
  StepContext begin_step() noexcept { return {}; }

  template <bool Write, class Check = NoUpdateCheck>
  bool step(std::span<float> parameters, std::span<const float> grads, std::span<float> velocity,
            float grad_scale, StepContext, const Check& check = {}) const noexcept {
    float* p = parameters.data();
    const float* g = grads.data();
    float* v = velocity.data();
    float poison = 0.0f;  // 0, or NaN once a new value is not admitted
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const float gi = g[i] * grad_scale + weight_decay * p[i];
      const float next_v = momentum * v[i] + gi;
      const float next_p = p[i] - learning_rate * next_v;
      if constexpr (Write) {
        v[i] = next_v;
        p[i] = next_p;
      } else {
        poison += check.state(next_v) + check.parameter(i, next_p);
      }
    }
    return poison == 0.0f;
  }
  void update(std::span<float> parameters, std::span<const float> grads, std::span<float> velocity,
              float grad_scale, StepContext context) const noexcept {
    (void)step<true>(parameters, grads, velocity, grad_scale, context);
  }
};

// Adam (Kingma and Ba), with PyTorch's bias correction:
//   g = grad * scale + wd * p
//   m = b1 m + (1 - b1) g             v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// b1^t and b2^t are kept as running products (no pow), in float.
struct Adam {
  float learning_rate = 0.001f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.0f;
  static constexpr std::size_t state_per_parameter = 2;

  float beta1_power = 1.0f;  // b1^t after begin_step() of step t
  float beta2_power = 1.0f;

  Status validate() const noexcept {
    if (!optimizer_detail::valid_decay_factor(beta1) ||
        !optimizer_detail::valid_decay_factor(beta2) ||
        !optimizer_detail::in_range(epsilon, 0.0f, max_learning_rate) || !(epsilon > 0.0f)) {
      return Status::invalid_argument;
    }
    return optimizer_detail::validate_rate_and_decay(learning_rate, weight_decay);
  }

  struct StepContext {
    float step_size;            // lr / (1 - b1^t)
    float inverse_correction2;  // 1 / (1 - b2^t)
  };
  StepContext begin_step() noexcept {
    beta1_power *= beta1;
    beta2_power *= beta2;
    return {learning_rate / (1.0f - beta1_power), 1.0f / (1.0f - beta2_power)};
  }

  template <bool Write, class Check = NoUpdateCheck>
  bool step(std::span<float> parameters, std::span<const float> grads, std::span<float> state,
            float grad_scale, StepContext context, const Check& check = {}) const noexcept {
    const std::size_t n = parameters.size();
    float* p = parameters.data();
    const float* g = grads.data();
    float* m = state.data();
    float* v = state.data() + n;
    float poison = 0.0f;  // 0, or NaN once a new value is not admitted
    for (std::size_t i = 0; i < n; ++i) {
      const float gi = g[i] * grad_scale + weight_decay * p[i];
      const float next_m = beta1 * m[i] + (1.0f - beta1) * gi;
      const float next_v = beta2 * v[i] + (1.0f - beta2) * gi * gi;
      const float next_p = p[i] - context.step_size * next_m /
                                      (std::sqrt(next_v * context.inverse_correction2) + epsilon);
      if constexpr (Write) {
        m[i] = next_m;
        v[i] = next_v;
        p[i] = next_p;
      } else {
        poison += check.state(next_m) + check.state(next_v) + check.parameter(i, next_p);
      }
    }
    return poison == 0.0f;
  }
  void update(std::span<float> parameters, std::span<const float> grads, std::span<float> state,
              float grad_scale, StepContext context) const noexcept {
    (void)step<true>(parameters, grads, state, grad_scale, context);
  }
};

}  // namespace microtl
