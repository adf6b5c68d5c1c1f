// The parameter blob: the wire format in which a model's trained values are stored
// (io/parameter_store.hpp keeps two of them in a Storage, alternately). This header is the
// format alone: field layout, byte encoding, the CRC framing, and the streaming writer.
//
// ---------------------------------------------------------------------------------------
// The blob (format version 1). Every integer little-endian, written byte by byte, so the
// format does not depend on the compiler's struct layout or the target's byte order.
//
//   offset  size  field
//   0       4     magic "MTLP"
//   4       2     format version (1)
//   6       2     header size in bytes (20)
//   8       4     payload length in bytes (4 x the number of trained values)
//   12      4     model signature (io/model_signature.hpp)
//   16      4     sequence number: of two blobs, the newer has the larger (mod 2^32)
//   20      P     payload: IEEE 754 binary32 values, layer by layer in chain order; within
//                 a layer its weights (when they train) then its bias
//   20 + P  4     CRC-32 (io/crc32.hpp) of bytes [0, 20 + P)
//
// The first 12 bytes are the frame every future version keeps: any version's blob can be
// checked for integrity, and a version this build does not read is told apart from noise.
//
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/status.hpp"
#include "microtl/io/crc32.hpp"
#include "microtl/io/storage.hpp"

namespace microtl::io {

namespace blob_format {
inline constexpr std::array<std::byte, 4> magic = {std::byte{'M'}, std::byte{'T'}, std::byte{'L'},
                                                   std::byte{'P'}};
inline constexpr std::uint16_t version = 1;
inline constexpr std::size_t frame_bytes = 12;   // magic, version, header size, length
inline constexpr std::size_t header_bytes = 20;  // the frame, signature, sequence
inline constexpr std::size_t crc_bytes = 4;
// Field offsets.
inline constexpr std::size_t version_at = 4;
inline constexpr std::size_t header_size_at = 6;
inline constexpr std::size_t length_at = 8;
inline constexpr std::size_t signature_at = 12;
inline constexpr std::size_t sequence_at = 16;
}  // namespace blob_format

// Where the newest blob is: its slot (0 or 1) and sequence number.
struct StoredBlob {
  std::size_t slot = 0;
  std::uint32_t sequence = 0;
};

// What validation found in one slot.
struct SlotCheck {
  // ok: a blob this model can load. Otherwise why not:
  //   not_found          the header is erased (0xFF): nothing was ever written there
  //   bad_format         not a blob: wrong magic, or a header size the frame cannot have
  //                      (below 12, or other than 20 in a whole version-1 blob)
  //   truncated          the frame's length runs past the end of the storage
  //   checksum_mismatch  the CRC does not match: damaged, or a write cut by a power loss
  //   version_mismatch   a whole blob of another format version
  //   model_mismatch     a whole blob of another model (signature)
  //   size_mismatch      a whole blob of this model's signature with another payload length
  //   not_finite         a whole blob of this model with a NaN or infinite value
  //   out_of_range       a whole blob of this model with a finite value its layer does not
  //                      admit (the guard's invariant, train/guard.hpp)
  //   io_error           the storage failed while reading
  Status status = Status::not_found;
  // The blob is whole (version 1, CRC valid), whichever model wrote it: its sequence
  // number counts when save() numbers the next blob.
  bool intact = false;
  std::uint32_t sequence = 0;
};

namespace detail {

constexpr void put_u32(std::byte* out, std::uint32_t value) noexcept {
  for (std::size_t i = 0; i < 4; ++i) {
    out[i] = static_cast<std::byte>((value >> (8 * i)) & 0xFFU);
  }
}
constexpr std::uint16_t get_u16(const std::byte* in) noexcept {
  return static_cast<std::uint16_t>(static_cast<unsigned>(in[0]) |
                                    (static_cast<unsigned>(in[1]) << 8));
}
constexpr std::uint32_t get_u32(const std::byte* in) noexcept {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  }
  return value;
}

// IEEE 754 binary32: the value is NaN or infinite exactly when all 8 exponent bits are set.
constexpr bool is_finite_bits(std::uint32_t bits) noexcept {
  return (bits & 0x7F800000U) != 0x7F800000U;
}

// Serial-number order (RFC 1982 style): a is newer than b when it is ahead by less than
// half the number space, so the order survives the wrap from 2^32 - 1 to 0.
constexpr bool is_newer(std::uint32_t a, std::uint32_t b) noexcept {
  const std::uint32_t ahead = a - b;
  return ahead != 0U && ahead < 0x80000000U;
}

// When no slot is loadable, the reason that tells the user the most: a whole blob of
// another model or format first (they changed the firmware), then a whole blob of this
// model with values it refuses, then damaged data, and "never saved" last.
constexpr int informativeness(Status status) noexcept {
  constexpr std::array<Status, 9> least_to_most = {
      Status::not_found,         Status::bad_format,       Status::truncated,
      Status::checksum_mismatch, Status::not_finite,       Status::out_of_range,
      Status::size_mismatch,     Status::version_mismatch, Status::model_mismatch};
  for (std::size_t i = 0; i < least_to_most.size(); ++i) {
    if (least_to_most[i] == status) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

inline constexpr std::size_t chunk_bytes = 64;  // stack buffer for streaming; a multiple of 4

// The writer's chunk: at least chunk_bytes, and a whole number of program units, so that
// every write but the last is whole units and the last is padded to one.
constexpr std::size_t write_chunk_bytes(std::size_t write_bytes) noexcept {
  return (chunk_bytes + write_bytes - 1) / write_bytes * write_bytes;
}

// Sends bytes to consecutive storage offsets through a chunk buffer, computing the CRC of
// everything passed to put() on the way. Every write starts at a multiple of WriteBytes
// from `offset` and is a whole number of WriteBytes: flush() pads the last chunk with 0xFF,
// the erased value, which programs nothing (the padding lies after the blob, inside its
// slot). After a failed write every later call is a no-op and status() keeps the first
// failure.
template <Storage S, std::size_t WriteBytes>
class ChunkWriter {
 public:
  ChunkWriter(S& destination, std::size_t start) noexcept : storage_(destination), offset_(start) {}

  void put(std::byte b) noexcept {
    crc_.update(b);
    put_raw(b);
  }
  void put_u32(std::uint32_t value) noexcept {
    for (std::size_t i = 0; i < 4; ++i) {
      put(static_cast<std::byte>((value >> (8 * i)) & 0xFFU));
    }
  }
  // The CRC of everything put so far, appended (not itself part of the CRC).
  void put_crc() noexcept {
    const std::uint32_t value = crc_.value();
    for (std::size_t i = 0; i < 4; ++i) {
      put_raw(static_cast<std::byte>((value >> (8 * i)) & 0xFFU));
    }
  }
  // Writes what is buffered, padded to whole program units. Any status other than ok from
  // the storage is io_error (save() documents no other storage failure).
  [[nodiscard]] Status flush() noexcept {
    if (status_ == Status::ok && used_ > 0) {
      while (used_ % WriteBytes != 0) {
        buffer_[used_++] = std::byte{0xFF};
      }
      if (storage_.write(offset_, std::span<const std::byte>(buffer_.data(), used_)) !=
          Status::ok) {
        status_ = Status::io_error;
      }
      offset_ += used_;
      used_ = 0;
    }
    return status_;
  }

 private:
  void put_raw(std::byte b) noexcept {
    if (status_ != Status::ok) {
      return;  // the storage failed: the rest of the blob goes nowhere
    }
    buffer_[used_++] = b;
    if (used_ == buffer_.size()) {
      (void)flush();  // a failure stays in status_ and is returned by the final flush()
    }
  }

  S& storage_;
  std::size_t offset_;
  Crc32 crc_{};
  std::array<std::byte, write_chunk_bytes(WriteBytes)> buffer_{};
  std::size_t used_ = 0;
  Status status_ = Status::ok;
};

}  // namespace detail

// What check_blob asks of each value of the payload besides being finite: admit(index,
// value), index counting values from 0 in payload order. This one asks nothing more.
struct AdmitAnyFinite {
  constexpr bool operator()(std::size_t, float) const noexcept { return true; }
};

// Validates the blob at `base` in `storage` whose first header_bytes were already read into
// `header`, reading each further byte once: the CRC over header and payload, then what makes
// it the expected model's (version, header size, signature, payload length), then its values
// (finite, then admit). When `staging` is not empty (payload_bytes long) and the blob is laid
// out as the expected model's, the payload is read into it: on ok, staging holds exactly the
// bytes that were checked. The storage must extend at least to base + header_bytes.
template <Storage S, class Admit>
[[nodiscard]] SlotCheck check_blob_after_header(
    S& storage, std::size_t base, const std::array<std::byte, blob_format::header_bytes>& header,
    std::uint32_t signature, std::size_t payload_bytes, Admit&& admit,
    std::span<std::byte> staging) noexcept {
  namespace f = blob_format;
  bool erased = true;
  for (const std::byte b : header) {
    erased = erased && b == std::byte{0xFF};
  }
  if (erased) {
    return {Status::not_found, false, 0};
  }
  for (std::size_t i = 0; i < f::magic.size(); ++i) {
    if (header[i] != f::magic[i]) {
      return {Status::bad_format, false, 0};
    }
  }
  const std::uint16_t version = detail::get_u16(header.data() + f::version_at);
  const std::uint16_t header_size = detail::get_u16(header.data() + f::header_size_at);
  const std::uint32_t length = detail::get_u32(header.data() + f::length_at);
  if (header_size < f::frame_bytes) {
    return {Status::bad_format, false, 0};
  }
  // Bytes the frame says it covers, checked in 64 bits (the fields could sum past 2^32): the
  // CRC's last byte must lie inside the storage.
  //   header_size + length + crc_bytes <= storage.size() - base
  const std::uint64_t covered = std::uint64_t{header_size} + length;
  if (covered + f::crc_bytes > std::uint64_t{storage.size() - base}) {
    return {Status::truncated, false, 0};
  }
  // Whether the payload is laid out as this model's (decided before reading it, so that
  // the value checks run in the same pass as the CRC).
  const bool our_layout = version == f::version && header_size == f::header_bytes &&
                          length == payload_bytes &&
                          detail::get_u32(header.data() + f::signature_at) == signature;

  // Bytes [0, covered) in the order they were written, each read once: those below
  // header_bytes are the header already in memory, the rest come from the storage.
  Crc32 crc;
  const auto total = static_cast<std::size_t>(covered);
  const std::size_t in_header = total < f::header_bytes ? total : f::header_bytes;
  crc.update(std::span<const std::byte>(header.data(), in_header));

  // Value checks over payload bytes as they stream by: payload byte p completes value p / 4
  // when p % 4 == 3 (little-endian).
  bool finite = true;
  bool admitted = true;
  std::uint32_t value_bits = 0;
  const auto check_values = [&](std::span<const std::byte> bytes, std::size_t first) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const std::size_t p = first + i;
      value_bits |= static_cast<std::uint32_t>(bytes[i]) << (8 * (p % 4));
      if (p % 4 == 3) {
        if (detail::is_finite_bits(value_bits)) {
          admitted = admitted && admit(p / 4, std::bit_cast<float>(value_bits));
        } else {
          finite = false;
        }
        value_bits = 0;
      }
    }
  };
  if (our_layout && staging.size() == payload_bytes) {
    if (payload_bytes > 0 && storage.read(base + f::header_bytes, staging) != Status::ok) {
      return {Status::io_error, false, 0};
    }
    crc.update(std::span<const std::byte>(staging));
    check_values(staging, 0);
  } else {
    std::array<std::byte, detail::chunk_bytes> chunk{};
    for (std::size_t done = in_header; done < total;) {
      const std::size_t n = total - done < chunk.size() ? total - done : chunk.size();
      const auto bytes = std::span<std::byte>(chunk.data(), n);
      if (storage.read(base + done, bytes) != Status::ok) {
        return {Status::io_error, false, 0};
      }
      crc.update(std::span<const std::byte>(bytes));
      if (our_layout) {
        check_values(bytes, done - f::header_bytes);
      }
      done += n;
    }
  }
  // The stored CRC: after the covered bytes (inside the header array when a foreign frame
  // is shorter than this version's header).
  std::array<std::byte, f::crc_bytes> stored{};
  std::size_t from_header = 0;
  for (; from_header < stored.size() && total + from_header < f::header_bytes; ++from_header) {
    stored[from_header] = header[total + from_header];
  }
  if (from_header < stored.size() &&
      storage.read(base + total + from_header, std::span<std::byte>(stored.data() + from_header,
                                                                    stored.size() - from_header)) !=
          Status::ok) {
    return {Status::io_error, false, 0};
  }
  if (detail::get_u32(stored.data()) != crc.value()) {
    return {Status::checksum_mismatch, false, 0};
  }
  // Whole. From here on the fields can be trusted: they are what some writer wrote.
  if (version != f::version) {
    return {Status::version_mismatch, false, 0};
  }
  if (header_size != f::header_bytes) {
    return {Status::bad_format, false, 0};
  }
  const std::uint32_t sequence = detail::get_u32(header.data() + f::sequence_at);
  if (detail::get_u32(header.data() + f::signature_at) != signature) {
    return {Status::model_mismatch, true, sequence};
  }
  if (length != payload_bytes) {
    return {Status::size_mismatch, true, sequence};
  }
  if (!finite) {
    return {Status::not_finite, true, sequence};
  }
  if (!admitted) {
    return {Status::out_of_range, true, sequence};
  }
  return {Status::ok, true, sequence};
}

// Validates the blob at `base` in `storage`, reading it once in small chunks (see
// check_blob_after_header; values must be finite and pass `admit`). The storage must extend
// at least to base + header_bytes.
template <Storage S, class Admit = AdmitAnyFinite>
[[nodiscard]] SlotCheck check_blob(S& storage, std::size_t base, std::uint32_t signature,
                                   std::size_t payload_bytes, Admit&& admit = {}) noexcept {
  std::array<std::byte, blob_format::header_bytes> header{};
  if (storage.read(base, header) != Status::ok) {
    return {Status::io_error, false, 0};
  }
  return check_blob_after_header(storage, base, header, signature, payload_bytes, admit,
                                 std::span<std::byte>{});
}

}  // namespace microtl::io
