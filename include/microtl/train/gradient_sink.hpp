// Where a trainable layer's backward pass puts its parameter gradients (the GradientSink of
// layers/contract.hpp). The trainer picks one of three policies per sample, at compile time:
//
//   overwrite     grad[k]  = v     the first sample of a mini-batch: no clearing between
//                                  batches, no read of the old value
//   accumulate    grad[k] += v     the other samples of a mini-batch; also every sample of a
//                                  layer that puts several contributions to one value (a
//                                  convolution), after the trainer has cleared its gradients
//   sgd_in_place  p[k] -= s * v    plain SGD fused into the backward pass (batch 1, no
//                                  weight decay, no clipping): the targets are the
//                                  parameters themselves, s = learning rate
//   sgd_check     p[k] - s * v     the same computed without writing: the divergence guard's
//                                  exact check of a fused step (train/fused_guard.hpp); the
//                                  sink sums each new value's poison (guard::UpdateCheck of
//                                  the layer's State) into *poison
//
// sgd_in_place and sgd_check compute every new value with the same expression (one fused
// multiply-add where the FPU has it), so the check sees exactly the values the update writes.
//
// One sink serves one layer. It holds a target pointer per parameter tensor of that layer
// (nullptr for tensors that do not train: wants<T> is false for them and the layer skips
// their gradient altogether).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "microtl/kernels/float_linear.hpp"
#include "microtl/train/guard.hpp"

namespace microtl {

enum class GradientPolicy : std::uint8_t { overwrite, accumulate, sgd_in_place, sgd_check };

// TrainedMask: bit T set when parameter tensor T trains. State: the layer's State (for the
// guard's check of sgd_check; void otherwise).
template <GradientPolicy Policy, std::size_t TensorCount, std::uint32_t TrainedMask,
          class State = void>
struct GradientSinkFor {
  static_assert(TensorCount <= 32, "microtl::GradientSinkFor: at most 32 parameter tensors");

  template <std::size_t T>
  static constexpr bool wants = ((TrainedMask >> T) & 1U) != 0U;

  std::array<float*, TensorCount> target{};
  float step = 0.0f;             // sgd_in_place, sgd_check: the learning rate
  const State* state = nullptr;  // sgd_check: the layer's state, whose admits() decides
  float* poison = nullptr;       // sgd_check: where the poisons add up

  // Four values per loop pass (one loop for every layer and policy): the targets are
  // contiguous, and unrolling saves the loop overhead of three of every four values.
  template <std::size_t T, class F>
  [[gnu::always_inline]] inline void put(std::size_t offset, std::size_t count,
                                         F&& value) const noexcept {
    static_assert(wants<T>, "microtl: a gradient put to a tensor that does not train");
    // Locals: a store through `out` could alias the sink's own float member, so the step is
    // read once, before the loop.
    float* out = target[T] + offset;
    const float s = step;
    if constexpr (Policy == GradientPolicy::sgd_check) {
      float sum = 0.0f;
      for (std::size_t i = 0; i < count; ++i) {
        sum += check<T>(offset + i, sgd_next(out[i], s, value(i)));
      }
      *poison += sum;
      return;
    }
    const std::size_t body = count - count % 4;
    for (std::size_t i = 0; i < body; i += 4) {
      store(out + i, value(i), s);
      store(out + i + 1, value(i + 1), s);
      store(out + i + 2, value(i + 2), s);
      store(out + i + 3, value(i + 3), s);
    }
    for (std::size_t i = body; i < count; ++i) {
      store(out + i, value(i), s);
    }
  }

  // The gradient of a [Rows][Cols] weight matrix that is an outer product, g[o] * x[i]
  // (a dense layer's), put through the outer-product kernel (kernels/float_linear.hpp):
  //   overwrite  T[o][i] = g[o] x[i];   accumulate  T[o][i] += g[o] x[i];
  //   sgd_in_place  p[o][i] -= (s g[o]) x[i]
  // (the step and the row's gradient are multiplied first: one rounding less per value,
  // and rows with g[o] = 0 are skipped).
  template <std::size_t T, std::size_t Cols, std::size_t Rows>
  void put_outer(const float* g, const float* x) const noexcept {
    static_assert(wants<T>, "microtl: a gradient put to a tensor that does not train");
    using kernels::OuterOp;
    if constexpr (Policy == GradientPolicy::overwrite) {
      kernels::dense_outer_f32<OuterOp::set, Cols, Rows>(target[T], x,
                                                         [g](std::size_t o) { return g[o]; });
    } else if constexpr (Policy == GradientPolicy::accumulate) {
      kernels::dense_outer_f32<OuterOp::add, Cols, Rows>(target[T], x,
                                                         [g](std::size_t o) { return g[o]; });
    } else if constexpr (Policy == GradientPolicy::sgd_in_place) {
      const float s = step;
      kernels::dense_outer_f32<OuterOp::subtract, Cols, Rows>(
          target[T], x, [g, s](std::size_t o) { return s * g[o]; });
    } else {
      // The kernel's subtract, value by value, without writing (and skipping the same rows).
      float sum = 0.0f;
      for (std::size_t o = 0; o < Rows; ++o) {
        const float row_step = step * g[o];
        if (row_step == 0.0f) {
          continue;
        }
        const float* row = target[T] + o * Cols;
        for (std::size_t i = 0; i < Cols; ++i) {
          sum += check<T>(o * Cols + i, kernels::fused_mac(row[i], -row_step, x[i]));
        }
      }
      *poison += sum;
    }
  }

 private:
  // p - s v, as the update writes it and the check computes it.
  [[gnu::always_inline]] static inline float sgd_next(float p, float s, float v) noexcept {
    return kernels::fused_mac(p, -s, v);
  }
  template <std::size_t T>
  float check(std::size_t i, float next) const noexcept {
    return guard::UpdateCheck<State, T>{*state}.parameter(i, next);
  }
  [[gnu::always_inline]] static inline void store(float* out, float v, float s) noexcept {
    if constexpr (Policy == GradientPolicy::overwrite) {
      *out = v;
    } else if constexpr (Policy == GradientPolicy::accumulate) {
      *out += v;
    } else {
      *out = sgd_next(*out, s, v);
    }
  }
};

}  // namespace microtl
