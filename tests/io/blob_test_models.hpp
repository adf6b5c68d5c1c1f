// Models and helpers shared by the parameter-blob tests: small models with Trainable and
// BiasOnly layers, a way to give every trained value a distinct bit pattern, and a
// snapshot of the trained values for bit-exact comparisons.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include "../support/compare.hpp"
#include "../support/random.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/microtl.hpp"

namespace microtl_test {

using namespace microtl;

template <std::size_t N>
constexpr std::array<float, N> ramp(float start, float step) {
  std::array<float, N> values{};
  for (std::size_t i = 0; i < N; ++i) {
    values[i] = start + step * static_cast<float>(i);
  }
  return values;
}

// Dense<4> on 6 inputs: 24 weights, 4 biases. Dense<3> on 4: 12 + 3. Dense<8> on 4: 32 + 8.
// Dense<3> on 8: 24 + 3.
inline constexpr auto w6x4 = ramp<24>(0.10f, 0.01f);
inline constexpr auto b4 = ramp<4>(-0.2f, 0.1f);
inline constexpr auto w4x3 = ramp<12>(-0.5f, 0.05f);
inline constexpr auto b3 = ramp<3>(0.3f, -0.1f);
inline constexpr auto w4x8 = ramp<32>(0.7f, -0.02f);
inline constexpr auto b8 = ramp<8>(0.05f, 0.01f);
inline constexpr auto w8x3 = ramp<24>(-0.3f, 0.02f);
inline constexpr LinearParams<float, 24, 4> p6x4{w6x4, b4};
inline constexpr LinearParams<float, 12, 3> p4x3{w4x3, b3};
inline constexpr LinearParams<float, 32, 8> p4x8{w4x8, b8};
inline constexpr LinearParams<float, 24, 3> p8x3{w8x3, b3};

// The brief's model: a bias-only layer (its weights stay in "flash") and a trainable one.
// 4 + 12 + 3 = 19 trained values: a 100-byte blob.
using SmallModel = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
inline SmallModel make_small() {
  return SmallModel(p6x4, p4x3);
}

// Same payload size, other structure (ReLU6 instead of ReLU): must be refused.
using Relu6Model = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU6, Trainable<Dense<3>>>;
inline Relu6Model make_relu6() {
  return Relu6Model(p6x4, p4x3);
}

// Another model type whose slots have the same size (43 values: 196 bytes, one 256-byte unit).
using OtherModel = Sequential<Input<Shape<6>>, Trainable<Dense<4>>, ReLU, Trainable<Dense<3>>>;
inline OtherModel make_other() {
  return OtherModel(p6x4, p4x3);
}

// A blob that spans two erase units: 4 + 40 + 27 = 71 values, 308 bytes, 512-byte slots.
using BigModel = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<8>>, ReLU,
                            Trainable<Dense<3>>>;
inline BigModel make_big() {
  return BigModel(p6x4, p4x8, p8x3);
}

// Calls f(std::span<float or const float>) for every trained tensor, in blob order.
template <class Model, class F>
void for_each_trained(Model& model, F&& f) {
  microtl::for_each_trained_tensor(model, [&](auto, auto, auto values) { f(values); });
}

template <class Model>
using Snapshot = std::array<float, io::ParameterStore<Model>::value_count>;

template <class Model>
Snapshot<Model> snapshot(const Model& model) {
  Snapshot<Model> values{};
  std::size_t next = 0;
  for_each_trained(model, [&](auto tensor) {
    for (const float v : tensor) {
      values[next++] = v;
    }
  });
  return values;
}

// Bit-identical (memcmp: -0.0 differs from 0.0, every NaN payload would count).
template <class Model>
bool same_bits(const Snapshot<Model>& a, const Snapshot<Model>& b) {
  return bit_identical(a, b);
}

// Gives every trained value a pseudo-random bit pattern the guard admits (normal,
// subnormal, either sign, any exponent up to 150: |v| < 2^24 = guard::parameter_limit), so
// that two seeds give values that differ everywhere and a byte-order or offset error cannot
// go unnoticed. The first values are -0.0 and a subnormal, which a careless conversion
// would lose.
template <class Model>
void set_values(Model& model, std::uint32_t seed) {
  Xorshift32 rng(seed);
  std::size_t index = 0;
  for_each_trained(model, [&](auto tensor) {
    for (float& v : tensor) {
      std::uint32_t bits = rng.next();
      const std::uint32_t exponent = (bits >> 23) & 0xFFU;
      if (exponent > 150U) {
        bits = (bits & 0x807FFFFFU) | ((exponent % 151U) << 23);
      }
      if (index == 0) {
        bits = 0x80000000U;  // -0.0 (the same for every seed)
      } else if (index == 1) {
        bits = 0x00000001U + seed;  // a subnormal
      }
      v = std::bit_cast<float>(bits);
      ++index;
    }
  });
}

// Sets the trained values from a snapshot (the inverse of snapshot()).
template <class Model>
void set_snapshot(Model& model, const Snapshot<Model>& values) {
  std::size_t next = 0;
  for_each_trained(model, [&](auto tensor) {
    for (float& v : tensor) {
      v = values[next++];
    }
  });
}

// Overwrites value `index` of the payload of the blob at `base` with `bits` and makes the
// CRC match again, as a writer that saved that value would have: a whole blob.
inline void set_stored_value(std::span<std::byte> raw, std::size_t base, std::size_t payload_bytes,
                             std::size_t index, std::uint32_t bits) {
  constexpr std::size_t header = io::blob_format::header_bytes;
  io::detail::put_u32(raw.data() + base + header + 4 * index, bits);
  io::detail::put_u32(raw.data() + base + header + payload_bytes,
                      io::crc32(raw.subspan(base, header + payload_bytes)));
}

// The same model type with values set from `seed`.
template <class Model, class Make>
Model model_with_values(Make make, std::uint32_t seed) {
  Model model = make();
  set_values(model, seed);
  return model;
}

}  // namespace microtl_test
