// Fuzz harness: io::ParameterStore::load on arbitrary storage contents, then save.
//
// Input: byte 0 is a set of flags, the rest is the storage region's contents.
//   flags bit 0   before loading, rewrite slot 0's CRC so that it matches the bytes its
//                 header claims (header size + payload length), when they fit the region
//   flags bit 1   the same for slot 1 (fixed before slot 0: a slot-0 blob may reach into
//                 slot 1)
//   flags bit 2   the region is Int8Model's (an int8 bias-only layer; see run_int8 below)
//   bytes 1..     the region (2 slots of 256 bytes for this model): copied from offset 0;
//                 a shorter input leaves the rest erased (0xFF), a longer one is cut
// Without the flags a fuzzer would almost never get past the CRC; with them it reaches the
// version, signature, length, sequence and finite-value checks behind it.
//
// Properties:
//  - load never crashes, never reads outside the region (RamStorage would answer
//    invalid_argument, which load would report as io_error) and never writes to it;
//  - load fails only with a status its documentation lists for a storage that works, and
//    then the model's parameters are bit-identical to before;
//  - load ok: every loaded value is finite and equals, bit for bit, the payload of the
//    slot newest() names; the model meets the guard's invariant (guard::check_model:
//    parameters within 2^24: io::load refuses any other with out_of_range) and runs: a forward pass
//    on a normal input and on extreme admissible ones (all inputs +-2^24) gives finite outputs;
//  - then the model's values are changed (the last bit of every value moved toward zero:
//    an admissible value stays admissible) and saved: save returns ok (the storage never
//    fails), does not touch
//    the slot that held the blob just loaded, and a load into a fresh model returns ok
//    with exactly the saved values (save's contract: "load() now returns these values").
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../support/random.hpp"
#include "harness.hpp"
#include "harness_train_step.hpp"
#include "microtl/io/crc32.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/microtl.hpp"

namespace microtl_fuzz::parameter_blob {

using namespace microtl;

// A bias-only layer (weights stay in "flash") and a trainable one: 4 + 12 + 3 = 19 values,
// a 100-byte blob, two 256-byte slots.
using Model = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using Store = io::ParameterStore<Model>;
using Region = io::RamStorage<Store::storage_bytes, Store::erase_unit>;

inline constexpr std::uint8_t fix_crc_slot0 = 0x01;
inline constexpr std::uint8_t fix_crc_slot1 = 0x02;
inline constexpr std::uint8_t int8_model_flag = 0x04;

inline constexpr std::array<float, 24> initial_w1 = {
    0.10f, 0.11f, 0.12f, 0.13f, 0.14f, 0.15f, 0.16f, 0.17f, 0.18f, 0.19f, 0.20f, 0.21f,
    0.22f, 0.23f, 0.24f, 0.25f, 0.26f, 0.27f, 0.28f, 0.29f, 0.30f, 0.31f, 0.32f, 0.33f};
inline constexpr std::array<float, 4> initial_b1 = {-0.2f, -0.1f, 0.0f, 0.1f};
inline constexpr std::array<float, 12> initial_w2 = {-0.50f, -0.45f, -0.40f, -0.35f, -0.30f, -0.25f,
                                                     -0.20f, -0.15f, -0.10f, -0.05f, 0.05f,  0.10f};
inline constexpr std::array<float, 3> initial_b2 = {0.3f, 0.2f, 0.1f};
inline constexpr LinearParams<float, 24, 4> initial_p1{initial_w1, initial_b1};
inline constexpr LinearParams<float, 12, 3> initial_p2{initial_w2, initial_b2};

inline Model make_model() {
  return Model(initial_p1, initial_p2);
}

// Sets the trained values from a seed (finite, distinct, within the guard's bound 2^24):
// for the corpus generator.
inline void set_values(Model& model, std::uint32_t seed) {
  microtl_test::Xorshift32 rng(seed);
  for_each_trained_values(model, [&](auto tensor) {
    for (float& v : tensor) {
      const std::uint32_t bits = rng.next();
      // Exponent in [64, 150]: magnitudes from about 1e-19 to just below 2^24.
      const std::uint32_t exponent = 64U + (bits >> 8) % 87U;
      v = std::bit_cast<float>((bits & 0x807FFFFFU) | (exponent << 23));
    }
  });
}

// Little-endian fields of the blob header, read and written here independently of the
// library's own helpers.
inline std::uint32_t get_le(std::span<const std::byte> bytes, std::size_t at, std::size_t n) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    value |= static_cast<std::uint32_t>(bytes[at + i]) << (8 * i);
  }
  return value;
}

// Makes slot `slot`'s CRC match the bytes its header covers, when they fit the region.
template <class S = Store, class R>
void fix_crc(R& region, std::size_t slot) {
  const std::span<std::byte> raw = region.raw();
  const std::size_t base = S::slot_offset(slot);
  const std::uint64_t covered =
      std::uint64_t{get_le(raw, base + 6, 2)} + std::uint64_t{get_le(raw, base + 8, 4)};
  if (covered + 4 > raw.size() - base) {
    return;
  }
  const auto n = static_cast<std::size_t>(covered);
  const std::uint32_t crc = io::crc32(raw.subspan(base, n));
  for (std::size_t i = 0; i < 4; ++i) {
    raw[base + n + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xFFU);
  }
}

// What load() may answer, per its documentation, for a storage of the right size whose
// reads never fail.
inline bool documented_load_failure(Status status) {
  switch (status) {
    case Status::model_mismatch:
    case Status::version_mismatch:
    case Status::size_mismatch:
    case Status::not_finite:
    case Status::checksum_mismatch:
    case Status::truncated:
    case Status::bad_format:
    case Status::not_found:
    case Status::out_of_range:  // a value beyond the guard's bound (train/guard.hpp)
      return true;
    default:
      return false;
  }
}

// The storage region an input describes (see the top of this file).
template <class S = Store>
io::RamStorage<S::storage_bytes, S::erase_unit> region_from(std::span<const std::uint8_t> data) {
  io::RamStorage<S::storage_bytes, S::erase_unit> region;
  const std::uint8_t flags = data.empty() ? 0 : data[0];
  const std::span<const std::uint8_t> contents = data.empty() ? data : data.subspan(1);
  const std::size_t n = std::min(contents.size(), region.size());
  const std::span<std::byte> raw = region.raw();
  for (std::size_t i = 0; i < n; ++i) {
    raw[i] = static_cast<std::byte>(contents[i]);
  }
  if ((flags & fix_crc_slot1) != 0) {
    fix_crc<S>(region, 1);
  }
  if ((flags & fix_crc_slot0) != 0) {
    fix_crc<S>(region, 0);
  }
  return region;
}

// What check_model_runs (harness.hpp) runs the loaded model on.
struct ModelLane {
  using Model = parameter_blob::Model;
  static constexpr float big = 16777216.0f;  // 2^24
  static constexpr std::array<std::array<float, 6>, 4> probes = {
      {{0.5f, -0.25f, 1.0f, 0.75f, -1.0f, 0.1f},
       {big, big, big, big, big, big},
       {-big, -big, -big, -big, -big, -big},
       {big, -big, big, -big, big, -big}}};
};

// After a load that returned ok: the guard's invariant, and the model runs.
template <class Lane>
Failure check_loaded(const typename Lane::Model& model) {
  return check_model_runs<Lane>(model);
}

// Moves every value one step toward zero (0 becomes the smallest subnormal of its sign):
// different from before, and as admissible.
template <class M>
void move_values(M& model) {
  for_each_trained_values(model, [](auto tensor) {
    for (float& v : tensor) {
      const std::uint32_t bits = std::bit_cast<std::uint32_t>(v);
      v = std::bit_cast<float>((bits & 0x7FFFFFFFU) == 0 ? bits + 1U : bits - 1U);
    }
  });
}

Failure run_int8(std::span<const std::uint8_t> data);

inline Failure run(std::span<const std::uint8_t> data) {
  if (!data.empty() && (data[0] & int8_model_flag) != 0) {
    return run_int8(data);
  }
  Region region = region_from(data);
  const std::array<std::byte, Store::storage_bytes> stored = [&] {
    std::array<std::byte, Store::storage_bytes> copy{};
    std::ranges::copy(region.raw(), copy.begin());
    return copy;
  }();

  Model model = make_model();
  const Snapshot<Model> before = snapshot(model);
  const Status loaded = Store::load(model, region);
  if (!std::ranges::equal(region.raw(), stored)) {
    return "load wrote to the storage";
  }
  std::size_t loaded_slot = 2;  // none
  if (loaded != Status::ok) {
    if (snapshot(model) != before) {
      return "load failed but changed the model's parameters";
    }
    if (loaded == Status::io_error) {
      return "load reported io_error on a storage that never fails (a read outside the region?)";
    }
    if (!documented_load_failure(loaded)) {
      return "load failed with a status its documentation does not list";
    }
  } else {
    if (!all_finite(model)) {
      return "load returned ok with a non-finite parameter";
    }
    const Result<io::StoredBlob> newest = Store::newest(region);
    if (!newest.ok()) {
      return "load returned ok but newest() finds no loadable blob";
    }
    loaded_slot = newest.value().slot;
    const std::size_t payload = Store::slot_offset(loaded_slot) + io::blob_format::header_bytes;
    const Snapshot<Model> values = snapshot(model);
    if (!std::ranges::equal(std::span(stored).subspan(payload, values.size()), values)) {
      return "load returned ok with values other than the newest blob's payload";
    }
    if (const Failure f = check_loaded<ModelLane>(model)) {
      return f;
    }
  }

  // New values, different from every blob stored.
  move_values(model);
  const Snapshot<Model> saved_values = snapshot(model);
  if (Store::save(model, region) != Status::ok) {
    return "save failed on a storage that never fails";
  }
  if (loaded_slot < 2) {
    const std::size_t base = Store::slot_offset(loaded_slot);
    if (!std::ranges::equal(region.raw().subspan(base, Store::blob_bytes),
                            std::span(stored).subspan(base, Store::blob_bytes))) {
      return "save overwrote the slot holding the blob that load had just loaded";
    }
  }
  Model reloaded = make_model();
  if (Store::load(reloaded, region) != Status::ok) {
    return "save returned ok but load then fails";
  }
  if (snapshot(reloaded) != saved_values) {
    return "save returned ok but load then returns other values than the ones saved";
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// flags bit 2: the region holds blobs of Int8Model, whose int8 bias-only layer keeps an int32
// bias derived from the stored real bias. A blob whose bias would put the int32 bias beyond
// the accumulator bound (guard bound B) must not load (out_of_range): the next forward pass
// would overflow the int8 kernel's accumulator (UBSan aborts in the fuzz preset).
// Properties: as for Model above, the int32 biases included (unchanged after a failed load,
// within +-bias_limit after a successful one, and the forward pass on the extreme codes
// 127 and -128 runs); then save and reload give back the values saved.
// ---------------------------------------------------------------------------------------
using Int8Model = train_step::Int8Dense;
using Int8Store = io::ParameterStore<Int8Model>;

inline Int8Model make_int8_model() {
  return train_step::Int8DenseLane::make();
}

inline std::vector<std::int32_t> biases_q(const Int8Model& model) {
  std::vector<std::int32_t> q;
  for_each_int8_bias(model, [&](const auto& state, std::int32_t) {
    q.insert(q.end(), state.bias_q.begin(), state.bias_q.end());
  });
  return q;
}

inline Failure run_int8(std::span<const std::uint8_t> data) {
  auto region = region_from<Int8Store>(data);
  const std::vector<std::byte> stored(region.raw().begin(), region.raw().end());

  Int8Model model = make_int8_model();
  const Snapshot<Int8Model> before = snapshot(model);
  const std::vector<std::int32_t> before_q = biases_q(model);
  const Status loaded = Int8Store::load(model, region);
  if (!std::ranges::equal(region.raw(), stored)) {
    return "load wrote to the storage (int8 model)";
  }
  if (loaded != Status::ok) {
    if (snapshot(model) != before || biases_q(model) != before_q) {
      return "load failed but changed the int8 model's parameters or int32 biases";
    }
    if (!documented_load_failure(loaded)) {
      return "load failed with a status its documentation does not list (int8 model)";
    }
  } else {
    // With the model: its int8 layer's own bound (B) decides, as in load() (the model-less
    // newest() holds values to (P) only and may name a slot load() passes over).
    const Result<io::StoredBlob> newest = Int8Store::newest(model, region);
    if (!newest.ok()) {
      return "load returned ok but newest() finds no loadable blob (int8 model)";
    }
    const std::size_t payload =
        Int8Store::slot_offset(newest.value().slot) + io::blob_format::header_bytes;
    const Snapshot<Int8Model> values = snapshot(model);
    if (!std::ranges::equal(std::span(stored).subspan(payload, values.size()), values)) {
      return "load returned ok with values other than the newest blob's payload (int8 model)";
    }
    Int8Model refreshed = model;
    refreshed.state<0>().refresh();
    if (biases_q(refreshed) != biases_q(model)) {
      return "load returned ok but the int32 bias is not the one the loaded real bias gives";
    }
    if (const Failure f = check_loaded<train_step::Int8DenseLane>(model)) {
      return f;
    }
  }

  move_values(model);
  model.state<0>().refresh();  // the int32 bias the moved real bias gives
  const Snapshot<Int8Model> saved_values = snapshot(model);
  if (Int8Store::save(model, region) != Status::ok) {
    return "save failed on a storage that never fails (int8 model)";
  }
  Int8Model reloaded = make_int8_model();
  if (Int8Store::load(reloaded, region) != Status::ok || snapshot(reloaded) != saved_values ||
      biases_q(reloaded) != biases_q(model)) {
    return "save returned ok but load then fails or returns other values (int8 model)";
  }
  return check_model_runs<train_step::Int8DenseLane>(reloaded);
}

}  // namespace microtl_fuzz::parameter_blob
