// The training memory plan (graph/training_plan.hpp): what it keeps for the backward pass,
// and that no two things alive at the same time share a byte.
//
// The example: the transfer-learning demo's int8 extractor with a bias trained in every conv
// (TinyTL's recipe), as the Trainer sees it, layer by layer (bytes):
//
//   i  layer                  out   reads in/out   kept because
//   0  BiasOnly conv 28x28x8  6272  no / yes        its own clamp (int8 ReLU)
//   1  max pool 2             1568  yes / yes       its own clamp; the argmax needs 0's output
//   2  BiasOnly conv 14x14x16 3136  no / yes        its own clamp
//   3  max pool 2              784  yes / yes       ...
//   4  BiasOnly conv 7x7x16    784  no / yes
//   5  max pool 2              144  yes / yes
//   6  flatten                (view)
//   7  dequantize            144*4  no / no         the next layer's weight gradient
//   8  Trainable dense 32     32*4  yes / yes
//   9  Trainable dense 10     10*4  yes / yes       the loss
// and with frozen average pools instead of the max pools, the convs' outputs pass: each is read
// by nobody's backward (a bias gradient needs dL/dy only), only the pools' outputs are kept.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>

#include "microtl/graph/training_plan.hpp"

using namespace microtl;
using graph::LayerFootprint;
using graph::TrainingFootprint;

namespace {

constexpr std::size_t al(std::size_t bytes) {
  return align_up(bytes, MICROTL_ALIGNMENT);
}

constexpr TrainingFootprint layer(std::size_t in_elements, std::size_t in_size,
                                  std::size_t out_elements, std::size_t out_size,
                                  std::size_t trained, bool reads_input, bool reads_output,
                                  OutputPlacement placement = OutputPlacement::separate) {
  return {LayerFootprint{in_elements * in_size, out_elements * out_size, 0, placement},
          trained,
          0,
          in_elements * sizeof(float),
          out_elements * sizeof(float),
          reads_input,
          reads_output};
}

// The demo's network; `max` chooses max pools (read their input) or average pools (do not).
constexpr std::array<TrainingFootprint, 10> demo(bool max) {
  return {{
      layer(784, 1, 6272, 1, 8, false, true),                       // 0 BiasOnly conv
      layer(6272, 1, 1568, 1, 0, max, true),                        // 1 pool
      layer(1568, 1, 3136, 1, 16, false, true),                     // 2 BiasOnly conv
      layer(3136, 1, 784, 1, 0, max, true),                         // 3 pool
      layer(784, 1, 784, 1, 16, false, true),                       // 4 BiasOnly conv
      layer(784, 1, 144, 1, 0, max, true),                          // 5 pool
      layer(144, 1, 144, 1, 0, true, true, OutputPlacement::view),  // 6 flatten
      layer(144, 1, 144, 4, 0, false, false),                       // 7 dequantize
      layer(144, 4, 32, 4, 4640, true, true),                       // 8 dense 32
      layer(32, 4, 10, 4, 330, true, true),                         // 9 dense 10
  }};
}

constexpr auto with_max = graph::plan_training(demo(true), 0);
constexpr auto with_avg = graph::plan_training(demo(false), 0);

static_assert(with_max.first_trainable == 0 && with_max.saved_from == 10);
static_assert(with_max.kept ==
              std::array<bool, 10>{true, true, true, true, true, true, true, true, true, true});
static_assert(with_avg.kept ==
              std::array<bool, 10>{true, true, true, true, true, true, true, true, true, true});

// All outputs are read by their own layer's clamp: kept either way. Without the int8 clamp
// (float, no activation) the convs' outputs pass when the pools are averages.
constexpr std::array<TrainingFootprint, 10> float_demo(bool max) {
  auto layers = demo(max);
  for (std::size_t i : {0U, 2U, 4U}) {
    layers[i].reads_output = false;
  }
  return layers;
}
constexpr auto float_max = graph::plan_training(float_demo(true), 0);
constexpr auto float_avg = graph::plan_training(float_demo(false), 0);
static_assert(float_max.kept ==
              std::array<bool, 10>{true, true, true, true, true, true, true, true, true, true});
static_assert(float_avg.kept ==
              std::array<bool, 10>{false, true, false, true, false, true, true, true, true, true});
// The passing outputs cost nothing kept: exactly the three convs' outputs less.
static_assert(float_max.saved_activation_bytes - float_avg.saved_activation_bytes ==
              al(6272) + al(3136) + al(784));

// The gradients: the largest backward step is the first pool's, dy 1568 and dx 6272 floats.
static_assert(with_max.gradient_bytes == al(4 * 1568) + al(4 * 6272));

// [a, a + n) and [b, b + m) share no byte.
constexpr bool apart(std::size_t a, std::size_t n, std::size_t b, std::size_t m) {
  return n == 0 || m == 0 || a + n <= b || b + m <= a;
}

// What the backward step of layer k reads and writes fits the shared region and does not
// overlap; each step's dy is the next step's dx.
template <std::size_t N>
constexpr bool gradients_sound(const graph::TrainingPlan<N>& p,
                               const std::array<TrainingFootprint, N>& layers) {
  for (std::size_t k = p.first_trainable; k < N; ++k) {
    const std::size_t dy = layers[k].output_grad_bytes;
    const std::size_t dx = k > p.first_trainable ? layers[k].input_grad_bytes : 0;
    if (p.output_grad_offset[k] + dy > p.gradient_bytes) {
      return false;
    }
    if (layers[k].forward.placement == OutputPlacement::view) {
      if (p.input_grad_offset[k] != p.output_grad_offset[k]) {
        return false;
      }
    } else if (p.input_grad_offset[k] + dx > p.gradient_bytes ||
               !apart(p.output_grad_offset[k], dy, p.input_grad_offset[k], dx)) {
      return false;
    }
    if (k > p.first_trainable && p.output_grad_offset[k - 1] != p.input_grad_offset[k]) {
      return false;
    }
  }
  return p.shared_offset + p.gradient_bytes <= p.bytes;
}

// Kept activations do not overlap each other or the shared region; a layer's passing input
// and output do not overlap each other.
template <std::size_t N>
constexpr bool activations_sound(const graph::TrainingPlan<N>& p,
                                 const std::array<TrainingFootprint, N>& layers) {
  for (std::size_t i = p.saved_begin; i < N; ++i) {
    if (layers[i].forward.placement == OutputPlacement::view) {
      continue;
    }
    const std::size_t out = layers[i].forward.output_bytes;
    if (p.kept[i]) {
      if (p.activation_offset[i] + out > p.shared_offset) {
        return false;
      }
      for (std::size_t j = p.saved_begin; j < i; ++j) {
        if (p.kept[j] && layers[j].forward.placement != OutputPlacement::view &&
            !apart(p.activation_offset[i], out, p.activation_offset[j],
                   layers[j].forward.output_bytes)) {
          return false;
        }
      }
    } else {
      if (p.activation_offset[i] < p.shared_offset || p.activation_offset[i] + out > p.bytes) {
        return false;
      }
      if (i > p.first_trainable && !p.kept[i - 1] &&
          !apart(p.activation_offset[i], out, p.activation_offset[i - 1],
                 layers[i].forward.input_bytes)) {
        return false;
      }
    }
  }
  return true;
}

static_assert(gradients_sound(with_max, demo(true)));
static_assert(gradients_sound(float_avg, float_demo(false)));
static_assert(activations_sound(with_max, demo(true)));
static_assert(activations_sound(float_avg, float_demo(false)));

}  // namespace

TEST_CASE("training plan: a bias gradient keeps no input; the gradients alternate ends") {
  // (The checks are static_asserts above; this reports the figures.)
  MESSAGE("demo, biases of every conv + head: arena "
          << with_max.bytes << " B, kept " << with_max.saved_activation_bytes << " B, gradients "
          << with_max.gradient_bytes << " B");
  CHECK(float_avg.saved_activation_bytes < float_max.saved_activation_bytes);
  CHECK(with_max.gradient_bytes < 2 * al(4 * 6272));  // two buffers of the largest would be more
}
