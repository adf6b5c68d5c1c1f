// graph::plan_inference (graph/memory_plan.hpp): where each activation lives in the
// inference arena. Hand-worked footprints (alternating low/high slots, in-place layers, views,
// scratch placement, the caller's input never written, the arena size), a property check on
// random chains against an independent simulation of the layout, and the plans Sequential
// derives for whole models.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "../support/random.hpp"
#include "microtl/graph/memory_plan.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;
using graph::LayerFootprint;
using graph::plan_inference;
using graph::Slot;

namespace {

constexpr auto separate = OutputPlacement::separate;
constexpr auto in_place = OutputPlacement::in_place;
constexpr auto view = OutputPlacement::view;
constexpr std::size_t a = MICROTL_ALIGNMENT;

constexpr std::size_t up(std::size_t n) {
  return (n + a - 1) / a * a;
}

// The chain worked out by hand below (footprints: input, output, scratch bytes, placement).
constexpr std::array<LayerFootprint, 7> kChain = {{
    {100, 60, 10, separate},   // 0: reads the caller's input
    {60, 60, 0, in_place},     // 1: an activation
    {60, 60, 0, view},         // 2: a Flatten
    {60, 30, 20, separate},    // 3
    {30, 200, 0, separate},    // 4
    {200, 200, 12, in_place},  // 5: in place, with scratch
    {200, 8, 4, separate},     // 6
}};

// With 8-byte alignment (a(n) = n rounded up to 8), each layer needs, while it runs, its
// input (unless it is the caller's), its scratch and its output (unless in place or a view):
//
//   layer placement input      scratch  output     slot   needs
//   0     separate  caller's 0 a(10)=16 a(60)=64   low    0 + 16 + 64  =  80
//   1     in place  a(60)=64   0        (= input)  low    64 + 0       =  64
//   2     view      -          -        (= input)  low    0
//   3     separate  64 (low)   a(20)=24 a(30)=32   high   64 + 24 + 32 = 120
//   4     separate  32 (high)  0        200        low    32 + 0 + 200 = 232
//   5     in place  200 (low)  a(12)=16 (= input)  low    200 + 16     = 216
//   6     separate  200 (low)  a(4)=8   a(8)=8     high   200 + 8 + 8  = 216
//
// arena = max(needs) = 232 (layer 4: its input and output must coexist, no plan does better).
// Offsets: a low slot starts at 0; a high slot ends at the arena's end (3: 232 - 32 = 200,
// 6: 232 - 8 = 224); scratch sits right above the low slot in use: the layer's own output
// when it is low (0: 64, 1: 64, 2: 64, 4: 200, 5: 200), else its input when that is low
// (3: 64, 6: 200).
constexpr auto kPlan = plan_inference(kChain);
static_assert(MICROTL_ALIGNMENT != 8 || kPlan.arena_bytes == 232);

// Everything the independent simulation below checks, for one plan: every region inside the
// arena and aligned, input, scratch and output pairwise disjoint (in place: output == input),
// the caller's input never an output, and the arena the largest need.
struct Region {
  bool external = false;  // the caller's input
  std::size_t offset = 0;
  std::size_t bytes = 0;
};

bool disjoint(const Region& x, const Region& y) {
  if (x.external || y.external || x.bytes == 0 || y.bytes == 0) {
    return true;
  }
  return x.offset + x.bytes <= y.offset || y.offset + y.bytes <= x.offset;
}

bool inside(const Region& r, std::size_t arena) {
  return r.external || (r.offset % a == 0 && r.offset + r.bytes <= arena);
}

template <std::size_t N>
int plan_violations(const std::array<LayerFootprint, N>& layers,
                    const graph::InferencePlan<N>& plan) {
  int violations = 0;
  const auto fail = [&](bool bad, std::size_t layer, const char* what) {
    if (bad) {
      ++violations;
      MESSAGE("layer " << layer << ": " << what);
    }
  };
  Region current{true, 0, 0};  // the caller's input
  std::size_t largest_need = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const LayerFootprint& l = layers[i];
    const Region input = current;
    const std::size_t in_bytes = input.external ? 0 : up(l.input_bytes);
    if (l.placement == view) {
      fail(plan.slot[i] != (input.external ? Slot::external : plan.slot[i - 1]), i,
           "a view moved its data");
      fail(plan.bytes_needed[i] != 0, i, "a view needs memory");
      continue;  // the view's output is its input: `current` stays
    }
    const bool stays = l.placement == in_place && !input.external;
    const Region output{false, plan.output_offset[i], up(l.output_bytes)};
    const Region scratch{false, plan.scratch_offset[i], up(l.scratch_bytes)};
    const std::size_t need = in_bytes + scratch.bytes + (stays ? 0 : output.bytes);
    largest_need = need > largest_need ? need : largest_need;
    fail(plan.slot[i] == Slot::external, i, "an output in the caller's input");
    fail(plan.bytes_needed[i] != need, i, "bytes_needed differs from input + scratch + output");
    fail(!inside(output, plan.arena_bytes), i, "output outside the arena or misaligned");
    fail(!inside(scratch, plan.arena_bytes), i, "scratch outside the arena or misaligned");
    fail(!disjoint(scratch, input), i, "scratch overlaps the input");
    fail(!disjoint(scratch, output), i, "scratch overlaps the output");
    if (stays) {
      fail(output.offset != input.offset, i, "an in-place output moved");
    } else {
      fail(!disjoint(output, input), i, "output overlaps the input");
    }
    current = output;
  }
  fail(plan.arena_bytes != largest_need, N, "arena differs from the largest need");
  return violations;
}

// A random chain: sizes 1..300 bytes (mostly unaligned), every placement, consecutive
// layers agreeing on sizes (a view or an in-place layer keeps its input's size).
template <std::size_t N>
std::array<LayerFootprint, N> random_chain(microtl_test::Xorshift32& rng) {
  std::array<LayerFootprint, N> chain{};
  std::size_t bytes = static_cast<std::size_t>(rng.uniform_int(1, 300));
  for (auto& l : chain) {
    const auto kind = rng.uniform_int(0, 3);
    l.placement = kind == 0 ? view : (kind == 1 ? in_place : separate);
    l.input_bytes = bytes;
    l.output_bytes =
        l.placement == separate ? static_cast<std::size_t>(rng.uniform_int(1, 300)) : bytes;
    l.scratch_bytes = l.placement == view || rng.uniform_int(0, 1) == 0
                          ? 0
                          : static_cast<std::size_t>(rng.uniform_int(1, 64));
    bytes = l.output_bytes;
  }
  return chain;
}

// ---- Plans of whole models: Sequential gives the planner each layer's footprint. -------------

// float [2, 3] -> ReLU -> Flatten -> Quantize (int8) -> ReLU6 -> Dequantize (float).
using Elementwise = Sequential<Input<Shape<2, 3>>, ReLU, Flatten, Quantize, ReLU6, Dequantize>;
static_assert(Elementwise::layer_count == 5);
// Plan, worked out by hand with 8-byte alignment:
//  0 ReLU:       caller's input -> low slot, 24 B (6 floats)                  needs 24
//  1 Flatten:    view of the low slot                                         needs 0
//  2 Quantize:   low (24) -> high, 6 B -> 8 aligned                          needs 32
//  3 ReLU6:      in place in the high slot                                    needs 8
//  4 Dequantize: high (8) -> low, 24 B                                        needs 32
static_assert(MICROTL_ALIGNMENT != 8 || Elementwise::inference_arena_bytes == 32);
static_assert(Elementwise::plan.slot[0] == graph::Slot::low);
static_assert(Elementwise::plan.slot[1] == graph::Slot::low);
static_assert(Elementwise::plan.slot[2] == graph::Slot::high);
static_assert(Elementwise::plan.slot[3] == graph::Slot::high);
static_assert(Elementwise::plan.slot[4] == graph::Slot::low);

// The extractor of design.md: 28x28x1 int8 image, two conv blocks, flattened to 784; then a
// float head.
using Extractor = Sequential<Input<Shape<28, 28, 1>, QInt8>,                            //
                             Conv2D<8, Kernel<3>, Padding::same>, ReLU, MaxPool2D<2>,   //
                             Conv2D<16, Kernel<3>, Padding::same>, ReLU, MaxPool2D<2>,  //
                             Flatten>;
using Cnn = Sequential<Extractor, Dequantize, Dense<32>, ReLU, Dense<10>>;
// The plan by hand (bytes; all multiples of 8):
//   conv1   input is the caller's                 -> 28*28*8 = 6272          needs 6272
//   pool1   6272 + 14*14*8 = 1568                                            needs 7840
//   conv2   1568 + 14*14*16 = 3136                                           needs 4704
//   pool2   3136 + 7*7*16 = 784                                              needs 3920
//   flatten view                                                             needs 0
//   dequant 784 + 784*4 = 3136                                               needs 3920
//   dense32 3136 + 128                                                       needs 3264
//   dense10 128 + 40                                                         needs 168
// The largest pair is conv1's output with pool1's: 7840 bytes.
static_assert(MICROTL_ALIGNMENT != 8 || Cnn::inference_arena_bytes == 7840);
static_assert(Extractor::inference_arena_bytes == 7840);

}  // namespace

TEST_CASE("memory plan: a chain worked out by hand" * doctest::skip(MICROTL_ALIGNMENT != 8)) {
  const auto& plan = kPlan;
  const std::array<Slot, 7> slots = {Slot::low, Slot::low, Slot::low, Slot::high,
                                     Slot::low, Slot::low, Slot::high};
  const std::array<std::size_t, 7> needs = {80, 64, 0, 120, 232, 216, 216};
  const std::array<std::size_t, 7> output_offsets = {0, 0, 0, 200, 0, 0, 224};
  const std::array<std::size_t, 7> scratch_offsets = {64, 64, 64, 64, 200, 200, 200};
  for (std::size_t i = 0; i < 7; ++i) {
    CAPTURE(i);
    CHECK(plan.slot[i] == slots[i]);
    CHECK(plan.bytes_needed[i] == needs[i]);
    CHECK(plan.output_offset[i] == output_offsets[i]);
    CHECK(plan.scratch_offset[i] == scratch_offsets[i]);
  }
  CHECK(plan.arena_bytes == 232);
  CHECK(plan_violations(kChain, plan) == 0);
}

TEST_CASE("memory plan: consecutive outputs alternate between the low and the high slot") {
  constexpr std::array<LayerFootprint, 4> chain = {{
      {16, 40, 0, separate},
      {40, 24, 0, separate},
      {24, 8, 0, separate},
      {8, 16, 0, separate},
  }};
  constexpr auto plan = plan_inference(chain);
  CHECK(plan.slot[0] == Slot::low);
  CHECK(plan.slot[1] == Slot::high);
  CHECK(plan.slot[2] == Slot::low);
  CHECK(plan.slot[3] == Slot::high);
  // The largest input + output pair: 40 + 24 (layer 1), rounded to the alignment.
  CHECK(plan.arena_bytes == up(40) + up(24));
  CHECK(plan.output_offset[1] == plan.arena_bytes - up(24));
  CHECK(plan.output_offset[2] == 0);
  CHECK(plan.output_offset[3] == plan.arena_bytes - up(16));
  CHECK(plan_violations(chain, plan) == 0);
}

TEST_CASE("memory plan: the caller's input is never written") {
  // An in-place layer first: it cannot run over the caller's buffer; it gets a slot.
  constexpr std::array<LayerFootprint, 2> relu_first = {{
      {24, 24, 0, in_place},
      {24, 24, 0, in_place},
  }};
  constexpr auto p1 = plan_inference(relu_first);
  CHECK(p1.slot[0] == Slot::low);
  CHECK(p1.bytes_needed[0] == up(24));  // its output only: the input is not in the arena
  CHECK(p1.slot[1] == Slot::low);       // the second one does run in place
  CHECK(p1.bytes_needed[1] == up(24));
  CHECK(p1.arena_bytes == up(24));
  CHECK(plan_violations(relu_first, p1) == 0);

  // A view of the caller's input is still the caller's input: the in-place layer after it
  // gets a slot too.
  constexpr std::array<LayerFootprint, 3> view_first = {{
      {36, 36, 0, view},
      {36, 36, 0, in_place},
      {36, 36, 0, view},
  }};
  constexpr auto p2 = plan_inference(view_first);
  CHECK(p2.slot[0] == Slot::external);
  CHECK(p2.bytes_needed[0] == 0);
  CHECK(p2.slot[1] == Slot::low);
  CHECK(p2.slot[2] == Slot::low);  // a view of the low slot
  CHECK(p2.arena_bytes == up(36));
  CHECK(plan_violations(view_first, p2) == 0);

  // Only views: nothing is computed, the arena is empty.
  constexpr std::array<LayerFootprint, 1> only_view = {{{12, 12, 0, view}}};
  constexpr auto p3 = plan_inference(only_view);
  CHECK(p3.slot[0] == Slot::external);
  CHECK(p3.arena_bytes == 0);
}

TEST_CASE("memory plan: scratch sits between the low slot in use and the high slot") {
  // Layer 0: output low [0, 40), scratch above it. Layer 1: input low, output high, scratch
  // above the input. Layer 2: input high, output low, scratch above the output.
  constexpr std::array<LayerFootprint, 3> chain = {{
      {8, 40, 24, separate},
      {40, 16, 32, separate},
      {16, 8, 48, separate},
  }};
  constexpr auto plan = plan_inference(chain);
  CHECK(plan.scratch_offset[0] == up(40));
  CHECK(plan.scratch_offset[1] == up(40));
  CHECK(plan.scratch_offset[2] == up(8));
  CHECK(plan.bytes_needed[0] == up(40) + up(24));
  CHECK(plan.bytes_needed[1] == up(40) + up(32) + up(16));
  CHECK(plan.bytes_needed[2] == up(16) + up(48) + up(8));
  CHECK(plan.arena_bytes == up(40) + up(32) + up(16));
  CHECK(plan_violations(chain, plan) == 0);
}

TEST_CASE("memory plan: random chains keep every invariant, with the least arena possible") {
  microtl_test::Xorshift32 rng(0x91A7u);
  int violations = 0;
  std::size_t largest_arena = 0;
  for (int round = 0; round < 400; ++round) {
    const auto chain = random_chain<9>(rng);
    const auto plan = plan_inference(chain);
    const int v = plan_violations(chain, plan);
    if (v != 0) {
      MESSAGE("round " << round << ": " << v << " violations");
    }
    violations += v;
    largest_arena = plan.arena_bytes > largest_arena ? plan.arena_bytes : largest_arena;
  }
  CHECK(violations == 0);
  CHECK(largest_arena > 300);  // the chains are not trivial
}

TEST_CASE("memory plan: the plans Sequential derives from its layers") {
  // Computed by the compiler (static_asserts above); the same at run time, layer by layer.
  CHECK(Elementwise::plan.arena_bytes == Elementwise::inference_arena_bytes);
  CHECK(Cnn::plan.arena_bytes == Cnn::inference_arena_bytes);
  CHECK(Elementwise::plan.slot[1] == Slot::low);  // the Flatten: a view of the ReLU's output
  CHECK(Elementwise::plan.bytes_needed[1] == 0);
  CHECK(Cnn::plan.slot[4] == Cnn::plan.slot[3]);  // the Flatten again
  CHECK(Cnn::plan.bytes_needed[4] == 0);
  // The largest need is pool1's: conv1's output and its own, side by side.
  CHECK(Cnn::plan.bytes_needed[1] == Cnn::inference_arena_bytes);
  // A nested model: ReLU cannot run in place over the caller's input reached through the
  // Flatten view.
  using Outer = Sequential<Input<Shape<2, 2>, QInt8>, Flatten,
                           Sequential<Input<Shape<4>, QInt8>, ReLU>, Dequantize>;
  CHECK(Outer::plan.slot[0] == Slot::external);
  CHECK(Outer::plan.slot[1] == Slot::low);
}
