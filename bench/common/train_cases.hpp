// The on-device training cases of the benchmarks: one training step (forward, softmax
// cross-entropy, backward, SGD update; batch 1) of a dense 64 -> 32 (ReLU) -> 10 network,
// the network of the AIfES comparison figures in /work/shared/anchors.md.
//
//   train_mlp_64_32_10_full   both Dense layers train
//   train_mlp_64_32_10_last   only the second trains (the first is frozen: no gradient code
//                             and no gradient memory for it)
//   ..._unguarded             the same without the divergence guard (its cost is the difference)
// and of a small int8 CNN with a float head (train_cases.cpp), trained three ways:
//   train_cnn_int8_head           the head only (the convs run forward only)
//   train_cnn_int8_biases         the head and both convs' biases (int8 BiasOnly; the
//                                 gradient runs back through the second conv and the pools)
//   train_cnn_int8_conv2_weights  the head and the second conv's weights (int8 Trainable)
#pragma once

#include <cstddef>
#include <span>

namespace microtl_bench {

struct TrainCase {
  const char* name;
  std::size_t arena_bytes;  // the trainer's training_arena_bytes (constexpr)
  void (*step)();           // one training step on the case's fixed sample
  float (*loss)();          // the loss of the last step (to check that training happens)
};

void train_setup();
std::span<const TrainCase> train_cases();

}  // namespace microtl_bench
