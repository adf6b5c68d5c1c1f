// model_signature<Model>(): a 32-bit fingerprint of a model's structure, computed by the
// compiler, stored in every parameter blob (io/parameter_blob.hpp) so that parameters saved
// by one model are never loaded into another.
//
// What it covers, layer by layer (Model::layer<I>, I < Model::layer_count, after binding,
// so a fused Dense+ReLU is one layer that carries its activation):
//   - the layer's name ("Dense", "Conv2D", "ReLU", ...)
//   - its input and output element types (float / QInt8), ranks and extents
//   - its fused activation, when it has one (L::activation)
//   - the extents of its linear parameters, when it has them (weights_extent, bias_extent:
//     tells apart two convolutions with the same shapes but other kernel sizes)
//   - for a trainable layer (is_trainable_v<L>), what trains: for a linear layer whether its
//     weights train and the weight and bias extents (Trainable<Dense<4>> and
//     BiasOnly<Dense<4>> differ); for others each trained tensor's index and size
// and the number of layers. Parameter *values* are not covered: they are what is saved.
//
// The hash is 32-bit FNV-1a over a byte encoding of these facts (each integer as 4 bytes,
// little-endian; each name followed by a 0 byte so "Conv" + "1D" cannot alias "Conv1D"):
//   h = 2166136261;  for each byte b:  h = (h ^ b) * 16777619  (mod 2^32)
// A 32-bit hash can collide in principle (about 1 in 4 billion for two random models); the
// blob's payload length is checked separately, so a collision can at worst load parameters
// of the right count into a different model of the same size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "microtl/core/shape.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"

namespace microtl::io {

namespace detail {

class Fnv1a32 {
 public:
  constexpr void byte(std::uint8_t b) noexcept { hash_ = (hash_ ^ b) * 16777619U; }
  constexpr void u32(std::uint64_t value) noexcept {
    // Extents and counts above 2^32 do not occur on a microcontroller; the high half is
    // folded in anyway so that nothing is silently dropped on a 64-bit host.
    const auto low = static_cast<std::uint32_t>(value);
    const auto high = static_cast<std::uint32_t>(value >> 32);
    for (int shift = 0; shift < 32; shift += 8) {
      byte(static_cast<std::uint8_t>(low >> shift));
    }
    if (high != 0U) {
      for (int shift = 0; shift < 32; shift += 8) {
        byte(static_cast<std::uint8_t>(high >> shift));
      }
    }
  }
  constexpr void text(const char* s) noexcept {
    for (; *s != '\0'; ++s) {
      byte(static_cast<std::uint8_t>(*s));
    }
    byte(0);
  }
  [[nodiscard]] constexpr std::uint32_t value() const noexcept { return hash_; }

 private:
  std::uint32_t hash_ = 2166136261U;
};

template <ActivationElement E>
constexpr std::uint8_t element_code() noexcept {
  return std::is_same_v<E, float> ? std::uint8_t{1} : std::uint8_t{2};
}

template <class S>
constexpr void hash_shape(Fnv1a32& h) noexcept {
  h.u32(S::rank);
  for (std::size_t axis = 0; axis < S::rank; ++axis) {
    h.u32(S::dims[axis]);
  }
}

// One tag byte before each group of facts, so an absent group cannot be confused with the
// next layer's data.
template <class L>
constexpr void hash_layer(Fnv1a32& h) noexcept {
  h.byte('L');
  h.text(L::name);
  h.byte(element_code<typename L::input_element>());
  hash_shape<typename L::input_shape>(h);
  h.byte(element_code<typename L::output_element>());
  hash_shape<typename L::output_shape>(h);
  if constexpr (requires { L::activation; }) {
    h.byte('A');
    h.byte(static_cast<std::uint8_t>(L::activation));
  }
  if constexpr (is_linear_params_v<typename L::Params>) {
    h.byte('P');
    h.u32(L::Params::weights_extent);
    h.u32(L::Params::bias_extent);
  }
  if constexpr (is_trainable_v<L>) {
    h.byte('T');
    if constexpr (is_linear_params_v<typename L::Params>) {
      // Whether the weights train, and the extents of weights and bias.
      bool weights_train = false;
      for (const TrainedTensor& t : L::trained_tensors) {
        weights_train = weights_train || t.index == linear_tensor::weights;
      }
      h.byte(weights_train ? std::uint8_t{1} : std::uint8_t{0});
      h.u32(L::Params::weights_extent);
      h.u32(L::Params::bias_extent);
    } else {
      for (const TrainedTensor& t : L::trained_tensors) {
        h.u32(t.index);
        h.u32(t.count);
      }
    }
  }
}

}  // namespace detail

template <class Model>
constexpr std::uint32_t model_signature() noexcept {
  detail::Fnv1a32 h;
  h.u32(Model::layer_count);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (detail::hash_layer<typename Model::template layer<I>>(h), ...);
  }(std::make_index_sequence<Model::layer_count>{});
  return h.value();
}

}  // namespace microtl::io
