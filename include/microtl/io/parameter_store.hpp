// Saving and loading what a model has learned: the values of its trained tensors
// (Trainable<...>: weights and bias; BiasOnly<...>: bias, in the order of
// train/trained_tensors.hpp), kept in a Storage (io/storage.hpp) so that a device that
// trained keeps its knowledge across a reset or a power loss.
//
//   static MyFlash flash;                                   // a Storage (erase_bytes, ...)
//   static_assert(io::storage_bytes_needed<Model, MyFlash>() <= MyFlash::region_bytes);
//   MICROTL_TRY(io::save(model, flash));                    // after training
//   ...
//   Status s = io::load(model, flash);                      // at start-up
//   if (s == Status::not_found) { /* first boot: keep the initial parameters */ }
//
// io::save / io::load lay the slots out in the storage's own erase sectors and program
// units (storage_geometry<S>); ParameterStore<Model, S> is the same store with its sizes
// as constants (slot_bytes, storage_bytes, Staging). ParameterStore<Model, Geometry<E, W>>
// takes every storage whose sectors divide E and whose program units divide W; a storage
// they do not fit does not compile.
//
// Each save writes one blob (io/parameter_blob.hpp). Two slots, written alternately, so that
// a power loss never loses the last good blob:
//
//   [ slot 0 | slot 1 ]    slot_bytes = blob_bytes rounded up to whole erase sectors
//
// save() keeps the slot holding the newest blob this model can load and rewrites the other
// one: erase, then write header, payload and CRC in one pass of whole program units. Until
// every byte is programmed the new blob fails its CRC, so a cut at any point leaves the
// previous blob as the newest valid one; once written, its sequence number (newest + 1)
// makes it the newest.
// Alternating also spreads the erases evenly over the two slots (wear levelling by two).
//
// A blob that arrives from elsewhere (a fleet server's model, an over-the-air update) goes in
// through accept(model, blob, storage): checked like a slot, stored as the newest blob, and
// only then copied into the model.
//
// A blob this model can load ("loadable"): magic, frame, CRC, version, signature, length,
// every value finite and admitted by its layer (State::admits: the guard's invariant,
// train/guard.hpp). load(), save()'s choice of the slot to keep, its read-back and
// newest(model, storage) use this one rule; a slot that breaks it is passed over and the
// other slot is loaded when it is loadable.
//
// Memory: save and newest stream through a 64-byte chunk on the stack (save's chunk is a
// whole number of program units: max(64, write_bytes) rounded up). load reads the chosen
// blob's payload once into a staging area of payload_bytes (4 per trained value), checks
// it there, and copies it into the model: the caller's (load(model, storage, staging)), or
// a static one per model type (load(model, storage): load_staging_bytes of .bss).
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
#include "microtl/layers/contract.hpp"
#include "microtl/train/guard.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl::io {

// Erase unit of ParameterStore<Model> when no geometry is given (a small NOR page). Such a
// store takes any storage whose sectors divide it; io::save / io::load use the storage's own.
inline constexpr std::size_t default_erase_unit = 256;

// Where load() puts a blob's payload while it checks it: payload_bytes of RAM.
template <class Model>
struct ParameterStaging {
  std::array<std::byte, 4 * trained_value_count_v<Model>> bytes{};
};

namespace detail {

// Where each trained tensor's values lie in the payload: layer index, tensor index within
// the layer, first value, count; in payload order (train/trained_tensors.hpp).
struct TensorSegment {
  std::size_t layer = 0;
  std::size_t tensor = 0;
  std::size_t first = 0;
  std::size_t count = 0;
};

template <class L>
inline constexpr std::size_t trained_tensors_of_v = [] {
  if constexpr (is_trainable_v<L>) {
    return std::size_t{L::trained_tensors.size()};
  } else {
    return std::size_t{0};
  }
}();

template <class Model>
constexpr auto tensor_segments() noexcept {
  constexpr std::size_t count = []<std::size_t... I>(std::index_sequence<I...>) {
    return (std::size_t{0} + ... + trained_tensors_of_v<typename Model::template layer<I>>);
  }(std::make_index_sequence<Model::layer_count>{});
  std::array<TensorSegment, count> segments{};
  std::size_t next = 0;
  std::size_t first = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using L = typename Model::template layer<I>;
          if constexpr (is_trainable_v<L>) {
            for (const TrainedTensor& t : L::trained_tensors) {
              segments[next++] = {I, t.index, first, t.count};
              first += t.count;
            }
          }
        }(),
        ...);
  }(std::make_index_sequence<Model::layer_count>{});
  return segments;
}

// check_blob's `admit` for a known model: value `index` of the payload is admitted when the
// State of the layer it belongs to admits it (State::admits, the guard's invariant). The
// payload index is mapped to (layer, tensor, i) through tensor_segments; values arrive in
// order, so a cursor finds the segment in constant time per value.
template <class Model>
class ModelAdmission {
 public:
  explicit ModelAdmission(const Model& admitted) noexcept : model_(admitted) {}

  bool operator()(std::size_t index, float value) noexcept {
    constexpr auto segments = tensor_segments<Model>();
    if (index < segments[segment_].first) {
      segment_ = 0;  // a new pass
    }
    while (segment_ + 1 < segments.size() &&
           index >= segments[segment_].first + segments[segment_].count) {
      ++segment_;
    }
    const TensorSegment& s = segments[segment_];
    return admit_in_layer(s.layer, s.tensor, index - s.first, value,
                          std::make_index_sequence<Model::layer_count>{});
  }

 private:
  template <std::size_t... I>
  bool admit_in_layer(std::size_t layer, std::size_t tensor, std::size_t i, float value,
                      std::index_sequence<I...>) const noexcept {
    bool admitted = false;
    (void)((layer == I && (admitted = admit_in<I>(tensor, i, value), true)) || ...);
    return admitted;
  }
  template <std::size_t I>
  bool admit_in(std::size_t tensor, std::size_t i, float value) const noexcept {
    if constexpr (is_trainable_v<typename Model::template layer<I>>) {
      return model_.template state<I>().admits(tensor, i, value);
    } else {
      return false;
    }
  }

  const Model& model_;
  std::size_t segment_ = 0;
};

// check_blob's `admit` when the model is not known: the bound every layer applies, (P).
struct AdmitParameterBound {
  bool operator()(std::size_t, float value) const noexcept { return guard::parameter_ok(value); }
};

// A received blob in RAM, read as a Storage (accept() checks it with check_blob's code):
// reads inside the buffer, nothing else.
class ReadOnlyBytes {
 public:
  static constexpr std::size_t erase_bytes = 1;
  static constexpr std::size_t write_bytes = 1;
  explicit ReadOnlyBytes(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] Status read(std::size_t offset, std::span<std::byte> out) const noexcept {
    if (!range_fits(offset, out.size(), bytes_.size())) {
      return Status::io_error;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = bytes_[offset + i];
    }
    return Status::ok;
  }
  [[nodiscard]] Status write(std::size_t, std::span<const std::byte>) noexcept {
    return Status::io_error;
  }
  [[nodiscard]] Status erase(std::size_t, std::size_t) noexcept { return Status::io_error; }

 private:
  std::span<const std::byte> bytes_;
};

// The staging area of io::load(model, storage): one per model type, in .bss. constinit: a
// constant initialization, so no guard variable and no __cxa_guard_* call in the firmware.
template <class Model>
ParameterStaging<Model>& default_staging() noexcept {
  constinit static ParameterStaging<Model> staging;
  return staging;
}

constexpr std::size_t round_up(std::size_t bytes, std::size_t unit) noexcept {
  return (bytes + unit - 1) / unit * unit;
}

}  // namespace detail

// The store of Model's trained values for a geometry: `Geometry` is a Storage type (the
// usual case: ParameterStore<Model, MyFlash>) or io::Geometry<erase_bytes, write_bytes>.
// Its functions take any storage whose sectors and program units divide the store's (the
// slots then start and end on the storage's sector boundaries); anything else does not
// compile.
template <class Model, class Geometry = io::Geometry<default_erase_unit, 1>>
class ParameterStore {
  static_assert(HasGeometry<Geometry>,
                "microtl::io::ParameterStore<Model, G>: G must state a geometry (a Storage type "
                "or io::Geometry<erase_bytes, write_bytes>, with a whole number of write units "
                "per erase unit)");

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
  // The geometry the slots are laid out for.
  static constexpr std::size_t erase_bytes = storage_geometry<Geometry>::erase_bytes;
  static constexpr std::size_t write_bytes = storage_geometry<Geometry>::write_bytes;
  static constexpr std::size_t erase_unit = erase_bytes;  // the older name

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
  // Each slot is whole erase sectors: erasing one never touches the other.
  static constexpr std::size_t slot_bytes = detail::round_up(blob_bytes, erase_bytes);
  static constexpr std::size_t storage_bytes = 2 * slot_bytes;  // the region to reserve
  static constexpr std::uint32_t signature = model_signature<Model>();

  // The RAM load() stages a payload in: load(model, storage, staging) takes it from the
  // caller (any payload_bytes of RAM not in use while loading: a training arena before its
  // trainer exists, a buffer on the stack); load(model, storage) uses one static Staging
  // per model type, load_staging_bytes of .bss, shared by every store of that model, and
  // is then not reentrant (no two concurrent loads of one model type).
  using Staging = ParameterStaging<Model>;
  static constexpr std::size_t load_staging_bytes = sizeof(Staging);

  // Writes the model's trained values as the newest blob, into the slot that does not
  // hold the newest blob this model can load (failing that, the newest whole blob).
  //   ok                 written and read back: load() now returns these values
  //   size_mismatch      the storage's size() is smaller than storage_bytes (a storage
  //                      whose size is a constant, S::region_bytes, does not compile then);
  //                      nothing touched
  //   not_finite         a value is NaN or infinite (nothing touched: never persist a
  //                      diverged model)
  //   out_of_range       a finite value its layer does not admit (State::admits: beyond the
  //                      guard's bound, train/guard.hpp); nothing touched
  //   io_error           the storage failed (any status other than ok from a read, erase or
  //                      write, or a read-back that differs); the previously newest blob is
  //                      still there and loadable
  template <Storage S>
  [[nodiscard]] static Status save(const Model& model, S& storage) noexcept {
    require_storage<S>();
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
    MICROTL_TRY(guard::check_model(model));
    return write_newest(model, storage, [&](auto& out) noexcept {
      (void)for_each_tensor(model, [&](auto values) noexcept {
        for (const float v : values) {
          out.put_u32(std::bit_cast<std::uint32_t>(v));
        }
        return Status::ok;
      });
    });
  }

  // A blob that arrived from elsewhere, in RAM: a fleet server's aggregated model, an
  // over-the-air update. It is checked as load() checks a slot (whole: CRC; this model's:
  // version, header size, signature, length; every value finite and admitted by its layer),
  // then written into the storage as its newest blob like save() writes one, and only then
  // copied into the model. The sequence number it arrived with is not used: the store
  // numbers it after the blob it keeps.
  //   ok                 stored, read back and loaded: the model and load(model, storage)
  //                      now have its values
  //   truncated          the buffer ends before the blob its frame describes (or before a
  //                      whole header)
  //   bad_format, checksum_mismatch, version_mismatch, model_mismatch, size_mismatch,
  //   not_finite, out_of_range
  //                      refused as check_slot refuses a slot (SlotCheck); nothing written
  //   size_mismatch      also: the storage is smaller than storage_bytes
  //   io_error           the storage failed; its previously newest blob is still the one
  //                      load() finds
  // On any failure the model is unchanged, and so is what load() finds in the storage: a
  // power cut while the blob is written leaves the previous blob newest (the two slots).
  // `staging` (payload_bytes of RAM, as load's) holds the checked payload in between.
  template <Storage S>
  [[nodiscard]] static Status accept(Model& model, std::span<const std::byte> blob, S& storage,
                                     std::span<std::byte, payload_bytes> staging) noexcept {
    require_storage<S>();
    if (storage.size() < storage_bytes) {
      return Status::size_mismatch;
    }
    if (blob.size() < blob_format::header_bytes) {
      return Status::truncated;
    }
    detail::ReadOnlyBytes received{blob};
    std::array<std::byte, blob_format::header_bytes> header{};
    (void)received.read(0, header);
    const SlotCheck check = check_blob_after_header(received, 0, header, signature, payload_bytes,
                                                    detail::ModelAdmission<Model>(model), staging);
    if (check.status != Status::ok) {
      return check.status;
    }
    // Stored first, from the checked payload: the model takes the values only once the
    // storage holds them, so a failed or cut write leaves both as they were.
    MICROTL_TRY(write_newest(model, storage, [&](auto& out) noexcept {
      for (const std::byte b : staging) {
        out.put(b);
      }
    }));
    commit(model, staging);
    return Status::ok;
  }

  template <Storage S>
  [[nodiscard]] static Status accept(Model& model, std::span<const std::byte> blob, S& storage,
                                     Staging& staging) noexcept {
    return accept(model, blob, storage, std::span<std::byte, payload_bytes>(staging.bytes));
  }

  // Replaces the model's trained values with those of the newest blob this model can load:
  // whole (CRC), this model's (version, signature, length), every value finite and admitted
  // by its layer (State::admits). A slot that fails any of these is passed over like a
  // damaged one, and the other slot loads if it passes; newest(model, storage) names the
  // slot this picks.
  //   ok                 loaded, and the layers' derived values refreshed (State::refresh)
  //   size_mismatch      the storage's size() is smaller than storage_bytes (a storage with
  //                      a constant region_bytes does not compile then)
  //   io_error           the storage failed while reading the slot that decides (a failed
  //                      read of the newer slot never falls back to the older one)
  //   otherwise          no slot holds a loadable blob; the most informative reason among
  //                      the two slots (detail::informativeness): model_mismatch, version_
  //                      mismatch, size_mismatch, out_of_range, not_finite, checksum_
  //                      mismatch, truncated, bad_format, not_found (both slots erased)
  // On any failure the model is unchanged: the chosen blob is read once, into the staging
  // area, while its CRC and every value are checked, and only a blob that passed is copied
  // from there into the model. (Reading twice, once to check and once to copy, would load
  // whatever a flaky storage returns the second time.)
  //
  // Reads: each slot's header (20 bytes), then the payload and CRC of the slot whose header
  // claims the newer sequence number; the other slot's only when that one fails.
  template <Storage S>
  [[nodiscard]] static Status load(Model& model, S& storage,
                                   std::span<std::byte, payload_bytes> staging) noexcept {
    require_storage<S>();
    if (storage.size() < storage_bytes) {
      return Status::size_mismatch;
    }
    std::array<std::array<std::byte, blob_format::header_bytes>, 2> headers{};
    for (std::size_t slot = 0; slot < 2; ++slot) {
      if (storage.read(slot_offset(slot), headers[slot]) != Status::ok) {
        return Status::io_error;
      }
    }
    // The slot whose header claims the newer number first (ties: slot 0, as newest_of): when
    // both slots are loadable their headers are the verified ones, so this is the newest.
    const std::uint32_t claimed0 = detail::get_u32(headers[0].data() + blob_format::sequence_at);
    const std::uint32_t claimed1 = detail::get_u32(headers[1].data() + blob_format::sequence_at);
    const std::size_t first = detail::is_newer(claimed1, claimed0) ? 1 : 0;
    std::array<SlotCheck, 2> checks{};
    for (const std::size_t slot : {first, 1 - first}) {
      checks[slot] =
          check_blob_after_header(storage, slot_offset(slot), headers[slot], signature,
                                  payload_bytes, detail::ModelAdmission<Model>(model), staging);
      if (checks[slot].status == Status::io_error) {
        return Status::io_error;
      }
      if (checks[slot].status == Status::ok) {
        commit(model, staging);
        return Status::ok;
      }
    }
    return most_informative(checks);
  }

  template <Storage S>
  [[nodiscard]] static Status load(Model& model, S& storage, Staging& staging) noexcept {
    return load(model, storage, std::span<std::byte, payload_bytes>(staging.bytes));
  }

  // With the static staging area of this model type (load_staging_bytes of .bss).
  template <Storage S>
  [[nodiscard]] static Status load(Model& model, S& storage) noexcept {
    return load(model, storage, detail::default_staging<Model>());
  }

  // The slot and sequence number of the blob load(model, storage) would load, or why there
  // is none (the statuses of load()). Reads both slots whole.
  template <Storage S>
  [[nodiscard]] static Result<StoredBlob> newest(const Model& model, S& storage) noexcept {
    require_storage<S>();
    if (storage.size() < storage_bytes) {
      return Status::size_mismatch;
    }
    return pick({check_slot(model, storage, 0), check_slot(model, storage, 1)});
  }

  // The same without a model: each value is held to the bound every layer applies,
  // |v| <= guard::parameter_limit (P), but not to a layer's own stricter bound (an int8
  // bias-only layer's accumulator bound (B), which depends on the model's scales). It
  // names the slot load() picks unless a blob holds an int8 bias beyond (B).
  template <Storage S>
  [[nodiscard]] static Result<StoredBlob> newest(S& storage) noexcept {
    require_storage<S>();
    if (storage.size() < storage_bytes) {
      return Status::size_mismatch;
    }
    return pick({check_slot(storage, 0), check_slot(storage, 1)});
  }

  static constexpr std::size_t slot_offset(std::size_t slot) noexcept { return slot * slot_bytes; }

  // Validates slot 0 or 1 (check_blob, io/parameter_blob.hpp; the statuses of SlotCheck),
  // each value against the model's layers (State::admits). size_mismatch for a storage
  // smaller than storage_bytes, invalid_argument for a slot other than 0 or 1.
  template <Storage S>
  [[nodiscard]] static SlotCheck check_slot(const Model& model, S& storage,
                                            std::size_t slot) noexcept {
    return check_slot_with(storage, slot, detail::ModelAdmission<Model>(model));
  }

  // The same without a model: values against (P) only (see newest(storage)).
  template <Storage S>
  [[nodiscard]] static SlotCheck check_slot(S& storage, std::size_t slot) noexcept {
    return check_slot_with(storage, slot, detail::AdmitParameterBound{});
  }

 private:
  // save()'s write, the payload given by put_payload(out) (payload_bytes, through
  // ChunkWriter::put / put_u32): the slot to keep, the erase, the blob in one pass, the
  // read-back.
  template <Storage S, class PutPayload>
  [[nodiscard]] static Status write_newest(const Model& model, S& storage,
                                           PutPayload&& put_payload) noexcept {
    const std::array<SlotCheck, 2> slots = {check_slot(model, storage, 0),
                                            check_slot(model, storage, 1)};
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

    if (storage.erase(slot_offset(target), slot_bytes) != Status::ok) {
      return Status::io_error;
    }

    // Header, payload, CRC in one pass, in whole program units from the slot's start (the
    // last one padded with 0xFF): the CRC is programmed last, so until the write completes
    // the new blob fails its CRC whatever subset of its bytes reached the flash.
    detail::ChunkWriter<S, write_bytes> out(storage, slot_offset(target));
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
    put_payload(out);
    out.put_crc();
    MICROTL_TRY(out.flush());

    // Read back: flash can fail silently (worn cells, a write to a non-erased byte).
    const SlotCheck written = check_slot(model, storage, target);
    if (written.status != Status::ok || written.sequence != sequence) {
      return Status::io_error;
    }
    return Status::ok;
  }

  template <Storage S, class Admit>
  [[nodiscard]] static SlotCheck check_slot_with(S& storage, std::size_t slot,
                                                 Admit&& admit) noexcept {
    require_storage<S>();
    if (slot > 1) {
      return {Status::invalid_argument, false, 0};
    }
    if (storage.size() < storage_bytes) {
      return {Status::size_mismatch, false, 0};
    }
    return check_blob(storage, slot_offset(slot), signature, payload_bytes,
                      static_cast<Admit&&>(admit));
  }

  // What the compiler can refuse: a storage whose erase sectors or program units do not
  // divide this store's (an erase of one slot, rounded up to the storage's sector, would
  // wipe part of the other), or a region of constant size too small for two slots.
  template <class S>
  static constexpr void require_storage() noexcept {
    static_assert(erase_bytes % storage_geometry<S>::erase_bytes == 0,
                  "microtl::io::ParameterStore: the storage's erase sector (erase_bytes) does not "
                  "divide the store's erase unit: its slots would share a sector. Use "
                  "io::save/io::load or ParameterStore<Model, Storage>, which take the geometry "
                  "from the storage");
    static_assert(write_bytes % storage_geometry<S>::write_bytes == 0,
                  "microtl::io::ParameterStore: the storage's write unit (write_bytes) does not "
                  "divide the store's: its writes would be misaligned. Use io::save/io::load or "
                  "ParameterStore<Model, Storage>");
    if constexpr (StaticallySized<S>) {
      static_assert(S::region_bytes >= storage_bytes,
                    "microtl::io::ParameterStore: the storage region (region_bytes) cannot hold "
                    "two slots of this model (storage_bytes)");
    }
  }

  template <std::size_t I>
  static void refresh_layer(Model& model) noexcept {
    if constexpr (is_trainable_v<typename Model::template layer<I>>) {
      model.template state<I>().refresh();
    }
  }

  // Copies a checked payload into the model. Layers that keep a derived copy of their
  // parameters (an int8 layer's int32 bias, computed from the real bias that is stored)
  // refresh it from the loaded values.
  static void commit(Model& model, std::span<const std::byte, payload_bytes> staging) noexcept {
    std::size_t offset = 0;
    (void)for_each_tensor(model, [&](auto values) noexcept {
      for (float& v : values) {
        v = std::bit_cast<float>(detail::get_u32(staging.data() + offset));
        offset += 4;
      }
      return Status::ok;
    });
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (refresh_layer<I>(model), ...);
    }(std::make_index_sequence<Model::layer_count>{});
  }

  static Status most_informative(const std::array<SlotCheck, 2>& slots) noexcept {
    return detail::informativeness(slots[0].status) >= detail::informativeness(slots[1].status)
               ? slots[0].status
               : slots[1].status;
  }

  static Result<StoredBlob> pick(const std::array<SlotCheck, 2>& slots) noexcept {
    if (slots[0].status == Status::io_error || slots[1].status == Status::io_error) {
      return Status::io_error;
    }
    const int best = newest_of(slots, [](const SlotCheck& s) { return s.status == Status::ok; });
    if (best < 0) {
      return most_informative(slots);
    }
    const auto slot = static_cast<std::size_t>(best);
    return StoredBlob{slot, slots[slot].sequence};
  }

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
// One-liners: the geometry comes from the storage's type.
// ---------------------------------------------------------------------------------------

// The region to reserve for Model's parameters on storage type S (or a Geometry<...>).
template <class Model, HasGeometry S>
constexpr std::size_t storage_bytes_needed() noexcept {
  return ParameterStore<Model, S>::storage_bytes;
}

// The same for a sector size known only as a number (to size a RamStorage<N, Erase>).
template <class Model>
constexpr std::size_t storage_bytes_needed(std::size_t erase_bytes) noexcept {
  return 2 * detail::round_up(blob_format::header_bytes + 4 * trained_value_count_v<Model> +
                                  blob_format::crc_bytes,
                              erase_bytes);
}

template <class Model, Storage S>
[[nodiscard]] Status save(const Model& model, S& storage) noexcept {
  return ParameterStore<Model, S>::save(model, storage);
}

// With the static staging area (ParameterStore::load_staging_bytes of .bss per model type).
template <class Model, Storage S>
[[nodiscard]] Status load(Model& model, S& storage) noexcept {
  return ParameterStore<Model, S>::load(model, storage);
}

// With a staging area of the caller's (payload_bytes).
template <class Model, Storage S>
[[nodiscard]] Status load(Model& model, S& storage, ParameterStaging<Model>& staging) noexcept {
  return ParameterStore<Model, S>::load(model, storage, staging);
}

// A received blob (ParameterStore::accept): checked, stored as the newest, then loaded.
template <class Model, Storage S>
[[nodiscard]] Status accept(Model& model, std::span<const std::byte> blob, S& storage) noexcept {
  return ParameterStore<Model, S>::accept(model, blob, storage, detail::default_staging<Model>());
}

template <class Model, Storage S>
[[nodiscard]] Status accept(Model& model, std::span<const std::byte> blob, S& storage,
                            ParameterStaging<Model>& staging) noexcept {
  return ParameterStore<Model, S>::accept(model, blob, storage, staging);
}

// The sequence number of the blob load() would load (it grows by one with every save), for
// a model whose values meet (P) (see ParameterStore::newest(storage)).
template <class Model, Storage S>
[[nodiscard]] Result<std::uint32_t> newest_sequence(S& storage) noexcept {
  const Result<StoredBlob> blob = ParameterStore<Model, S>::newest(storage);
  if (!blob.ok()) {
    return blob.status();
  }
  return blob.value().sequence;
}

}  // namespace microtl::io
