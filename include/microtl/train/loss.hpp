// Losses: the value and the gradient with respect to the model's output, from one sample.
// Targets are runtime input: they are validated and answered with a Status, and nothing is
// written to the gradient unless the target is valid.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/status.hpp"
#include "microtl/kernels/float_math.hpp"

namespace microtl {

// What the trainer needs of a loss (SoftmaxCrossEntropy, MeanSquaredError below):
//   template <std::size_t N> using Target = ...;           a label, a target vector
//   template <std::size_t N> static Status validate(const Target<N>&);
//   template <std::size_t N> static Result<float> loss_and_grad(
//       std::span<const float, N> outputs, const Target<N>&, std::span<float, N> grad);
//     the loss and dL/doutputs; an invalid target returns its Status and writes nothing
template <class L>
concept LossFunction = requires(std::span<const float, 2> out, std::span<float, 2> grad,
                                const typename L::template Target<2>& target) {
  { L::template validate<2>(target) } -> std::same_as<Status>;
  { L::template loss_and_grad<2>(out, target, grad) } -> std::same_as<Result<float>>;
};

// Softmax cross-entropy on logits z with a class label y (0 <= y < N):
//
//   loss      = log(sum_j e^(z_j)) - z_y = log(sum_j e^(z_j - m)) - (z_y - m),  m = max_j z_j
//   dloss/dz  = softmax(z) - onehot(y)
//
// Subtracting the maximum keeps every exponent <= 0: no overflow for any finite logits.
// exp and log are the library's (kernels/float_math.hpp), not the C library's: the same bits
// on the device and on a host that replays its learning.
struct SoftmaxCrossEntropy {
  template <std::size_t N>
  using Target = std::size_t;

  template <std::size_t N>
  static Status validate(std::size_t label) noexcept {
    return label < N ? Status::ok : Status::label_out_of_range;
  }

  template <std::size_t N>
  static Result<float> loss_and_grad(std::span<const float, N> logits, std::size_t label,
                                     std::span<float, N> grad) noexcept {
    static_assert(N >= 2, "microtl::SoftmaxCrossEntropy: at least two classes");
    MICROTL_TRY(validate<N>(label));
    float max = logits[0];
    for (std::size_t i = 1; i < N; ++i) {
      max = logits[i] > max ? logits[i] : max;
    }
    if (!std::isfinite(max)) {
      return Status::not_finite;
    }
    float sum = 0.0f;
    for (std::size_t i = 0; i < N; ++i) {
      grad[i] = kernels::exp_f32(logits[i] - max);
      sum += grad[i];
    }
    if (!std::isfinite(sum)) {  // a NaN logit below the maximum
      return Status::not_finite;
    }
    const float inverse = 1.0f / sum;
    for (std::size_t i = 0; i < N; ++i) {
      grad[i] *= inverse;
    }
    grad[label] -= 1.0f;
    return kernels::log_f32(sum) - (logits[label] - max);
  }
};

// Mean squared error against a target vector t:
//
//   loss      = (1/N) sum_i (z_i - t_i)^2
//   dloss/dz  = (2/N) (z - t)
struct MeanSquaredError {
  template <std::size_t N>
  using Target = std::span<const float, N>;

  template <std::size_t N>
  static Status validate(std::span<const float, N> target) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      if (!std::isfinite(target[i])) {
        return Status::not_finite;
      }
    }
    return Status::ok;
  }

  template <std::size_t N>
  static Result<float> loss_and_grad(std::span<const float, N> outputs,
                                     std::span<const float, N> target,
                                     std::span<float, N> grad) noexcept {
    MICROTL_TRY(validate<N>(target));
    constexpr float scale = 2.0f / static_cast<float>(N);
    float sum = 0.0f;
    for (std::size_t i = 0; i < N; ++i) {
      const float difference = outputs[i] - target[i];
      sum += difference * difference;
      grad[i] = scale * difference;
    }
    const float loss = sum / static_cast<float>(N);
    if (!std::isfinite(loss)) {
      return Status::not_finite;
    }
    return loss;
  }
};

}  // namespace microtl
