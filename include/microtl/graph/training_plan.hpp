// Where everything a training step needs lives in the training arena, decided at compile
// time from one footprint per layer.
//
// The layers split in three runs:
//   prefix      layers before the features (the input of the earliest trainable layer):
//               forward only, their activations dead once the features exist
//   saved       from the last non-view layer before the trainable part (`saved_from`, whose
//               output the trainable part reads) to the end: their outputs are read again by
//               the backward pass
//   backward    from the earliest trainable layer to the end: they also need gradients
//
// Layout:
//
//   [ parameter gradients | optimizer state | saved activations + saved bytes | shared ]
//                                                                              prefix plan,
//                                                                              or the two
//                                                                              gradient buffers,
//                                                                              or the trainable
//                                                                              part's scratch
//
// Why this is the least memory for this execution order (forward of the whole chain, then
// backward from the loss):
//   - parameter gradients and optimizer state live across steps (a mini-batch accumulates,
//     momentum remembers): no other use can share them, so each needs its own bytes;
//   - at the loss every saved activation (and every layer's own saved bytes) is still to be
//     read by some backward step, so all of them are alive together: their sum is needed
//     (a view shares its input's slot, it stores nothing);
//   - the prefix's activations are dead before the first gradient exists, so prefix and
//     gradient buffers share one region, sized for the larger of the two; within the prefix
//     graph::plan_inference is optimal (graph/memory_plan.hpp);
//   - the backward step of layer i needs dL/dy_i and dL/dx_i at once. Two buffers of the
//     largest gradient always suffice; the bound is max_i (dy_i + dx_i), which alternating the
//     two ends of the region (as plan_inference does) would reach. The two equal-size buffers
//     cost the difference when one layer's input gradient is much larger than its output
//     gradient while another layer has the reverse; for chains ending in dense layers the
//     two agree.
#pragma once

#include <array>
#include <cstddef>

#include "microtl/config.hpp"
#include "microtl/core/arena.hpp"
#include "microtl/graph/memory_plan.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl::graph {

// What the training planner needs to know about one layer.
struct TrainingFootprint {
  LayerFootprint forward;             // input, output, scratch bytes and placement
  std::size_t trained_values = 0;     // 0: frozen
  std::size_t saved_bytes = 0;        // what its backward keeps besides input and output
  std::size_t input_grad_bytes = 0;   // dL/dx in float
  std::size_t output_grad_bytes = 0;  // dL/dy in float
};

template <std::size_t N>
struct TrainingPlan {
  std::size_t first_trainable = N;  // N: nothing trains
  std::size_t saved_from = N;       // N: the trainable part reads the model's input
  std::size_t saved_begin = N;      // the first layer whose output has a saved slot
  std::size_t prefix_count = 0;     // layers run by the prefix plan (0 .. prefix_count-1)

  std::array<std::size_t, N> grad_offset{};        // parameter gradients of layer i
  std::array<std::size_t, N> state_offset{};       // optimizer state of layer i
  std::array<std::size_t, N> activation_offset{};  // saved output of layer i (i >= saved_begin)
  std::array<std::size_t, N> saved_offset{};       // layer i's own saved bytes
  InferencePlan<N> prefix{};  // offsets relative to shared_offset; layers >= prefix_count
                              // other than saved_from do not appear in it

  std::size_t parameter_grad_bytes = 0;
  std::size_t optimizer_state_bytes = 0;
  std::size_t saved_activation_bytes = 0;
  std::size_t gradient_buffer_bytes = 0;  // each of the two
  std::size_t prefix_bytes = 0;
  std::size_t region_scratch_bytes = 0;  // the largest kernel scratch of the trainable part
  std::size_t shared_offset = 0;
  std::size_t bytes = 0;  // the arena
};

// state_per_value: floats of optimizer state per trained value (SGD 0, momentum 1, Adam 2).
template <std::size_t N>
constexpr TrainingPlan<N> plan_training(const std::array<TrainingFootprint, N>& layers,
                                        std::size_t state_per_value) noexcept {
  constexpr std::size_t a = MICROTL_ALIGNMENT;
  TrainingPlan<N> p{};
  for (std::size_t i = 0; i < N && p.first_trainable == N; ++i) {
    if (layers[i].trained_values > 0) {
      p.first_trainable = i;
    }
  }
  for (std::size_t i = 0; i < p.first_trainable; ++i) {
    if (layers[i].forward.placement != OutputPlacement::view) {
      p.saved_from = i;
    }
  }
  const bool features_are_input = p.saved_from == N;
  p.prefix_count = features_are_input ? 0 : p.saved_from;
  p.saved_begin = features_are_input ? p.first_trainable : p.saved_from;

  std::size_t cursor = 0;
  for (std::size_t i = 0; i < N; ++i) {
    p.grad_offset[i] = cursor;
    cursor += align_up(layers[i].trained_values * sizeof(float), a);
  }
  p.parameter_grad_bytes = cursor;
  for (std::size_t i = 0; i < N; ++i) {
    p.state_offset[i] = cursor;
    cursor += align_up(state_per_value * layers[i].trained_values * sizeof(float), a);
  }
  p.optimizer_state_bytes = cursor - p.parameter_grad_bytes;

  const std::size_t saved_start = cursor;
  for (std::size_t i = p.saved_begin; i < N; ++i) {
    if (i > p.saved_begin && layers[i].forward.placement == OutputPlacement::view) {
      p.activation_offset[i] = p.activation_offset[i - 1];
    } else {
      p.activation_offset[i] = cursor;
      cursor += align_up(layers[i].forward.output_bytes, a);
    }
  }
  for (std::size_t i = p.first_trainable; i < N; ++i) {
    p.saved_offset[i] = cursor;
    cursor += align_up(layers[i].saved_bytes, a);
  }
  p.saved_activation_bytes = cursor - saved_start;

  // The two gradient buffers hold dL/d(activation) of the layers that run backward: each
  // one's output gradient, and its input gradient except for the earliest trainable layer's
  // (never computed).
  std::size_t largest = 0;
  for (std::size_t i = p.first_trainable; i < N; ++i) {
    largest = layers[i].output_grad_bytes > largest ? layers[i].output_grad_bytes : largest;
    if (i > p.first_trainable) {
      largest = layers[i].input_grad_bytes > largest ? layers[i].input_grad_bytes : largest;
    }
  }
  p.gradient_buffer_bytes = align_up(largest, a);

  // The prefix: the inference plan of layers 0 .. saved_from, where saved_from writes to its
  // saved slot instead (no output bytes here, but its input and scratch are planned).
  if (!features_are_input) {
    std::array<LayerFootprint, N> prefix{};
    for (std::size_t i = 0; i < N; ++i) {
      if (i < p.saved_from) {
        prefix[i] = layers[i].forward;
      } else if (i == p.saved_from) {
        prefix[i] = {layers[i].forward.input_bytes, 0, layers[i].forward.scratch_bytes,
                     OutputPlacement::separate};
      } else {
        prefix[i] = {0, 0, 0, OutputPlacement::view};
      }
    }
    p.prefix = plan_inference(prefix);
    p.prefix_bytes = p.prefix.arena_bytes;
  }

  // The kernel scratch of the trainable part's forward (a Residual block's inner chain)
  // also goes to the shared region: the prefix is done and no gradient exists yet.
  for (std::size_t i = p.first_trainable; i < N; ++i) {
    const std::size_t scratch = align_up(layers[i].forward.scratch_bytes, a);
    p.region_scratch_bytes = scratch > p.region_scratch_bytes ? scratch : p.region_scratch_bytes;
  }

  p.shared_offset = cursor;
  const std::size_t gradients = 2 * p.gradient_buffer_bytes;
  std::size_t shared = gradients > p.prefix_bytes ? gradients : p.prefix_bytes;
  shared = p.region_scratch_bytes > shared ? p.region_scratch_bytes : shared;
  cursor += shared;
  p.bytes = cursor;
  return p;
}

}  // namespace microtl::graph
