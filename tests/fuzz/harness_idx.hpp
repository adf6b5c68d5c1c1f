// Fuzz harness: io::IdxReader on arbitrary bytes taken as an idx file.
//
// Input: the whole file. Three readers open it and read every sample: 28x28 images
// (IdxReader<SpanSource, 28, 28>), labels (IdxReader<SpanSource>) and a rank-3 reader with
// small samples (IdxReader<SpanSource, 2, 3>, so that short inputs reach the data too).
//
// Properties, besides never crashing:
//  - read_next before open() is invalid_argument;
//  - open() answers ok, bad_format, truncated or size_mismatch (a SpanSource never fails
//    with io_error); after a failed open, read_next fails too;
//  - after a successful open: the header is consistent (rank, the reader's extents, the
//    sample count, a header that lies inside the input), and reading proceeds exactly as
//    the bytes allow: min(count, whole samples after the header) reads succeed, each one
//    returning the input's bytes at its offset; a read past the data is truncated, and
//    the reader then keeps answering truncated; once every sample is read, read_next is
//    invalid_argument.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "harness.hpp"
#include "microtl/io/idx.hpp"

namespace microtl_fuzz::idx {

using namespace microtl;

template <std::size_t... SampleDims>
Failure check_reader(std::span<const std::uint8_t> data) {
  using Reader = io::IdxReader<io::SpanSource, SampleDims...>;
  constexpr std::size_t sample_bytes = Reader::sample_bytes;
  const std::span<const std::byte> bytes = std::as_bytes(data);
  io::SpanSource source(bytes);
  Reader reader(source);
  std::array<std::uint8_t, sample_bytes> sample{};

  if (reader.read_next(sample) != Status::invalid_argument) {
    return "read_next before open() is not invalid_argument";
  }
  const Status opened = reader.open();
  if (opened != Status::ok) {
    if (opened != Status::bad_format && opened != Status::truncated &&
        opened != Status::size_mismatch) {
      return "open() failed with a status other than bad_format, truncated, size_mismatch";
    }
    if (reader.read_next(sample) == Status::ok) {
      return "read_next succeeded after a failed open()";
    }
    return nullptr;
  }

  const io::IdxHeader& header = reader.header();
  constexpr std::array<std::size_t, Reader::rank> extents = {std::size_t{0}, SampleDims...};
  if (header.rank != Reader::rank || header.type_code != io::idx_type_ubyte ||
      header.sample_bytes != sample_bytes || header.count() == 0 ||
      reader.count() != header.count() || reader.remaining() != header.count() ||
      header.data_bytes != std::uint64_t{header.count()} * sample_bytes) {
    return "open() succeeded with a header inconsistent with the reader";
  }
  for (std::size_t axis = 1; axis < Reader::rank; ++axis) {
    if (header.dims[axis] != extents[axis]) {
      return "open() succeeded with sample extents other than the reader's";
    }
  }
  const std::size_t header_bytes = header.header_bytes();
  if (header_bytes != 4 + 4 * Reader::rank || header_bytes > data.size()) {
    return "open() succeeded with a header longer than the input";
  }

  const std::size_t whole_samples = (data.size() - header_bytes) / sample_bytes;
  const std::size_t readable = std::min<std::size_t>(header.count(), whole_samples);
  for (std::size_t n = 0; n < readable; ++n) {
    if (reader.read_next(sample) != Status::ok) {
      return "read_next failed on a sample the input holds entirely";
    }
    if (!std::ranges::equal(sample, data.subspan(header_bytes + n * sample_bytes, sample_bytes))) {
      return "read_next returned bytes other than the sample's";
    }
    if (reader.remaining() != header.count() - n - 1) {
      return "remaining() did not count down by one per sample";
    }
  }
  if (readable < header.count()) {
    // The data ends before the header's count: truncated, and it stays so.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (reader.read_next(sample) != Status::truncated) {
        return "read_next past the end of the data is not truncated (or did not stay so)";
      }
    }
  } else if (reader.read_next(sample) != Status::invalid_argument) {
    return "read_next after the last sample is not invalid_argument";
  }
  return nullptr;
}

inline Failure run(std::span<const std::uint8_t> data) {
  if (const Failure f = check_reader<28, 28>(data)) {
    return f;
  }
  if (const Failure f = check_reader<>(data)) {
    return f;
  }
  return check_reader<2, 3>(data);
}

}  // namespace microtl_fuzz::idx
