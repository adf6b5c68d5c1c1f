// Storage: a flash-like region the user implements (internal flash, an SPI NOR chip, an
// EEPROM emulation, a file on a host), where microtl keeps learned parameters.
//
//   struct MyFlash {
//     std::size_t size() const;                                          // bytes in the region
//     microtl::Status read(std::size_t offset, std::span<std::byte> out);
//     microtl::Status write(std::size_t offset, std::span<const std::byte> bytes);
//     microtl::Status erase(std::size_t offset, std::size_t length);
//   };
//   static_assert(microtl::io::Storage<MyFlash>);
//
// Offsets are relative to the start of the region. The contract, modelled on NOR flash so
// that code written against it is correct on the real thing:
//  - read:  fills `out` entirely with the bytes at [offset, offset + out.size()), or fails.
//  - write: programs bytes of an area erased before. Writing over bytes that were not
//           erased gives unspecified contents (NOR flash can only clear bits); microtl never
//           does it. A write may be cut short by a power loss: a prefix of it, then nothing.
//  - erase: sets [offset, offset + length) to 0xFF. microtl erases only whole erase units
//           (the unit is a template parameter of io::ParameterStore) at multiples of the
//           unit. An interrupted erase may leave any mix of old and erased bits.
//  - every operation returns Status::ok, Status::invalid_argument for a range outside the
//    region (or a misaligned erase), or Status::io_error when the device reports a failure.
//
// No virtual interface: the concept is checked at compile time and calls are direct (and
// inlinable) in the code that uses a storage.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/status.hpp"

namespace microtl::io {

template <class S>
concept Storage = requires(S& storage, const S& const_storage, std::size_t offset,
                           std::span<std::byte> out, std::span<const std::byte> bytes) {
  { const_storage.size() } -> std::same_as<std::size_t>;
  { storage.read(offset, out) } -> std::same_as<Status>;
  { storage.write(offset, bytes) } -> std::same_as<Status>;
  { storage.erase(offset, offset) } -> std::same_as<Status>;
};

// True when [offset, offset + length) lies inside a region of `size` bytes, written so that
// it cannot overflow (offset + length may not fit in a std::size_t).
[[nodiscard]] constexpr bool range_fits(std::size_t offset, std::size_t length,
                                        std::size_t size) noexcept {
  return offset <= size && length <= size - offset;
}

}  // namespace microtl::io
