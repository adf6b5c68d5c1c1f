// idx files (MNIST / Fashion-MNIST): good image and label files built in memory, every
// malformed header refused with its status, truncation in the header and in the data,
// random bytes that must never crash (ASan/UBSan run this in the sanitize preset), and the
// same reader over a real file through stdio.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <span>

#include "../support/random.hpp"
#include "microtl/io/idx.hpp"
#include "stdio_source.hpp"

using namespace microtl;
using io::IdxReader;
using io::SpanSource;

namespace {

static_assert(io::ByteSource<SpanSource>);
static_assert(io::ByteSource<microtl_test::StdioSource>);
static_assert(!io::ByteSource<int>);
static_assert(IdxReader<SpanSource, 28, 28>::sample_bytes == 784);
static_assert(IdxReader<SpanSource>::sample_bytes == 1);
static_assert(IdxReader<SpanSource, 2, 3, 4>::rank == 4);

// An idx file in memory: header (type, rank, big-endian extents), then data bytes.
struct IdxFile {
  std::array<std::byte, 4096> bytes{};
  std::size_t size = 0;

  void u8(std::uint32_t value) { bytes[size++] = static_cast<std::byte>(value & 0xFFU); }
  void u32_be(std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      u8(value >> shift);
    }
  }
  std::span<const std::byte> span() const { return {bytes.data(), size}; }
  std::span<const std::byte> first(std::size_t n) const { return {bytes.data(), n}; }
};

IdxFile header_only(std::uint32_t type, std::initializer_list<std::uint32_t> dims) {
  IdxFile file;
  file.u8(0);
  file.u8(0);
  file.u8(type);
  file.u8(static_cast<std::uint32_t>(dims.size()));
  for (const std::uint32_t d : dims) {
    file.u32_be(d);
  }
  return file;
}

constexpr std::uint8_t pixel(std::size_t image, std::size_t i) {
  return static_cast<std::uint8_t>((image * 31U + i * 7U) & 0xFFU);
}

// `count` 28x28 images whose pixels follow pixel().
IdxFile images(std::uint32_t count) {
  IdxFile file = header_only(0x08, {count, 28, 28});
  for (std::size_t image = 0; image < count; ++image) {
    for (std::size_t i = 0; i < 784; ++i) {
      file.u8(pixel(image, i));
    }
  }
  return file;
}

IdxFile labels(std::initializer_list<std::uint32_t> values) {
  IdxFile file = header_only(0x08, {static_cast<std::uint32_t>(values.size())});
  for (const std::uint32_t v : values) {
    file.u8(v);
  }
  return file;
}

template <std::size_t... Dims>
Status open_as(std::span<const std::byte> bytes) {
  SpanSource source(bytes);
  IdxReader<SpanSource, Dims...> reader(source);
  return reader.open();
}

}  // namespace

TEST_CASE("idx: a Fashion-MNIST-shaped image file is read sample by sample") {
  static const IdxFile file = images(3);
  CHECK(file.bytes[2] == std::byte{0x08});
  CHECK(file.bytes[3] == std::byte{0x03});  // 0x00000803
  SpanSource source(file.span());
  IdxReader<SpanSource, 28, 28> reader(source);
  REQUIRE(reader.open() == Status::ok);
  CHECK(reader.count() == 3);
  CHECK(reader.remaining() == 3);
  CHECK(reader.header().rank == 3);
  CHECK(reader.header().header_bytes() == 16);
  CHECK(reader.header().sample_bytes == 784);
  CHECK(reader.header().data_bytes == 3 * 784);
  std::array<std::uint8_t, 784> sample{};
  for (std::size_t image = 0; image < 3; ++image) {
    REQUIRE(reader.read_next(sample) == Status::ok);
    int wrong = 0;
    for (std::size_t i = 0; i < 784; ++i) {
      wrong += sample[i] == pixel(image, i) ? 0 : 1;
    }
    CHECK(wrong == 0);
  }
  CHECK(reader.remaining() == 0);
  CHECK(reader.read_next(sample) == Status::invalid_argument);  // past the last sample
  CHECK(source.remaining() == 0);
}

TEST_CASE("idx: a label file is read one byte per sample") {
  static const IdxFile file = labels({9, 0, 0, 3, 7});
  CHECK(file.bytes[3] == std::byte{0x01});  // 0x00000801
  SpanSource source(file.span());
  IdxReader<SpanSource> reader(source);
  REQUIRE(reader.open() == Status::ok);
  CHECK(reader.count() == 5);
  std::array<std::uint8_t, 1> label{};
  const std::uint8_t expected[] = {9, 0, 0, 3, 7};
  for (const std::uint8_t e : expected) {
    REQUIRE(reader.read_next(label) == Status::ok);
    CHECK(label[0] == e);
  }
  CHECK(reader.read_next(label) == Status::invalid_argument);
}

TEST_CASE("idx: read_next before a successful open is refused") {
  static const IdxFile file = labels({1, 2});
  SpanSource source(file.span());
  IdxReader<SpanSource> reader(source);
  std::array<std::uint8_t, 1> label{};
  CHECK(reader.read_next(label) == Status::invalid_argument);
  CHECK(reader.remaining() == 0);
}

TEST_CASE("idx: malformed headers are refused") {
  SUBCASE("wrong magic") {
    IdxFile file = labels({1, 2});
    file.bytes[0] = std::byte{0x01};
    CHECK(open_as<>(file.span()) == Status::bad_format);
    file.bytes[0] = std::byte{0x00};
    file.bytes[1] = std::byte{0x08};
    CHECK(open_as<>(file.span()) == Status::bad_format);
    // A gzip file given by mistake (1f 8b ...).
    file.bytes[0] = std::byte{0x1F};
    file.bytes[1] = std::byte{0x8B};
    CHECK(open_as<>(file.span()) == Status::bad_format);
  }
  SUBCASE("a type code other than unsigned byte") {
    for (const std::uint32_t type : {0x00U, 0x09U, 0x0BU, 0x0CU, 0x0DU, 0x0EU, 0xFFU}) {
      const IdxFile file = header_only(type, {2});
      CHECK(open_as<>(file.span()) == Status::bad_format);
    }
  }
  SUBCASE("no dimensions, or more than four") {
    const IdxFile none = header_only(0x08, {});
    CHECK(open_as<>(none.span()) == Status::bad_format);
    const IdxFile five = header_only(0x08, {1, 1, 1, 1, 1});
    CHECK(open_as<1, 1, 1>(five.span()) == Status::bad_format);
    SpanSource source(five.span());
    CHECK(io::read_idx_header(source).status() == Status::bad_format);
    const IdxFile four = header_only(0x08, {1, 2, 3, 4});
    CHECK(open_as<2, 3, 4>(four.span()) == Status::ok);  // four is the limit
  }
  SUBCASE("an extent of zero") {
    CHECK(open_as<>(header_only(0x08, {0}).span()) == Status::bad_format);
    CHECK(open_as<28, 28>(header_only(0x08, {5, 0, 28}).span()) == Status::bad_format);
    CHECK(open_as<28, 28>(header_only(0x08, {5, 28, 0}).span()) == Status::bad_format);
  }
  SUBCASE("sizes that overflow") {
    const IdxFile huge4 = header_only(0x08, {0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU});
    SpanSource s4(huge4.span());
    CHECK(io::read_idx_header(s4).status() == Status::bad_format);
    const IdxFile huge3 = header_only(0x08, {0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU});
    SpanSource s3(huge3.span());
    CHECK(io::read_idx_header(s3).status() == Status::bad_format);
    // The sample size overflows although the count is 1.
    const IdxFile wide = header_only(0x08, {1, 0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU});
    SpanSource sw(wide.span());
    CHECK(io::read_idx_header(sw).status() == Status::bad_format);
    // A sample of 2^32 bytes: more than a 32-bit target can address, fine on a 64-bit host.
    const IdxFile four_gb = header_only(0x08, {1, 0x10000U, 0x10000U});
    SpanSource sg(four_gb.span());
    CHECK(io::read_idx_header(sg).status() ==
          (sizeof(std::size_t) < 8 ? Status::bad_format : Status::ok));
    // Large but representable: header accepted (the data would be truncated).
    const IdxFile large = header_only(0x08, {0xFFFFFFFFU, 0xFFFFU});
    SpanSource s2(large.span());
    const auto header = io::read_idx_header(s2);
    REQUIRE(header.ok());
    CHECK(header.value().data_bytes == 0xFFFFFFFFULL * 0xFFFFULL);
  }
  SUBCASE("extents other than the ones asked for") {
    const IdxFile image_file = images(1);
    CHECK(open_as<>(image_file.span()) == Status::size_mismatch);  // images as labels
    CHECK(open_as<28, 27>(image_file.span()) == Status::size_mismatch);
    CHECK(open_as<784>(image_file.span()) == Status::size_mismatch);
    const IdxFile label_file = labels({1});
    CHECK(open_as<28, 28>(label_file.span()) == Status::size_mismatch);  // labels as images
  }
}

TEST_CASE("idx: a file that ends inside the header is truncated, at every byte") {
  static const IdxFile file = images(1);
  for (std::size_t n = 0; n < 16; ++n) {
    INFO("header cut at " << n);
    CHECK(open_as<28, 28>(file.first(n)) == Status::truncated);
  }
  CHECK(open_as<28, 28>(file.first(16)) == Status::ok);  // header whole, data missing
}

TEST_CASE("idx: a file that ends inside the data is truncated, and stays failed") {
  static const IdxFile file = images(3);
  SpanSource source(file.first(16 + 2 * 784 + 100));  // the third image cut short
  IdxReader<SpanSource, 28, 28> reader(source);
  REQUIRE(reader.open() == Status::ok);
  std::array<std::uint8_t, 784> sample{};
  CHECK(reader.read_next(sample) == Status::ok);
  CHECK(reader.read_next(sample) == Status::ok);
  CHECK(reader.read_next(sample) == Status::truncated);
  CHECK(reader.read_next(sample) == Status::truncated);
  CHECK(reader.remaining() == 1);
}

namespace {

// A source that fails once (io_error) at its `fail_at`-th read, then reads on as if
// nothing happened: a flaky link. The reader must not trust the stream after the fault.
class FlakySource {
 public:
  FlakySource(std::span<const std::byte> bytes, int fail_at) : inner_(bytes), fail_at_(fail_at) {}
  Status read(std::span<std::byte> out) {
    if (reads_++ == fail_at_) {
      return Status::io_error;
    }
    return inner_.read(out);
  }

 private:
  SpanSource inner_;
  int fail_at_;
  int reads_ = 0;
};

}  // namespace

TEST_CASE("idx: SpanSource consumes nothing on a short read") {
  const std::array<std::byte, 3> bytes = {std::byte{1}, std::byte{2}, std::byte{3}};
  SpanSource source(bytes);
  std::array<std::byte, 4> four{};
  CHECK(source.read(four) == Status::truncated);
  CHECK(source.remaining() == 3);
  std::array<std::byte, 3> three{};
  CHECK(source.read(three) == Status::ok);
  CHECK(three == bytes);
  CHECK(source.remaining() == 0);
  CHECK(source.read(std::span<std::byte>{}) == Status::ok);  // nothing asked, nothing read
}

TEST_CASE("idx: after a source failure the reader stays failed") {
  static const IdxFile file = labels({4, 5, 6});
  // Reads: 0 = magic, 1 = the one extent, 2.. = samples. Fail the second sample.
  FlakySource source(file.span(), 3);
  IdxReader<FlakySource> reader(source);
  REQUIRE(reader.open() == Status::ok);
  std::array<std::uint8_t, 1> label{};
  CHECK(reader.read_next(label) == Status::ok);
  CHECK(label[0] == 4);
  CHECK(reader.read_next(label) == Status::io_error);
  CHECK(reader.read_next(label) == Status::io_error);  // not a silently shifted stream
  CHECK(reader.remaining() == 2);
}

TEST_CASE("idx: random bytes never crash the reader") {
  microtl_test::Xorshift32 rng(2024);
  static IdxFile file;
  std::array<int, 16> statuses{};
  std::size_t samples_read = 0;
  for (int round = 0; round < 4000; ++round) {
    file.size = 0;
    const std::size_t length = rng.next() % 64U;
    for (std::size_t i = 0; i < length; ++i) {
      file.u8(rng.next());
    }
    // Half the rounds start with a plausible header, so the deeper checks run too.
    if (length >= 4 && (round % 2) == 0) {
      file.bytes[0] = std::byte{0};
      file.bytes[1] = std::byte{0};
      file.bytes[2] = std::byte{0x08};
      file.bytes[3] = static_cast<std::byte>(rng.next() % 6U);
      for (std::size_t i = 4; i + 3 < length && i < 20; i += 4) {
        // Small extents most of the time.
        if ((rng.next() & 3U) != 0U) {
          file.bytes[i] = file.bytes[i + 1] = file.bytes[i + 2] = std::byte{0};
          file.bytes[i + 3] = static_cast<std::byte>(rng.next() % 4U);
        }
      }
    }
    SpanSource header_source(file.span());
    const auto header = io::read_idx_header(header_source);
    ++statuses[static_cast<std::size_t>(header.status())];
    // Any rank-3 file with 2x2 samples: read until the reader stops.
    SpanSource source(file.span());
    IdxReader<SpanSource, 2, 2> reader(source);
    if (reader.open() == Status::ok) {
      std::array<std::uint8_t, 4> sample{};
      while (reader.read_next(sample) == Status::ok) {
        ++samples_read;
      }
    }
  }
  MESSAGE("header statuses: ok " << statuses[0] << ", bad_format " << statuses[5] << ", truncated "
                                 << statuses[6] << "; 2x2 samples read " << samples_read);
  CHECK(statuses[static_cast<std::size_t>(Status::ok)] > 0);
  CHECK(statuses[static_cast<std::size_t>(Status::bad_format)] > 0);
  CHECK(statuses[static_cast<std::size_t>(Status::truncated)] > 0);
  CHECK(samples_read > 0);
}

TEST_CASE("idx: the same reader over a file through stdio") {
  const char* path = MICROTL_TEST_TMP_DIR "/test_idx_stdio.idx";
  static const IdxFile file = images(2);
  std::FILE* out = std::fopen(path, "wb");
  REQUIRE(out != nullptr);
  REQUIRE(std::fwrite(file.bytes.data(), 1, file.size, out) == file.size);
  REQUIRE(std::fclose(out) == 0);

  std::FILE* in = std::fopen(path, "rb");
  REQUIRE(in != nullptr);
  microtl_test::StdioSource source(in);
  IdxReader<microtl_test::StdioSource, 28, 28> reader(source);
  REQUIRE(reader.open() == Status::ok);
  std::array<std::uint8_t, 784> sample{};
  int wrong = 0;
  for (std::size_t image = 0; image < 2; ++image) {
    REQUIRE(reader.read_next(sample) == Status::ok);
    for (std::size_t i = 0; i < 784; ++i) {
      wrong += sample[i] == pixel(image, i) ? 0 : 1;
    }
  }
  CHECK(wrong == 0);
  std::fclose(in);
  std::remove(path);
}
