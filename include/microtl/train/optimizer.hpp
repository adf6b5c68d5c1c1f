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
// value without storing any and reports whether all of them are finite. The trainer's
// divergence guard runs that check first and only then the update, so a step that would
// produce NaN or infinity changes nothing (no copy of the parameters is needed). The check
// accumulates `value * 0`, which stays 0 for finite values and becomes NaN as soon as one
// is infinite or NaN: one multiply-add per value, no branch.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>

namespace microtl {

// What the trainer needs of an optimizer (SGD, SGDMomentum, Adam below; a user's own rule
// meets the same):
//   static constexpr std::size_t state_per_parameter;   floats of state per trained value
//   float learning_rate, weight_decay;
//   struct StepContext;  StepContext begin_step();      once per update (Adam's b^t)
//   template <bool Write> bool step(std::span<float> parameters,
//       std::span<const float> grads, std::span<float> state, float grad_scale,
//       StepContext) const;
//     one tensor's update from its gradient sum times grad_scale; Write = false computes
//     without storing and returns whether every new value and state is finite (the
//     divergence guard's check), Write = true stores
template <class O>
concept OptimizerRule =
    std::copyable<O> && requires(O& o, const O& c, std::span<float> p, std::span<const float> g) {
      { O::state_per_parameter } -> std::convertible_to<std::size_t>;
      { o.learning_rate } -> std::convertible_to<float>;
      { o.weight_decay } -> std::convertible_to<float>;
      typename O::StepContext;
      { o.begin_step() } -> std::same_as<typename O::StepContext>;
      { c.template step<false>(p, g, p, 1.0f, o.begin_step()) } -> std::same_as<bool>;
      { c.template step<true>(p, g, p, 1.0f, o.begin_step()) } -> std::same_as<bool>;
    };

// Plain SGD:  g = grad * scale + wd * p;   p -= lr * g
struct SGD {
  float learning_rate = 0.01f;
  float weight_decay = 0.0f;
  static constexpr std::size_t state_per_parameter = 0;

  struct StepContext {};
  StepContext begin_step() noexcept { return {}; }

  template <bool Write>
  bool step(std::span<float> parameters, std::span<const float> grads, std::span<float> /*state*/,
            float grad_scale, StepContext) const noexcept {
    const float lr = learning_rate;
    const float wd = weight_decay;
    float* p = parameters.data();
    const float* g = grads.data();
    const std::size_t n = parameters.size();
    float poison = 0.0f;  // 0, or NaN once a value is not finite
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
          poison += n0 * 0.0f + n1 * 0.0f + n2 * 0.0f +
                    n3 * 0.0f;  // a sum could overflow: products cannot
        }
      }
      for (std::size_t i = body; i < n; ++i) {
        const float next = p[i] - step_size * g[i];
        if constexpr (Write) {
          p[i] = next;
        } else {
          poison += next * 0.0f;
        }
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const float next = p[i] - lr * (g[i] * grad_scale + wd * p[i]);
        if constexpr (Write) {
          p[i] = next;
        } else {
          poison += next * 0.0f;
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

  struct StepContext {};
  StepContext begin_step() noexcept { return {}; }

  template <bool Write>
  bool step(std::span<float> parameters, std::span<const float> grads, std::span<float> velocity,
            float grad_scale, StepContext) const noexcept {
    float* p = parameters.data();
    const float* g = grads.data();
    float* v = velocity.data();
    float poison = 0.0f;  // 0, or NaN once a value is not finite
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const float gi = g[i] * grad_scale + weight_decay * p[i];
      const float next_v = momentum * v[i] + gi;
      const float next_p = p[i] - learning_rate * next_v;
      if constexpr (Write) {
        v[i] = next_v;
        p[i] = next_p;
      } else {
        poison += next_v * 0.0f + next_p * 0.0f;
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

  struct StepContext {
    float step_size;            // lr / (1 - b1^t)
    float inverse_correction2;  // 1 / (1 - b2^t)
  };
  StepContext begin_step() noexcept {
    beta1_power *= beta1;
    beta2_power *= beta2;
    return {learning_rate / (1.0f - beta1_power), 1.0f / (1.0f - beta2_power)};
  }

  template <bool Write>
  bool step(std::span<float> parameters, std::span<const float> grads, std::span<float> state,
            float grad_scale, StepContext context) const noexcept {
    const std::size_t n = parameters.size();
    float* p = parameters.data();
    const float* g = grads.data();
    float* m = state.data();
    float* v = state.data() + n;
    float poison = 0.0f;  // 0, or NaN once a value is not finite
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
        poison += next_m * 0.0f + next_v * 0.0f + next_p * 0.0f;
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
