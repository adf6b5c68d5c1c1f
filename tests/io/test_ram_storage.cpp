// RamStorage behaves like NOR flash: erased is 0xFF, programming only clears bits, erases
// are whole aligned units and are counted, every access is bounds-checked.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <limits>

#include "microtl/io/ram_storage.hpp"
#include "microtl/io/storage.hpp"

using microtl::Status;
using microtl::io::RamStorage;

static_assert(microtl::io::Storage<RamStorage<512>>);
static_assert(!microtl::io::Storage<int>);

TEST_CASE("ram storage: a fresh region is erased") {
  static RamStorage<512, 128> flash;
  CHECK(flash.size() == 512);
  std::array<std::byte, 512> all{};
  REQUIRE(flash.read(0, all) == Status::ok);
  for (const std::byte b : all) {
    REQUIRE(b == std::byte{0xFF});
  }
  for (std::size_t unit = 0; unit < 4; ++unit) {
    CHECK(flash.erase_count(unit) == 0);
  }
}

TEST_CASE("ram storage: writes AND into the old bits; only an erase sets them again") {
  static RamStorage<512, 128> flash;
  const std::array<std::byte, 2> first = {std::byte{0xF0}, std::byte{0x3C}};
  REQUIRE(flash.write(10, first) == Status::ok);
  std::array<std::byte, 2> back{};
  REQUIRE(flash.read(10, back) == Status::ok);
  CHECK(back == first);
  // Writing again without an erase: 0xF0 & 0x0F = 0x00, 0x3C & 0xFF = 0x3C. Real flash
  // corrupts data the same way.
  const std::array<std::byte, 2> second = {std::byte{0x0F}, std::byte{0xFF}};
  REQUIRE(flash.write(10, second) == Status::ok);
  REQUIRE(flash.read(10, back) == Status::ok);
  CHECK(back[0] == std::byte{0x00});
  CHECK(back[1] == std::byte{0x3C});
  // Erase the unit holding them: 0xFF again, and that unit alone counts one erase.
  REQUIRE(flash.erase(0, 128) == Status::ok);
  REQUIRE(flash.read(10, back) == Status::ok);
  CHECK(back[0] == std::byte{0xFF});
  CHECK(back[1] == std::byte{0xFF});
  CHECK(flash.erase_count(0) == 1);
  CHECK(flash.erase_count(1) == 0);
  REQUIRE(flash.write(10, second) == Status::ok);
  REQUIRE(flash.read(10, back) == Status::ok);
  CHECK(back == second);
  REQUIRE(flash.erase(128, 256) == Status::ok);
  CHECK(flash.erase_count(0) == 1);
  CHECK(flash.erase_count(1) == 1);
  CHECK(flash.erase_count(2) == 1);
  CHECK(flash.erase_count(3) == 0);
}

TEST_CASE("ram storage: out-of-range and misaligned accesses fail and change nothing") {
  static RamStorage<512, 128> flash;
  const std::array<std::byte, 4> data = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  std::array<std::byte, 4> out{};
  constexpr std::size_t huge = std::numeric_limits<std::size_t>::max();
  CHECK(flash.write(509, data) == Status::invalid_argument);   // one byte past the end
  CHECK(flash.write(huge, data) == Status::invalid_argument);  // offset + size overflows
  CHECK(flash.read(509, out) == Status::invalid_argument);
  CHECK(flash.read(huge - 1, out) == Status::invalid_argument);
  CHECK(flash.erase(0, 640) == Status::invalid_argument);   // past the end
  CHECK(flash.erase(64, 128) == Status::invalid_argument);  // misaligned offset
  CHECK(flash.erase(0, 100) == Status::invalid_argument);   // partial unit
  CHECK(flash.erase(huge - 127, 128) == Status::invalid_argument);
  CHECK(flash.write(508, data) == Status::ok);  // the last four bytes: fine
  CHECK(flash.read(508, out) == Status::ok);
  CHECK(out == data);
  std::array<std::byte, 512> all{};
  REQUIRE(flash.read(0, all) == Status::ok);
  for (std::size_t i = 0; i < 508; ++i) {
    REQUIRE(all[i] == std::byte{0xFF});  // the failed calls wrote nothing
  }
  for (std::size_t unit = 0; unit < 4; ++unit) {
    CHECK(flash.erase_count(unit) == 0);  // nor erased anything
  }
  CHECK(flash.erase_count(4) == 0);  // a unit past the end reads as never erased
  CHECK(flash.write(512, std::span<const std::byte>{}) == Status::ok);  // empty at the end
}
