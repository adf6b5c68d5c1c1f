// CRC-32 as used by Ethernet, zlib and PNG (IEEE 802.3): reflected, polynomial 0xEDB88320,
// initial value 0xFFFFFFFF, result xor 0xFFFFFFFF. The check value of the ASCII bytes
// "123456789" is 0xCBF43926.
//
// Why this one: it detects every single-bit error, every burst of up to 32 bits and every
// odd number of flipped bits, which covers what a worn or interrupted flash write leaves
// behind, and any host tool (Python's zlib.crc32, `crc32` on Linux) computes the same value
// for a blob copied off the device.
//
// Incremental, so a blob can be checked while it streams through a small buffer:
//
//   io::Crc32 crc;
//   crc.update(header);
//   crc.update(chunk);          // as many times as needed
//   std::uint32_t c = crc.value();
//
// The 256-entry table (1 KB) is computed by the compiler and lives in flash (const data).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace microtl::io {

namespace detail {

// table[b] = the CRC register after shifting byte b through it alone (8 rounds of
//   crc = (crc >> 1) ^ (crc & 1 ? poly : 0)),
// so that one byte costs one lookup:  crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8).
constexpr std::array<std::uint32_t, 256> make_crc32_table() noexcept {
  constexpr std::uint32_t polynomial = 0xEDB88320U;  // 0x04C11DB7 bit-reversed
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t byte = 0; byte < 256U; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1U) != 0U ? (crc >> 1) ^ polynomial : crc >> 1;
    }
    table[byte] = crc;
  }
  return table;
}

inline constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

}  // namespace detail

class Crc32 {
 public:
  constexpr void update(std::byte byte) noexcept {
    const auto index =
        static_cast<std::uint8_t>((register_ ^ static_cast<std::uint32_t>(byte)) & 0xFFU);
    register_ = detail::crc32_table[index] ^ (register_ >> 8);
  }

  constexpr void update(std::span<const std::byte> bytes) noexcept {
    for (const std::byte b : bytes) {
      update(b);
    }
  }

  // The CRC of every byte given so far (update() may continue afterwards).
  [[nodiscard]] constexpr std::uint32_t value() const noexcept { return register_ ^ 0xFFFFFFFFU; }

  constexpr void reset() noexcept { register_ = 0xFFFFFFFFU; }

 private:
  std::uint32_t register_ = 0xFFFFFFFFU;
};

// The CRC-32 of one contiguous block.
[[nodiscard]] constexpr std::uint32_t crc32(std::span<const std::byte> bytes) noexcept {
  Crc32 crc;
  crc.update(bytes);
  return crc.value();
}

}  // namespace microtl::io
