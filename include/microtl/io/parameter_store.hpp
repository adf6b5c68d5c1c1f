// Saving and loading what a model has learned: the values of its trained tensors
// (Trainable<...>: weights and bias; BiasOnly<...>: bias, in the order of
// train/trained_tensors.hpp), kept in a Storage (io/storage.hpp) so that a device that
// trained keeps its knowledge across a reset or a power loss.
//
//   static MyFlash flash;                                   // a Storage of at least
//   static_assert(io::storage_bytes_needed<Model>() <= MyFlash::region_bytes);
//   MICROTL_TRY(io::save(model, flash));                    // after training
//   ...
//   Status s = io::load(model, flash);                      // at start-up
//   if (s == Status::not_found) { /* first boot: keep the initial parameters */ }
//
// io::save / io::load use erase units of `default_erase_unit` bytes; for a flash with
// another erase unit (4 KB sectors, 2 KB pages), use io::ParameterStore<Model, Unit>.
//
// Each save writes one blob (io/parameter_blob.hpp). Two slots, written alternately, so that
// a power loss never loses the last good blob:
//
//   [ slot 0 | slot 1 ]    slot_bytes = blob_bytes rounded up to whole erase units
//
// save() keeps the slot holding the newest valid blob of this model and rewrites the other
// one: erase, then write header, payload and CRC in one pass. Until the last CRC byte is
// programmed the new blob fails its CRC, so a cut at any point leaves the previous blob as
// the newest valid one; once written, its sequence number (newest + 1) makes it the newest.
// Alternating also spreads the erases evenly over the two slots (wear levelling by two).
//
// load() validates both slots (magic, frame, CRC, version, signature, length, finite
// values) streaming through small storage reads, picks the valid one with the newest
// sequence number, and only then copies its values into the model.
//
// Memory: no buffer of the blob's size. save and load use a 64-byte chunk on the stack and
// compute the CRC while the bytes stream.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "microtl/core/status.hpp"
#include "microtl/io/crc32.hpp"
#include "microtl/io/model_signature.hpp"
#include "microtl/io/parameter_blob.hpp"
#include "microtl/io/storage.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl::io {

// Erase unit assumed by io::save / io::load (a small NOR page; SPI NOR chips erase 4 KB,
// many MCUs 2 KB or more: use ParameterStore<Model, Unit> with the real value there).
inline constexpr std::size_t default_erase_unit = 256;

template <class Model, std::size_t EraseUnit = default_erase_unit>
class ParameterStore {
  static_assert(EraseUnit >= 1, "microtl::io::ParameterStore: the erase unit is at least 1 byte");

  // Calls f(values) for every trained tensor of the model, in payload order: a
  // std::span<float, N> (or <const float, N> for a const model). Stops calling at the first
  // non-ok Status f returns, and returns it.
  template <class M, class F>
  static Status for_each_tensor(M& model, F&& f) noexcept {
    Status status = Status::ok;
    for_each_trained_tensor(model, [&](auto, auto, auto values) {
      if (status == Status::ok) {
        status = f(values);
      }
    });
    return status;
  }

 public:
  // Trained values in the model, and the sizes they take in storage.
  static constexpr std::size_t value_count = trained_value_count_v<Model>;
  static_assert(value_count > 0,
                "microtl::io::ParameterStore: the model has no Trainable<...> or BiasOnly<...> "
                "layer: there is nothing to save");
  static constexpr std::size_t payload_bytes = 4 * value_count;
  static_assert(payload_bytes <= 0xFFFFFFFFU,
                "microtl::io::ParameterStore: the payload length must fit the 32-bit field");
  static constexpr std::size_t blob_bytes =
      blob_format::header_bytes + payload_bytes + blob_format::crc_bytes;
  static constexpr std::size_t erase_unit = EraseUnit;
  static constexpr std::size_t slot_bytes = (blob_bytes + EraseUnit - 1) / EraseUnit * EraseUnit;
  static constexpr std::size_t storage_bytes = 2 * slot_bytes;  // the region to reserve
  static constexpr std::uint32_t signature = model_signature<Model>();

  // Writes the model's trained values as the newest blob, into the slot that does not
  // hold the newest valid blob of this model.
  //   ok                 written and read back: load() now returns these values
  //   size_mismatch      the storage is smaller than storage_bytes (nothing touched)
  //   not_finite         a parameter is NaN or infinite (nothing touched: never persist a
  //                      diverged model)
  //   io_error           the storage failed (reading, erasing, writing, or the read-back
  //                      differs); the previously newest blob is still there and loadable
  template <Storage S>
  [[nodiscard]] static Status save(const Model& model, S& storage) noexcept {
    if (storage.size() < storage_bytes) {
      return Status::size_mismatch;
    }
    MICROTL_TRY(for_each_tensor(model, [](auto values) noexcept {
      for (const float v : values) {
        if (!detail::is_finite_bits(std::bit_cast<std::uint32_t>(v))) {
          return Status::not_finite;
        }
      }
      return Status::ok;
    }));

    const std::array<SlotCheck, 2> slots = {check_slot(storage, 0), check_slot(storage, 1)};
    if (slots[0].status == Status::io_error || slots[1].status == Status::io_error) {
      return Status::io_error;  // cannot tell which slot is safe to overwrite
    }
    // Keep the newest blob this model can load; failing that the newest whole blob.
    std::size_t keep = 2;  // none
    if (const int ours =
            newest_of(slots, [](const SlotCheck& s) { return s.status == Status::ok; });
        ours >= 0) {
      keep = static_cast<std::size_t>(ours);
    } else if (const int any = newest_of(slots, [](const SlotCheck& s) { return s.intact; });
               any >= 0) {
      keep = static_cast<std::size_t>(any);
    }
    const std::size_t target = keep == 0 ? 1 : 0;
    // Numbered right after the blob that stays, so that load() finds the new one newer than
    // it whatever the other slot held. (Numbering after the newest whole blob of any model
    // is not enough: when the two slots' numbers are 2^31 apart, serial-number order can put
    // the new blob behind the one kept; tests/fuzz/regressions holds such a case.)
    const std::uint32_t sequence = keep < 2 ? slots[keep].sequence + 1U : 1U;

    MICROTL_TRY(storage.erase(slot_offset(target), slot_bytes));

    detail::ChunkWriter<S> out(storage, slot_offset(target));
    for (const std::byte b : blob_format::magic) {
      out.put(b);
    }
    out.put(static_cast<std::byte>(blob_format::version & 0xFFU));
    out.put(static_cast<std::byte>(blob_format::version >> 8));
    out.put(static_cast<std::byte>(blob_format::header_bytes & 0xFFU));
    out.put(static_cast<std::byte>(blob_format::header_bytes >> 8));
    out.put_u32(static_cast<std::uint32_t>(payload_bytes));
    out.put_u32(signature);
    out.put_u32(sequence);
    (void)for_each_tensor(model, [&](auto values) noexcept {
      for (const float v : values) {
        out.put_u32(std::bit_cast<std::uint32_t>(v));
      }
      return Status::ok;
    });
    out.put_crc();
    MICROTL_TRY(out.flush());

    // Read back: flash can fail silently (worn cells, a write to a non-erased byte).
    const SlotCheck written = check_slot(storage, target);
    if (written.status != Status::ok || written.sequence != sequence) {
      return Status::io_error;
    }
    return Status::ok;
  }

  // Replaces the model's trained values with the newest valid blob's.
  //   ok                 loaded
  //   size_mismatch      the storage is smaller than storage_bytes
  //   io_error           the storage failed while validating
  //   otherwise          no slot holds a loadable blob; the most informative reason among
  //                      the two slots: model_mismatch (another model's blob), version_
  //                      mismatch, size_mismatch, not_finite, checksum_mismatch (damaged),
  //                      truncated, bad_format, not_found (both slots erased)
  // On any failure the model is unchanged, with one exception that needs a storage whose
  // reads fail intermittently: a read that fails in the copy after a successful validation
  // returns io_error with the values copied so far already replaced.
  template <Storage S>
  [[nodiscard]] static Status load(Model& model, S& storage) noexcept {
    const Result<StoredBlob> newest_blob = newest(storage);
    if (!newest_blob.ok()) {
      return newest_blob.status();
    }
    std::size_t offset = slot_offset(newest_blob.value().slot) + blob_format::header_bytes;
    const Status copied = for_each_tensor(model, [&](auto values) noexcept {
      std::array<std::byte, detail::chunk_bytes> chunk{};
      for (std::size_t first = 0; first < values.size(); first += chunk.size() / 4) {
        const std::size_t count =
            values.size() - first < chunk.size() / 4 ? values.size() - first : chunk.size() / 4;
        MICROTL_TRY(storage.read(offset, std::span<std::byte>(chunk.data(), 4 * count)));
        offset += 4 * count;
        for (std::size_t i = 0; i < count; ++i) {
          values[first + i] = std::bit_cast<float>(detail::get_u32(chunk.data() + 4 * i));
        }
      }
      return Status::ok;
    });
    // Layers that keep a derived copy of their parameters (an int8 layer's int32 bias,
    // computed from the real bias that is stored) refresh it from the loaded values.
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (refresh_layer<I>(model), ...);
    }(std::make_index_sequence<Model::layer_count>{});
    return copied;
  }

  template <std::size_t I>
  static void refresh_layer(Model& model) noexcept {
    if constexpr (is_trainable_v<typename Model::template layer<I>>) {
      model.template state<I>().refresh();
    }
  }

  // The slot and sequence number of the blob load() would load, or why there is none
  // (the same statuses as load()).
  template <Storage S>
  [[nodiscard]] static Result<StoredBlob> newest(S& storage) noexcept {
    if (storage.size() < storage_bytes) {
      return Status::size_mismatch;
    }
    const std::array<SlotCheck, 2> slots = {check_slot(storage, 0), check_slot(storage, 1)};
    if (slots[0].status == Status::io_error || slots[1].status == Status::io_error) {
      return Status::io_error;
    }
    const int best = newest_of(slots, [](const SlotCheck& s) { return s.status == Status::ok; });
    if (best < 0) {
      return detail::informativeness(slots[0].status) >= detail::informativeness(slots[1].status)
                 ? slots[0].status
                 : slots[1].status;
    }
    const auto slot = static_cast<std::size_t>(best);
    return StoredBlob{slot, slots[slot].sequence};
  }

  static constexpr std::size_t slot_offset(std::size_t slot) noexcept { return slot * slot_bytes; }

  // Validates slot 0 or 1 (check_blob, io/parameter_blob.hpp). size_mismatch for a storage
  // smaller than storage_bytes, invalid_argument for a slot other than 0 or 1.
  template <Storage S>
  [[nodiscard]] static SlotCheck check_slot(S& storage, std::size_t slot) noexcept {
    if (slot > 1) {
      return {Status::invalid_argument, false, 0};
    }
    if (storage.size() < storage_bytes) {
      return {Status::size_mismatch, false, 0};
    }
    return check_blob(storage, slot_offset(slot), signature, payload_bytes);
  }

 private:
  // The slot (0 or 1) with the newest sequence among those accepted by `pick`, or -1. On a
  // tie (which save() never produces) slot 0.
  template <class Pick>
  static constexpr int newest_of(const std::array<SlotCheck, 2>& slots, Pick pick) noexcept {
    const bool first = pick(slots[0]);
    const bool second = pick(slots[1]);
    if (first && second) {
      return detail::is_newer(slots[1].sequence, slots[0].sequence) ? 1 : 0;
    }
    return first ? 0 : (second ? 1 : -1);
  }
};

// ---------------------------------------------------------------------------------------
// Shorthands with the default erase unit.
// ---------------------------------------------------------------------------------------
template <class Model>
constexpr std::size_t storage_bytes_needed() noexcept {
  return ParameterStore<Model>::storage_bytes;
}

template <class Model, Storage S>
[[nodiscard]] Status save(const Model& model, S& storage) noexcept {
  return ParameterStore<Model>::save(model, storage);
}

template <class Model, Storage S>
[[nodiscard]] Status load(Model& model, S& storage) noexcept {
  return ParameterStore<Model>::load(model, storage);
}

// The sequence number of the blob load() would load (it grows by one with every save).
template <class Model, Storage S>
[[nodiscard]] Result<std::uint32_t> newest_sequence(S& storage) noexcept {
  const Result<StoredBlob> blob = ParameterStore<Model>::newest(storage);
  if (!blob.ok()) {
    return blob.status();
  }
  return blob.value().sequence;
}

}  // namespace microtl::io
