// CRC-32 (IEEE 802.3): the standard check value, known vectors, incremental == one shot,
// and the property the parameter blob relies on: every single-bit error is detected.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/io/crc32.hpp"

using microtl::io::Crc32;
using microtl::io::crc32;

namespace {

template <std::size_t N>
constexpr std::array<std::byte, N - 1> ascii(const char (&text)[N]) {
  std::array<std::byte, N - 1> bytes{};
  for (std::size_t i = 0; i + 1 < N; ++i) {
    bytes[i] = static_cast<std::byte>(text[i]);
  }
  return bytes;
}

}  // namespace

// The catalogue's check value, computed by the compiler.
static_assert(crc32(ascii("123456789")) == 0xCBF43926U);
static_assert(crc32(std::span<const std::byte>{}) == 0x00000000U);

TEST_CASE("crc32: known values (zlib.crc32 gives the same)") {
  CHECK(crc32(ascii("123456789")) == 0xCBF43926U);
  CHECK(crc32(ascii("a")) == 0xE8B7BE43U);
  CHECK(crc32(ascii("The quick brown fox jumps over the lazy dog")) == 0x414FA339U);
  const std::array<std::byte, 4> zeros{};
  CHECK(crc32(zeros) == 0x2144DF1CU);
  CHECK(microtl::io::detail::crc32_table[1] == 0x77073096U);
  CHECK(microtl::io::detail::crc32_table[255] == 0x2D02EF8DU);
}

TEST_CASE("crc32: incremental updates equal one pass, for every split point") {
  const auto text = ascii("The quick brown fox jumps over the lazy dog");
  const std::span<const std::byte> all(text);
  for (std::size_t split = 0; split <= all.size(); ++split) {
    Crc32 crc;
    crc.update(all.first(split));
    crc.update(all.subspan(split));
    CHECK(crc.value() == 0x414FA339U);
  }
  Crc32 crc;
  for (const std::byte b : text) {
    crc.update(b);
  }
  CHECK(crc.value() == 0x414FA339U);
  crc.reset();
  crc.update(ascii("123456789"));
  CHECK(crc.value() == 0xCBF43926U);
}

TEST_CASE("crc32: every single-bit flip of a 100-byte block changes the CRC") {
  std::array<std::byte, 100> block{};
  for (std::size_t i = 0; i < block.size(); ++i) {
    block[i] = static_cast<std::byte>((i * 37U + 11U) & 0xFFU);
  }
  const std::uint32_t reference = crc32(block);
  int undetected = 0;
  for (std::size_t bit = 0; bit < block.size() * 8; ++bit) {
    block[bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
    undetected += crc32(block) == reference ? 1 : 0;
    block[bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
  }
  CHECK(undetected == 0);
}
