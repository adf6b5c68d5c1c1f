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
  // ok: a blob this model can load. Otherwise why not: not_found (erased), bad_format,
  // truncated, checksum_mismatch, version_mismatch, model_mismatch, size_mismatch,
  // not_finite, io_error (the storage failed).
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
// another model or format first (they changed the firmware), then damaged data, and "never
// saved" last.
constexpr int informativeness(Status status) noexcept {
  constexpr std::array<Status, 8> least_to_most = {
      Status::not_found,         Status::bad_format,    Status::truncated,
      Status::checksum_mismatch, Status::not_finite,    Status::size_mismatch,
      Status::version_mismatch,  Status::model_mismatch};
  for (std::size_t i = 0; i < least_to_most.size(); ++i) {
    if (least_to_most[i] == status) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

inline constexpr std::size_t chunk_bytes = 64;  // stack buffer for streaming; a multiple of 4

// Sends bytes to consecutive storage offsets through a chunk buffer, computing the CRC of
// everything passed to put() on the way. After a failed write every later call is a no-op
// and status() keeps the first failure.
template <Storage S>
class ChunkWriter {
 public:
  ChunkWriter(S& storage, std::size_t offset) noexcept : storage_(storage), offset_(offset) {}

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
  [[nodiscard]] Status flush() noexcept {
    if (status_ == Status::ok && used_ > 0) {
      status_ = storage_.write(offset_, std::span<const std::byte>(buffer_.data(), used_));
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
  std::array<std::byte, chunk_bytes> buffer_{};
  std::size_t used_ = 0;
  Status status_ = Status::ok;
};

}  // namespace detail

// Validates the blob at `base` in `storage`, reading it in chunks: the header, then the CRC
// over header and payload, then what makes it the expected model's (version, header size,
// signature, payload length, finite values). The storage must extend at least to `base`.
template <Storage S>
[[nodiscard]] SlotCheck check_blob(S& storage, std::size_t base, std::uint32_t signature,
                                   std::size_t payload_bytes) noexcept {
  namespace f = blob_format;
  std::array<std::byte, f::header_bytes> header{};
  if (storage.read(base, header) != Status::ok) {
    return {Status::io_error, false, 0};
  }
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
  // Bytes the frame says it covers, checked in 64 bits (the fields could sum past 2^32).
  const std::uint64_t covered = std::uint64_t{header_size} + length;
  if (covered + f::crc_bytes > std::uint64_t{storage.size() - base}) {
    return {Status::truncated, false, 0};
  }
  // Whether the payload is laid out as this model's (decided before reading it, so that
  // the finite check can run in the same pass as the CRC).
  const bool our_layout = version == f::version && header_size == f::header_bytes &&
                          length == payload_bytes &&
                          detail::get_u32(header.data() + f::signature_at) == signature;

  Crc32 crc;
  bool finite = true;
  std::uint32_t value_bits = 0;
  std::array<std::byte, detail::chunk_bytes> chunk{};
  const auto total = static_cast<std::size_t>(covered);
  for (std::size_t done = 0; done < total;) {
    const std::size_t n = total - done < chunk.size() ? total - done : chunk.size();
    if (storage.read(base + done, std::span<std::byte>(chunk.data(), n)) != Status::ok) {
      return {Status::io_error, false, 0};
    }
    crc.update(std::span<const std::byte>(chunk.data(), n));
    if (our_layout) {
      // Payload byte p (p = position - header) completes a value when p % 4 == 3.
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t position = done + i;
        if (position >= f::header_bytes) {
          const std::size_t p = position - f::header_bytes;
          value_bits |= static_cast<std::uint32_t>(chunk[i]) << (8 * (p % 4));
          if (p % 4 == 3) {
            finite = finite && detail::is_finite_bits(value_bits);
            value_bits = 0;
          }
        }
      }
    }
    done += n;
  }
  std::array<std::byte, f::crc_bytes> stored{};
  if (storage.read(base + total, stored) != Status::ok) {
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
  return {Status::ok, true, sequence};
}

}  // namespace microtl::io
