// Where a trainable layer's backward pass puts its parameter gradients (the GradientSink of
// layers/contract.hpp). The trainer picks one of three policies per sample, at compile time:
//
//   overwrite     grad[k]  = v     the first sample of a mini-batch: no clearing between
//                                  batches, no read of the old value
//   accumulate    grad[k] += v     the other samples of a mini-batch; also every sample of a
//                                  layer that puts several contributions to one value (a
//                                  convolution), after the trainer has cleared its gradients
//   sgd_in_place  p[k] -= s * v    plain SGD fused into the backward pass (batch 1, no
//                                  weight decay, no clipping, no divergence guard): the
//                                  targets are the parameters themselves, s = learning rate
//
// One sink serves one layer. It holds a target pointer per parameter tensor of that layer
// (nullptr for tensors that do not train: wants<T> is false for them and the layer skips
// their gradient altogether).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace microtl {

enum class GradientPolicy : std::uint8_t { overwrite, accumulate, sgd_in_place };

// TrainedMask: bit T set when parameter tensor T trains.
template <GradientPolicy Policy, std::size_t TensorCount, std::uint32_t TrainedMask>
struct GradientSinkFor {
  static_assert(TensorCount <= 32, "microtl::GradientSinkFor: at most 32 parameter tensors");

  template <std::size_t T>
  static constexpr bool wants = ((TrainedMask >> T) & 1U) != 0U;

  std::array<float*, TensorCount> target{};
  float step = 0.0f;  // sgd_in_place: the learning rate

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

 private:
  [[gnu::always_inline]] static inline void store(float* out, float v, float s) noexcept {
    if constexpr (Policy == GradientPolicy::overwrite) {
      *out = v;
    } else if constexpr (Policy == GradientPolicy::accumulate) {
      *out += v;
    } else {
      *out -= s * v;
    }
  }
};

}  // namespace microtl
