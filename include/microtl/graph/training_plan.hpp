// Where everything a training step needs lives in the training arena, decided at compile
// time from one footprint per layer.
//
// The layers split in three runs:
//   prefix      layers before the features (the input of the earliest trainable layer):
//               forward only, their activations dead once the features exist
//   region      from the earliest trainable layer to the end: forward, then backward
//   backward    the same layers in reverse, each with dL/dy in and dL/dx out
//
// Layout:
//
//   [ parameter gradients | optimizer state | kept activations + saved bytes | shared ]
//                                                                              prefix plan,
//                                                                              or the region's
//                                                                              passing outputs,
//                                                                              or the gradients
//
// What is kept: the features (the output of `saved_from`, the last non-view layer before the
// region: what a feature cache replays), the model's output (the loss reads it), and every
// region output that some backward pass reads: its own layer's (an activation's derivative,
// an int8 output's clamp: backward_reads_output) or the next layer's (a weight gradient, a max
// pool's argmax: backward_reads_input; layers/contract.hpp). The other outputs of the region
// only pass: they live in the shared region during the forward pass, planned like an
// inference chain. A bias-only or frozen linear layer does not read its input (TinyTL's point:
// a bias gradient needs dL/dy alone), a weight gradient does, so training a layer's weights
// keeps its input and training only its bias need not.
//
// Why this is the least memory for this execution order (forward of the whole chain, then
// backward from the loss):
//   - parameter gradients and optimizer state live across steps (a mini-batch accumulates,
//     momentum remembers): no other use can share them, so each needs its own bytes;
//   - at the loss every kept activation (and every layer's own saved bytes) is still to be
//     read by some backward step, so all of them are alive together: their sum is needed
//     (a view shares its input's slot, it stores nothing);
//   - the prefix's activations are dead before the region runs, the passing outputs of the
//     region before the first gradient exists: prefix, passing outputs and gradients share
//     one region, sized for the largest of the three; within the prefix and the passing
//     outputs graph::plan_inference is optimal (graph/memory_plan.hpp);
//   - the backward step of layer i needs dL/dy_i and dL/dx_i at once, and nothing older.
//     Placing them at the two ends of the region, alternately (dL/dx_i becomes dL/dy of the
//     layer before, at the same end), needs exactly max_i (dy_i + dx_i): the least possible.
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
  bool reads_input = true;            // its backward reads its forward input
  bool reads_output = true;           // ... and its forward output
};

template <std::size_t N>
struct TrainingPlan {
  std::size_t first_trainable = N;  // N: nothing trains
  std::size_t saved_from = N;       // N: the trainable part reads the model's input
  std::size_t saved_begin = N;      // the first layer whose output has a saved slot
  std::size_t prefix_count = 0;     // layers run by the prefix plan (0 .. prefix_count-1)

  std::array<std::size_t, N> grad_offset{};         // parameter gradients of layer i
  std::array<std::size_t, N> state_offset{};        // optimizer state of layer i
  std::array<bool, N> kept{};                       // layer i's output is kept for backward
  std::array<std::size_t, N> activation_offset{};   // output of layer i (i >= saved_begin): in
                                                    // the kept part, or (not kept) in the
                                                    // shared region (absolute offsets)
  std::array<std::size_t, N> saved_offset{};        // layer i's own saved bytes
  std::array<std::size_t, N> output_grad_offset{};  // dL/dy of layer i, relative to shared_offset
  std::array<std::size_t, N> input_grad_offset{};   // dL/dx of layer i, likewise
  InferencePlan<N> prefix{};  // offsets relative to shared_offset; layers >= prefix_count
                              // other than saved_from do not appear in it
  InferencePlan<N> region{};  // the region's forward: its passing outputs and its kernel
                              // scratch, relative to shared_offset

  std::size_t parameter_grad_bytes = 0;
  std::size_t optimizer_state_bytes = 0;
  std::size_t saved_activation_bytes = 0;
  std::size_t gradient_bytes = 0;  // max_i (dy_i + dx_i): both gradients of a backward step
  std::size_t prefix_bytes = 0;
  std::size_t region_bytes = 0;  // the region's forward: passing outputs and kernel scratch
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

  // Which outputs are kept (see the top of the file). A view's output is its input's slot;
  // "the next layer" of an output is the next layer that is not a view.
  for (std::size_t i = p.saved_begin; i < N; ++i) {
    if (layers[i].forward.placement == OutputPlacement::view && i > p.saved_begin) {
      continue;
    }
    std::size_t next = i + 1;
    while (next < N && layers[next].forward.placement == OutputPlacement::view) {
      ++next;
    }
    const bool own = i >= p.first_trainable && layers[i].reads_output;
    const bool by_next = next < N && next >= p.first_trainable && layers[next].reads_input;
    p.kept[i] = i == p.saved_from || next == N || own || by_next;
  }
  const std::size_t saved_start = cursor;
  for (std::size_t i = p.saved_begin; i < N; ++i) {
    if (i > p.saved_begin && layers[i].forward.placement == OutputPlacement::view) {
      p.kept[i] = p.kept[i - 1];
      p.activation_offset[i] = p.activation_offset[i - 1];
    } else if (p.kept[i]) {
      p.activation_offset[i] = cursor;
      cursor += align_up(layers[i].forward.output_bytes, a);
    }
  }
  for (std::size_t i = p.first_trainable; i < N; ++i) {
    p.saved_offset[i] = cursor;
    cursor += align_up(layers[i].saved_bytes, a);
  }
  p.saved_activation_bytes = cursor - saved_start;

  // The region's forward: its passing outputs (and kernel scratch) planned as an inference
  // chain in which a kept activation is outside the arena (no bytes; the next layer's input
  // then starts a new chain), and nothing runs in place over a kept one.
  {
    std::array<LayerFootprint, N> region{};
    for (std::size_t i = 0; i < N; ++i) {
      if (i < p.first_trainable) {
        region[i] = {0, 0, 0, OutputPlacement::view};  // the features: kept
        continue;
      }
      const bool input_kept = i == p.first_trainable || p.kept[i - 1];
      const LayerFootprint& f = layers[i].forward;
      if (f.placement == OutputPlacement::view) {
        region[i] = {0, 0, 0, OutputPlacement::view};
      } else {
        const bool in_place = f.placement == OutputPlacement::in_place && !input_kept && !p.kept[i];
        region[i] = {input_kept ? 0 : f.input_bytes, p.kept[i] ? 0 : f.output_bytes,
                     f.scratch_bytes,
                     in_place ? OutputPlacement::in_place : OutputPlacement::separate};
      }
    }
    p.region = plan_inference(region);
    p.region_bytes = p.region.arena_bytes;
  }

  // The gradients of the backward steps at the two ends of the shared region, alternately:
  // the loss's gradient (dL/dy of the last layer) at the start; a layer whose dL/dy is at one
  // end writes dL/dx at the other; a view passes both through. The earliest trainable
  // layer's dL/dx is never computed.
  {
    std::size_t largest = 0;
    for (std::size_t i = p.first_trainable; i < N; ++i) {
      const std::size_t dy = align_up(layers[i].output_grad_bytes, a);
      const std::size_t dx = i > p.first_trainable ? align_up(layers[i].input_grad_bytes, a) : 0;
      const bool backward_runs = layers[i].forward.placement != OutputPlacement::view;
      const std::size_t both = backward_runs ? dy + dx : dy;
      largest = both > largest ? both : largest;
    }
    p.gradient_bytes = largest;
    bool at_start = true;
    for (std::size_t k = N; k-- > p.first_trainable;) {
      const std::size_t dy = align_up(layers[k].output_grad_bytes, a);
      const std::size_t dx = align_up(layers[k].input_grad_bytes, a);
      p.output_grad_offset[k] = at_start ? 0 : p.gradient_bytes - dy;
      if (layers[k].forward.placement == OutputPlacement::view) {
        p.input_grad_offset[k] = p.output_grad_offset[k];  // the same bytes, another shape
      } else {
        at_start = !at_start;
        p.input_grad_offset[k] = at_start ? 0 : p.gradient_bytes - dx;
      }
    }
  }

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

  p.shared_offset = cursor;
  std::size_t shared = p.gradient_bytes > p.prefix_bytes ? p.gradient_bytes : p.prefix_bytes;
  shared = p.region_bytes > shared ? p.region_bytes : shared;
  cursor += shared;
  p.bytes = cursor;
  // Passing outputs of the region, as absolute offsets like the kept ones.
  for (std::size_t i = p.first_trainable; i < N; ++i) {
    if (!p.kept[i] && layers[i].forward.placement != OutputPlacement::view) {
      p.activation_offset[i] = p.shared_offset + p.region.output_offset[i];
    } else if (!p.kept[i]) {
      p.activation_offset[i] = p.activation_offset[i - 1];
    }
  }
  return p;
}

}  // namespace microtl::graph
