// Where each activation of a chain lives in the inference arena, decided at compile time.
//
// A chain needs, while layer i runs, its input and its output (and its kernel's scratch);
// nothing older. Placing consecutive outputs alternately at the low and the high end of
// one block makes every such pair fit side by side, so the block needs exactly
//
//   max over layers i of  align(in_i) + align(scratch_i) + align(out_i)
//
// which is the least any plan can use (layer i's input and output must coexist). Layers
// that work in place keep their input's slot; views (Flatten) take no memory; the model's
// input is the caller's buffer and is never written. Layout while layer i runs:
//
//   [ low slot ........ | scratch | ...free... | high slot ]
//     input (or output)                          output (or input)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "microtl/config.hpp"
#include "microtl/core/arena.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl::graph {

enum class Slot : std::uint8_t { external, low, high };

// What the planner needs to know about one layer.
struct LayerFootprint {
  std::size_t input_bytes;
  std::size_t output_bytes;
  std::size_t scratch_bytes;
  OutputPlacement placement;
};

template <std::size_t N>
struct InferencePlan {
  std::array<Slot, N> slot{};                   // where layer i's output lives
  std::array<std::size_t, N> output_offset{};   // byte offset of layer i's output in the arena
  std::array<std::size_t, N> scratch_offset{};  // byte offset of layer i's scratch
  std::array<std::size_t, N> bytes_needed{};    // arena bytes layer i needs while it runs
  std::size_t arena_bytes = 0;                  // max of bytes_needed
};

template <std::size_t N>
constexpr InferencePlan<N> plan_inference(const std::array<LayerFootprint, N>& layers) noexcept {
  constexpr std::size_t a = MICROTL_ALIGNMENT;
  InferencePlan<N> plan{};
  // Pass 1: slots and the size of the arena.
  Slot current = Slot::external;
  for (std::size_t i = 0; i < N; ++i) {
    const LayerFootprint& layer = layers[i];
    const std::size_t input = current == Slot::external ? 0 : align_up(layer.input_bytes, a);
    const std::size_t scratch = align_up(layer.scratch_bytes, a);
    if (layer.placement == OutputPlacement::view) {
      plan.slot[i] = current;
      plan.bytes_needed[i] = 0;
    } else if (layer.placement == OutputPlacement::in_place && current != Slot::external) {
      plan.slot[i] = current;  // never in place over the caller's input
      plan.bytes_needed[i] = input + scratch;
    } else {
      plan.slot[i] = current == Slot::low ? Slot::high : Slot::low;
      plan.bytes_needed[i] = input + scratch + align_up(layer.output_bytes, a);
    }
    current = plan.slot[i];
    if (plan.bytes_needed[i] > plan.arena_bytes) {
      plan.arena_bytes = plan.bytes_needed[i];
    }
  }
  // Pass 2: offsets. Low slots start at 0; high slots end at the arena's end; scratch sits
  // just above the low slot in use.
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t out = align_up(layers[i].output_bytes, a);
    plan.output_offset[i] = plan.slot[i] == Slot::high ? plan.arena_bytes - out : 0;
    const Slot input_slot = i == 0 ? Slot::external : plan.slot[i - 1];
    const std::size_t low_in_use = plan.slot[i] == Slot::low ? out
                                   : input_slot == Slot::low ? align_up(layers[i].input_bytes, a)
                                                             : 0;
    plan.scratch_offset[i] = low_in_use;
  }
  return plan;
}

}  // namespace microtl::graph
