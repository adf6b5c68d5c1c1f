// What the fuzz harnesses share: how a harness reports a broken property, the libFuzzer
// entry point, and bit-exact snapshots of a model's trained values.
//
// Each harness is a function `Failure run(std::span<const std::uint8_t> data)` in a header of
// its own (harness_*.hpp). It returns nullptr when every property it checks held for that
// input, or a sentence naming the property that broke. Two programs call it:
//  - the libFuzzer binary (fuzz_<harness>.cpp, built with MICROTL_FUZZ=ON and clang), whose
//    entry point aborts on a failure so that libFuzzer saves the input as a crash;
//  - test_fuzz_regressions (every host preset), which replays the committed seed corpus
//    and every saved regression input through the same function as a doctest test.
// A crash inside the library (ASan, UBSan, the assert hook's trap) is a crash in both.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include "microtl/io/parameter_store.hpp"
#include "microtl/train/guard.hpp"
#include "microtl/train/trainable.hpp"

namespace microtl_fuzz {

// nullptr: every property held. Otherwise the property that did not (a string literal).
using Failure = const char*;

// Reads bytes of the fuzzer's input little-endian, front to back; past the end it yields
// zeros (so a short input is a valid input with trailing zeros).
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

  std::uint8_t u8() noexcept { return position_ < data_.size() ? data_[position_++] : 0; }
  std::uint32_t u32() noexcept {
    std::uint32_t value = 0;
    for (unsigned i = 0; i < 4; ++i) {
      value |= static_cast<std::uint32_t>(u8()) << (8 * i);
    }
    return value;
  }
  float f32() noexcept { return std::bit_cast<float>(u32()); }  // any bit pattern: NaN, Inf
  std::size_t remaining() const noexcept { return data_.size() - position_; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t position_ = 0;
};

// Calls f(std::span<float or const float, N>) for every trained tensor of the model (a
// Trainable layer's weights then bias, a BiasOnly layer's bias), in chain order: the order
// of a parameter blob's payload.
template <class Model, class F>
void for_each_trained_values(Model& model, F&& f) {
  microtl::for_each_trained_tensor(model, [&](auto, auto, auto values) { f(values); });
}

template <class Model>
inline constexpr std::size_t trained_bytes = microtl::io::ParameterStore<Model>::payload_bytes;

// The trained values' bytes as they are in memory: equal snapshots are bit-identical
// parameters (-0.0 differs from 0.0, and every NaN payload counts).
template <class Model>
using Snapshot = std::array<std::byte, trained_bytes<Model>>;

template <class Model>
Snapshot<Model> snapshot(const Model& model) {
  Snapshot<Model> bytes{};
  std::size_t next = 0;
  for_each_trained_values(model, [&](auto tensor) {
    std::memcpy(bytes.data() + next, tensor.data(), tensor.size_bytes());
    next += tensor.size_bytes();
  });
  return bytes;
}

template <class Model>
bool all_finite(const Model& model) {
  bool finite = true;
  for_each_trained_values(model, [&](auto tensor) {
    for (const float v : tensor) {
      finite = finite && std::isfinite(v);
    }
  });
  return finite;
}

// The guard's invariant (train/guard.hpp) as an oracle, for a model a harness trained or
// loaded: check_model_runs<Lane>(model), where Lane names the model (Lane::Model) and the
// inputs to run it on (Lane::probes: a normal one and extreme admissible ones).
template <class L>
concept Int8BiasOnlyLayer = requires {
  L::bias_limit;
  L::bias_steps_limit;
};

// f(state, limit) for every int8 bias-only layer of the model.
template <class Model, class F>
void for_each_int8_bias(const Model& model, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using L = typename Model::template layer<I>;
          if constexpr (Int8BiasOnlyLayer<L>) {
            f(model.template state<I>(), L::bias_limit);
          }
        }(),
        ...);
  }(std::make_index_sequence<Model::layer_count>{});
}

// The forward pass on each probe input: finite outputs.
template <class Lane>
Failure check_forward(const typename Lane::Model& model) {
  using Model = typename Lane::Model;
  static typename Model::InferenceArena arena;
  for (const auto& probe : Lane::probes) {
    const auto out = model.forward(typename Model::input_view(probe), arena);
    for (const float v : out.values) {
      if (!std::isfinite(v)) {
        return "a forward pass on a normal or extreme admissible input gave a non-finite output";
      }
    }
  }
  return nullptr;
}

// The guard's invariant ((P), (B)) and what it protects: the model runs.
template <class Lane>
Failure check_model_runs(const typename Lane::Model& model) {
  if (microtl::guard::check_model(model) != microtl::Status::ok) {
    return "the model breaks the guard's invariant (guard::check_model is not ok)";
  }
  bool biases_within = true;
  for_each_int8_bias(model, [&](const auto& state, std::int32_t limit) {
    for (const std::int32_t b : state.bias_q) {
      biases_within = biases_within && b <= limit && b >= -limit;
    }
  });
  if (!biases_within) {
    return "an int8 bias-only layer's int32 bias is beyond its accumulator bound bias_limit";
  }
  return check_forward<Lane>(model);
}

}  // namespace microtl_fuzz

// The libFuzzer entry point for one harness: a broken property is a crash (abort), with
// the property printed, so libFuzzer keeps the input.
#define MICROTL_FUZZ_ENTRY_POINT(harness)                                                       \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {           \
    const ::microtl_fuzz::Failure failure = harness(std::span<const std::uint8_t>(data, size)); \
    if (failure != nullptr) {                                                                   \
      std::fprintf(stderr, "microtl fuzz: property broken: %s\n", failure);                     \
      std::abort();                                                                             \
    }                                                                                           \
    return 0;                                                                                   \
  }
