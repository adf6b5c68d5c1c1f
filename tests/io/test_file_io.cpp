// Board file I/O, run where the tests run (natively, or in QEMU through raw semihosting):
// FileStorage is a Storage over a host file that survives closing and reopening (a
// "reboot"), parameter blobs round-trip through it, and FileSource streams an idx file the
// test wrote itself.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "blob_test_models.hpp"
#include "board/file_source.hpp"
#include "board/file_storage.hpp"
#include "board/semihosting.hpp"
#include "microtl/io/idx.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/storage.hpp"

using namespace microtl;
using namespace microtl_test;

static_assert(io::Storage<board::FileStorage>);
static_assert(io::Storage<board::BasicFileStorage<4096, 8>>);
static_assert(board::FileStorage::erase_bytes == 256 && board::FileStorage::write_bytes == 1);
static_assert(!io::StaticallySized<board::FileStorage>);  // sized when opened
static_assert(io::ByteSource<board::FileSource>);

namespace {

constexpr const char* storage_path = MICROTL_TEST_TMP_DIR "/test_file_io_storage.bin";
constexpr const char* idx_path = MICROTL_TEST_TMP_DIR "/test_file_io_labels.idx";
constexpr const char* missing_path = MICROTL_TEST_TMP_DIR "/test_file_io_no_such_file.idx";

// Writes `bytes` as the whole content of a host file (w+b truncates), raw semihosting only.
bool write_file(const char* path, std::span<const std::byte> bytes) {
  const int handle = board::semihosting::open(path, board::semihosting::OpenMode::w_plus_b);
  if (handle < 0) {
    return false;
  }
  // (An empty file needs no write: w+b has truncated it.)
  const long written =
      bytes.empty() ? 0 : board::semihosting::write(handle, bytes.data(), bytes.size());
  const bool closed = board::semihosting::close(handle) == 0;
  return closed && written == static_cast<long>(bytes.size());
}

}  // namespace

TEST_CASE("file storage: a missing file is created erased; reads, writes and bounds") {
  (void)board::semihosting::remove(storage_path);  // absent already is fine
  static board::FileStorage flash;
  std::array<std::byte, 3> back{};
  CHECK_FALSE(flash.is_open());
  CHECK(flash.read(0, back) == Status::io_error);  // not open

  REQUIRE(flash.open(storage_path, 512) == Status::ok);  // created, erased
  CHECK(flash.size() == 512);
  std::array<std::byte, 512> all{};
  REQUIRE(flash.read(0, all) == Status::ok);
  int not_erased = 0;
  for (const std::byte b : all) {
    not_erased += b == std::byte{0xFF} ? 0 : 1;
  }
  CHECK(not_erased == 0);

  const std::array<std::byte, 3> data = {std::byte{1}, std::byte{2}, std::byte{3}};
  REQUIRE(flash.write(509, data) == Status::ok);  // the last three bytes
  REQUIRE(flash.read(509, back) == Status::ok);
  CHECK(back == data);
  CHECK(flash.write(510, data) == Status::invalid_argument);
  CHECK(flash.read(511, back) == Status::invalid_argument);
  CHECK(flash.erase(500, 13) == Status::invalid_argument);
  // Whole 256-byte sectors only, as the flash it stands for.
  CHECK(flash.erase(0, 100) == Status::invalid_argument);
  CHECK(flash.erase(128, 256) == Status::invalid_argument);
  REQUIRE(flash.read(509, back) == Status::ok);
  CHECK(back == data);  // the refused erases changed nothing
  REQUIRE(flash.erase(256, 256) == Status::ok);
  REQUIRE(flash.read(509, back) == Status::ok);
  CHECK(back[0] == std::byte{0xFF});
  REQUIRE(flash.write(100, data) == Status::ok);
  CHECK(flash.close() == Status::ok);

  // Reopened with another size: refused (another layout's region); with its own size:
  // what was written is still there.
  CHECK(flash.open(storage_path, 1024) == Status::size_mismatch);
  CHECK_FALSE(flash.is_open());
  REQUIRE(flash.open(storage_path, 512) == Status::ok);
  REQUIRE(flash.read(100, back) == Status::ok);
  CHECK(back == data);
  CHECK(flash.close() == Status::ok);

  // An existing empty file is not silently grown.
  REQUIRE(write_file(storage_path, std::span<const std::byte>{}));
  CHECK(flash.open(storage_path, 512) == Status::size_mismatch);
  CHECK(board::semihosting::remove(storage_path) == 0);
}

TEST_CASE("file storage: parameters saved before a reboot load after it, bit for bit") {
  static constexpr const char* path = MICROTL_TEST_TMP_DIR "/test_file_io_params.bin";
  constexpr std::size_t region = io::storage_bytes_needed<SmallModel, board::FileStorage>();
  static SmallModel trained = model_with_values<SmallModel>(make_small, 77);
  {
    static board::FileStorage flash;
    (void)board::semihosting::remove(path);  // a first boot: no file yet
    REQUIRE(flash.open(path, region) == Status::ok);
    static SmallModel first = make_small();
    CHECK(io::load(first, flash) == Status::not_found);
    REQUIRE(io::save(make_small(), flash) == Status::ok);
    REQUIRE(io::save(trained, flash) == Status::ok);
    CHECK(io::newest_sequence<SmallModel>(flash).value() == 2);
    REQUIRE(flash.close() == Status::ok);
  }
  {
    static board::FileStorage flash;  // "after the reboot"
    REQUIRE(flash.open(path, region) == Status::ok);
    static SmallModel restored = make_small();
    REQUIRE(io::load(restored, flash) == Status::ok);
    CHECK(same_bits<SmallModel>(snapshot(trained), snapshot(restored)));
    REQUIRE(flash.close() == Status::ok);
  }
  CHECK(board::semihosting::remove(path) == 0);
}

TEST_CASE("file storage: its geometry lays out the slots; too small a file is size_mismatch") {
  // A file standing for a chip with 512-byte sectors and 8-byte program units.
  using Chip = board::BasicFileStorage<512, 8>;
  static constexpr const char* path = MICROTL_TEST_TMP_DIR "/test_file_io_chip.bin";
  constexpr std::size_t region = io::storage_bytes_needed<SmallModel, Chip>();
  static_assert(region == 1024);
  static Chip flash;
  static SmallModel trained = model_with_values<SmallModel>(make_small, 78);
  static SmallModel restored = make_small();
  (void)board::semihosting::remove(path);
  REQUIRE(flash.open(path, region) == Status::ok);
  const std::array<std::byte, 8> unit = {};
  CHECK(flash.write(4, unit) == Status::invalid_argument);  // not on a program unit
  CHECK(flash.write(8, std::span<const std::byte>(unit).first(4)) == Status::invalid_argument);
  CHECK(flash.erase(0, 256) == Status::invalid_argument);  // half a sector
  REQUIRE(io::save(make_small(), flash) == Status::ok);
  REQUIRE(io::save(trained, flash) == Status::ok);  // slot 1, at byte 512
  REQUIRE(io::load(restored, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(trained), snapshot(restored)));
  CHECK(io::ParameterStore<SmallModel, Chip>::newest(restored, flash).value().slot == 1);
  REQUIRE(flash.close() == Status::ok);
  CHECK(board::semihosting::remove(path) == 0);

  // A file of one slot's size: refused at run time, nothing written.
  REQUIRE(flash.open(path, 512) == Status::ok);
  CHECK(io::save(trained, flash) == Status::size_mismatch);
  CHECK(io::load(restored, flash) == Status::size_mismatch);
  std::array<std::byte, 512> all{};
  REQUIRE(flash.read(0, all) == Status::ok);
  std::size_t not_erased = 0;
  for (const std::byte b : all) {
    not_erased += b == std::byte{0xFF} ? 0U : 1U;
  }
  CHECK(not_erased == 0);
  REQUIRE(flash.close() == Status::ok);
  CHECK(board::semihosting::remove(path) == 0);
}

TEST_CASE("file source: an idx label file written by the test is streamed back") {
  // 00 00 08 01, count 5 (big-endian), then the labels.
  const std::array<std::byte, 13> file = {
      std::byte{0}, std::byte{0}, std::byte{0x08}, std::byte{0x01}, std::byte{0},
      std::byte{0}, std::byte{0}, std::byte{5},    std::byte{9},    std::byte{2},
      std::byte{1}, std::byte{1}, std::byte{6}};
  REQUIRE(write_file(idx_path, file));

  static board::FileSource source;
  REQUIRE(source.open(idx_path) == Status::ok);
  CHECK(source.length() == 13);
  io::IdxReader<board::FileSource> reader(source);
  REQUIRE(reader.open() == Status::ok);
  CHECK(reader.count() == 5);
  const std::uint8_t expected[] = {9, 2, 1, 1, 6};
  std::array<std::uint8_t, 1> label{};
  for (const std::uint8_t e : expected) {
    REQUIRE(reader.read_next(label) == Status::ok);
    CHECK(label[0] == e);
  }
  CHECK(reader.read_next(label) == Status::invalid_argument);
  CHECK(source.close() == Status::ok);

  // The same file cut short: the reader says truncated.
  REQUIRE(write_file(idx_path, std::span<const std::byte>(file).first(10)));  // 2 of 5
  REQUIRE(source.open(idx_path) == Status::ok);
  io::IdxReader<board::FileSource> short_reader(source);
  REQUIRE(short_reader.open() == Status::ok);
  CHECK(short_reader.read_next(label) == Status::ok);
  CHECK(short_reader.read_next(label) == Status::ok);
  CHECK(short_reader.read_next(label) == Status::truncated);
  CHECK(source.close() == Status::ok);

  CHECK(board::semihosting::remove(idx_path) == 0);

  CHECK(source.open(missing_path) == Status::not_found);
  std::array<std::byte, 1> byte{};
  CHECK(source.read(byte) == Status::io_error);
}
