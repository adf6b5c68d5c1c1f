// Optimizers: how accumulated gradients change the trainable parameters.
//
// Each optimizer updates one tensor at a time, given its gradient sum over a mini-batch
// and `grad_scale` = 1 / (samples in the batch), and keeps `state_per_parameter` floats of
// state per trainable value (in the trainer's arena; none for the frozen layers). All
// arithmetic is single precision: a Cortex-M4F has a single-precision FPU only.
//
// The update rules are PyTorch's (torch.optim.SGD and Adam, weight decay added to the
// gradient, applied to every trainable tensor).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

namespace microtl {

// Plain SGD:  g = grad * scale + wd * p;   p -= lr * g
struct SGD {
  float learning_rate = 0.01f;
  float weight_decay = 0.0f;
  static constexpr std::size_t state_per_parameter = 0;

  struct StepContext {};
  StepContext begin_step() noexcept { return {}; }

  void update(std::span<float> parameters, std::span<const float> grads, std::span<float> /*state*/,
              float grad_scale, StepContext) const noexcept {
    const float lr = learning_rate;
    const float wd = weight_decay;
    float* p = parameters.data();
    const float* g = grads.data();
    const std::size_t n = parameters.size();
    if (wd == 0.0f) {
      const float step = lr * grad_scale;
      for (std::size_t i = 0; i < n; ++i) {
        p[i] -= step * g[i];
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        p[i] -= lr * (g[i] * grad_scale + wd * p[i]);
      }
    }
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

  void update(std::span<float> parameters, std::span<const float> grads, std::span<float> velocity,
              float grad_scale, StepContext) const noexcept {
    float* p = parameters.data();
    const float* g = grads.data();
    float* v = velocity.data();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const float gi = g[i] * grad_scale + weight_decay * p[i];
      v[i] = momentum * v[i] + gi;
      p[i] -= learning_rate * v[i];
    }
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

  void update(std::span<float> parameters, std::span<const float> grads, std::span<float> state,
              float grad_scale, StepContext context) const noexcept {
    const std::size_t n = parameters.size();
    float* p = parameters.data();
    const float* g = grads.data();
    float* m = state.data();
    float* v = state.data() + n;
    for (std::size_t i = 0; i < n; ++i) {
      const float gi = g[i] * grad_scale + weight_decay * p[i];
      m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
      v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
      p[i] -= context.step_size * m[i] / (std::sqrt(v[i] * context.inverse_correction2) + epsilon);
    }
  }
};

}  // namespace microtl
