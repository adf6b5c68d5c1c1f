// RamStorage<Bytes, EraseBytes, WriteBytes>: a Storage (io/storage.hpp) in a std::array
// that behaves like NOR flash, for tests, for host tools, and for devices that keep
// parameters only until reset (in a RAM section that survives a warm reboot).
//
// Flash behaviour, emulated so that code that works here works on flash:
//  - a fresh region is erased (every byte 0xFF);
//  - erase sets whole sectors to 0xFF; the offset and length must be multiples of
//    EraseBytes (Status::invalid_argument otherwise), as a flash controller requires;
//  - write programs whole program units: offset and length multiples of WriteBytes
//    (Status::invalid_argument otherwise, as on a flash that programs 8 bytes at a time);
//  - write can only clear bits: stored = old AND new. Writing a byte that was not erased
//    stores a mix of the two, exactly the corruption real flash would show;
//  - every access is bounds-checked: a range outside the region is Status::invalid_argument
//    and changes nothing.
//
// Wear: each erase unit counts its erases (erase_count()), so tests can measure how evenly
// a scheme spreads erases (flash endures ~10^4..10^5 erases per sector).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/status.hpp"
#include "microtl/io/storage.hpp"

namespace microtl::io {

template <std::size_t Bytes, std::size_t EraseBytes = 256, std::size_t WriteBytes = 1>
class RamStorage {
  static_assert(EraseBytes >= 1 && Bytes >= EraseBytes && Bytes % EraseBytes == 0,
                "microtl::io::RamStorage: the size must be a whole number of erase units");
  static_assert(WriteBytes >= 1 && EraseBytes % WriteBytes == 0,
                "microtl::io::RamStorage: an erase unit must be a whole number of write units");

 public:
  // The geometry (io/storage.hpp) and the size, known to the compiler.
  static constexpr std::size_t erase_bytes = EraseBytes;
  static constexpr std::size_t write_bytes = WriteBytes;
  static constexpr std::size_t region_bytes = Bytes;
  static constexpr std::size_t erase_unit = EraseBytes;  // the older name of erase_bytes
  static constexpr std::size_t unit_count = Bytes / EraseBytes;

  constexpr RamStorage() noexcept { memory_.fill(erased); }

  [[nodiscard]] constexpr std::size_t size() const noexcept { return Bytes; }

  [[nodiscard]] constexpr Status read(std::size_t offset, std::span<std::byte> out) const noexcept {
    if (!range_fits(offset, out.size(), Bytes)) {
      return Status::invalid_argument;
    }
    std::copy_n(memory_.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    return Status::ok;
  }

  // stored = stored AND bytes: programming can only turn ones into zeros.
  [[nodiscard]] constexpr Status write(std::size_t offset,
                                       std::span<const std::byte> bytes) noexcept {
    if (!range_fits(offset, bytes.size(), Bytes) || offset % WriteBytes != 0 ||
        bytes.size() % WriteBytes != 0) {
      return Status::invalid_argument;
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      memory_[offset + i] &= bytes[i];
    }
    return Status::ok;
  }

  [[nodiscard]] constexpr Status erase(std::size_t offset, std::size_t length) noexcept {
    if (!range_fits(offset, length, Bytes) || offset % EraseBytes != 0 ||
        length % EraseBytes != 0) {
      return Status::invalid_argument;
    }
    std::fill_n(memory_.begin() + static_cast<std::ptrdiff_t>(offset), length, erased);
    for (std::size_t unit = offset / EraseBytes; unit < (offset + length) / EraseBytes; ++unit) {
      ++erase_counts_[unit];
    }
    return Status::ok;
  }

  // Erases of erase unit `unit` (0 .. unit_count - 1) since construction.
  [[nodiscard]] constexpr std::uint32_t erase_count(std::size_t unit) const noexcept {
    return unit < unit_count ? erase_counts_[unit] : 0U;
  }

  // The raw memory, for tests that inspect or corrupt what is stored (a bit flip, a torn
  // write) and for copying a region to a host file. Not part of the Storage concept.
  [[nodiscard]] constexpr std::span<std::byte, Bytes> raw() noexcept { return memory_; }
  [[nodiscard]] constexpr std::span<const std::byte, Bytes> raw() const noexcept { return memory_; }

 private:
  static constexpr std::byte erased{0xFF};
  std::array<std::byte, Bytes> memory_{};
  std::array<std::uint32_t, unit_count> erase_counts_{};
};

}  // namespace microtl::io
