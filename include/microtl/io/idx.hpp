// Reading idx files, the format of MNIST and Fashion-MNIST, one sample at a time.
//
// The format (all integers big-endian):
//   byte 0, 1   0x00 0x00
//   byte 2      element type: 0x08 = unsigned byte (the only one read here; the format
//               also defines 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float, 0x0E double)
//   byte 3      number of dimensions, d (1..4 here)
//   then        d extents, each a uint32
//   then        the elements, row-major: extent[0] samples of extent[1] x ... bytes each
// Fashion-MNIST images: 00 00 08 03, [count, 28, 28]; labels: 00 00 08 01, [count].
// Files are read as they are; decompress the .gz files first (gunzip on the host).
//
// The reader streams from a ByteSource, so a 47 MB training set never has to fit in RAM:
//
//   io::SpanSource source(bytes);                  // or a file, a UART, a flash region
//   io::IdxReader<io::SpanSource, 28, 28> images(source);
//   MICROTL_TRY(images.open());                    // header read and checked
//   std::array<std::uint8_t, 784> pixels;
//   while (images.remaining() > 0) {
//     MICROTL_TRY(images.read_next(pixels));       // truncated if the file ends early
//   }
//
// Every malformed input is a Status, never a crash: wrong magic or type (bad_format), no
// or too many dimensions (bad_format), an extent of 0 (bad_format), sizes whose product
// overflows (bad_format), extents other than the ones asked for (size_mismatch), a file
// that ends in the header or the data (truncated).
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "microtl/core/status.hpp"

namespace microtl::io {

// A source of bytes read front to back. read() fills `out` entirely and returns ok, or
// returns Status::truncated (the data ended first) or Status::io_error (the device
// failed); after a failure the source's position is unspecified.
template <class S>
concept ByteSource = requires(S& source, std::span<std::byte> out) {
  { source.read(out) } -> std::same_as<Status>;
};

// A ByteSource over bytes in memory (a file embedded in flash, a buffer received over a
// link). A read that would go past the end returns truncated and consumes nothing.
class SpanSource {
 public:
  constexpr SpanSource() noexcept = default;
  explicit constexpr SpanSource(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

  [[nodiscard]] constexpr Status read(std::span<std::byte> out) noexcept {
    if (out.size() > remaining()) {
      return Status::truncated;
    }
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(position_), out.size(), out.begin());
    position_ += out.size();
    return Status::ok;
  }

  [[nodiscard]] constexpr std::size_t remaining() const noexcept {
    return bytes_.size() - position_;
  }

 private:
  std::span<const std::byte> bytes_{};
  std::size_t position_ = 0;
};

inline constexpr std::uint8_t idx_type_ubyte = 0x08;
inline constexpr std::size_t idx_max_rank = 4;

// A validated idx header.
struct IdxHeader {
  std::uint8_t type_code = 0;
  std::size_t rank = 0;
  std::array<std::uint32_t, idx_max_rank> dims{};  // dims[rank..] are 0
  std::size_t sample_bytes = 0;                    // dims[1] x ... x dims[rank - 1]
  std::uint64_t data_bytes = 0;                    // dims[0] x sample_bytes

  [[nodiscard]] constexpr std::uint32_t count() const noexcept { return dims[0]; }
  [[nodiscard]] constexpr std::size_t header_bytes() const noexcept { return 4 + 4 * rank; }
};

namespace detail {

// a * b, or false when the product does not fit in 64 bits.
constexpr bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& product) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    return false;
  }
  product = a * b;
  return true;
}

constexpr std::uint32_t get_u32_big_endian(const std::byte* in) noexcept {
  return (static_cast<std::uint32_t>(in[0]) << 24) | (static_cast<std::uint32_t>(in[1]) << 16) |
         (static_cast<std::uint32_t>(in[2]) << 8) | static_cast<std::uint32_t>(in[3]);
}

}  // namespace detail

// Reads the magic and the extents from `source` and checks them:
//   bad_format   bytes 0-1 not zero, a type other than 0x08, 0 or more than 4 dimensions,
//                an extent of 0, a sample size that does not fit in std::size_t or a data
//                size that does not fit in 64 bits
//   truncated    the source ends inside the header (io_error: the source failed)
template <ByteSource Source>
[[nodiscard]] Result<IdxHeader> read_idx_header(Source& source) noexcept {
  std::array<std::byte, 4> magic{};
  MICROTL_TRY(source.read(magic));
  if (magic[0] != std::byte{0} || magic[1] != std::byte{0}) {
    return Status::bad_format;
  }
  IdxHeader header;
  header.type_code = static_cast<std::uint8_t>(magic[2]);
  header.rank = static_cast<std::size_t>(magic[3]);
  if (header.type_code != idx_type_ubyte || header.rank == 0 || header.rank > idx_max_rank) {
    return Status::bad_format;
  }
  std::uint64_t sample = 1;
  for (std::size_t axis = 0; axis < header.rank; ++axis) {
    std::array<std::byte, 4> extent{};
    MICROTL_TRY(source.read(extent));
    header.dims[axis] = detail::get_u32_big_endian(extent.data());
    if (header.dims[axis] == 0) {
      return Status::bad_format;
    }
    // At most three factors below 2^32 after dims[0]: checked anyway, in 64 bits.
    if (axis > 0 && !detail::checked_multiply(sample, header.dims[axis], sample)) {
      return Status::bad_format;
    }
  }
  if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
    if (sample > std::numeric_limits<std::size_t>::max()) {
      return Status::bad_format;  // a sample larger than the address space
    }
  }
  if (!detail::checked_multiply(sample, header.dims[0], header.data_bytes)) {
    return Status::bad_format;
  }
  header.sample_bytes = static_cast<std::size_t>(sample);
  return header;
}

// Reads the samples of an idx file of unsigned bytes whose samples have the extents
// SampleDims... (none: one byte per sample, as in a label file).
//   IdxReader<Source, 28, 28>   Fashion-MNIST images     IdxReader<Source>   labels
template <ByteSource Source, std::size_t... SampleDims>
class IdxReader {
  static_assert(sizeof...(SampleDims) + 1 <= idx_max_rank,
                "microtl::io::IdxReader: idx files here have at most 4 dimensions, the first "
                "being the sample count");
  static_assert(((SampleDims >= 1) && ...),
                "microtl::io::IdxReader: every sample extent must be at least 1");

 public:
  static constexpr std::size_t rank = 1 + sizeof...(SampleDims);
  static constexpr std::size_t sample_bytes = (std::size_t{1} * ... * SampleDims);

  // The source must outlive the reader.
  explicit constexpr IdxReader(Source& source) noexcept : source_(&source) {}

  // Reads the header: read_idx_header()'s statuses, and size_mismatch when the file's
  // rank or sample extents are not SampleDims... Call once, before read_next().
  [[nodiscard]] Status open() noexcept {
    const Result<IdxHeader> parsed = read_idx_header(*source_);
    if (!parsed.ok()) {
      status_ = parsed.status();
      return status_;
    }
    constexpr std::array<std::size_t, rank> expected = {std::size_t{0}, SampleDims...};
    if (parsed.value().rank != rank) {
      status_ = Status::size_mismatch;
      return status_;
    }
    for (std::size_t axis = 1; axis < rank; ++axis) {
      if (parsed.value().dims[axis] != expected[axis]) {
        status_ = Status::size_mismatch;
        return status_;
      }
    }
    header_ = parsed.value();
    remaining_ = header_.count();
    status_ = Status::ok;
    return status_;
  }

  // Reads the next sample into `sample`.
  //   truncated / io_error   the source ended or failed (sample contents unspecified); the
  //                          reader stays failed: later calls return the same status
  //   invalid_argument       open() did not succeed, or every sample has been read
  [[nodiscard]] Status read_next(std::span<std::uint8_t, sample_bytes> sample) noexcept {
    if (status_ != Status::ok) {
      return status_ == Status::not_found ? Status::invalid_argument : status_;
    }
    if (remaining_ == 0) {
      return Status::invalid_argument;
    }
    const Status read = source_->read(std::as_writable_bytes(sample));
    if (read != Status::ok) {
      status_ = read;
      return status_;
    }
    --remaining_;
    return Status::ok;
  }

  [[nodiscard]] const IdxHeader& header() const noexcept { return header_; }
  [[nodiscard]] std::uint32_t count() const noexcept { return header_.count(); }
  // Samples not read yet (0 before open()).
  [[nodiscard]] std::uint32_t remaining() const noexcept { return remaining_; }

 private:
  Source* source_;
  IdxHeader header_{};
  std::uint32_t remaining_ = 0;
  Status status_ = Status::not_found;  // not opened yet
};

}  // namespace microtl::io
