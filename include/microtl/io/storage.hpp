// Storage: a flash-like region the user implements (internal flash, an SPI NOR chip, an
// EEPROM emulation, a file on a host), where microtl keeps learned parameters.
//
//   struct MyFlash {
//     static constexpr std::size_t erase_bytes = 4096;  // erase sector
//     static constexpr std::size_t write_bytes = 8;     // program unit (write granularity)
//     static constexpr std::size_t region_bytes = 8192;  // optional: a size fixed at compile time
//     std::size_t size() const;                                          // bytes in the region
//     microtl::Status read(std::size_t offset, std::span<std::byte> out);
//     microtl::Status write(std::size_t offset, std::span<const std::byte> bytes);
//     microtl::Status erase(std::size_t offset, std::size_t length);
//   };
//   static_assert(microtl::io::Storage<MyFlash>);
//
// The geometry is part of the type, so that the parameter store (io/parameter_store.hpp)
// lays its two slots out in whole erase sectors of the real device: no erase of one slot
// can touch the other. A driver that cannot gain the two members (a vendor type) states
// them by specializing the trait instead:
//
//   template <> struct microtl::io::storage_geometry<VendorFlash> {
//     static constexpr std::size_t erase_bytes = 2048, write_bytes = 8;
//   };
//
// Offsets are relative to the start of the region. The contract, modelled on NOR flash so
// that code written against it is correct on the real thing:
//  - read:  fills `out` entirely with the bytes at [offset, offset + out.size()), or fails.
//  - write: programs bytes of an area erased before. microtl writes only whole program units
//           (offset and length multiples of write_bytes). Writing over bytes that were not
//           erased gives unspecified contents (NOR flash can only clear bits); microtl never
//           does it. A write cut by a power loss may leave any of its bytes programmed,
//           unprogrammed or partially programmed (tests/io/power_cut_storage.hpp).
//  - erase: sets [offset, offset + length) to 0xFF. microtl erases only whole sectors
//           (offset and length multiples of erase_bytes). An interrupted erase may leave
//           any mix of old and erased bits.
//  - every operation returns Status::ok, Status::invalid_argument for a range outside the
//    region (or a misaligned one), or Status::io_error when the device reports a failure.
//
// No virtual interface: the concept is checked at compile time and calls are direct (and
// inlinable) in the code that uses a storage.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/status.hpp"

namespace microtl::io {

// A geometry stated by the caller: ParameterStore<Model, Geometry<4096, 8>> lays out slots
// for that geometry, and takes only storages whose own geometry it covers.
template <std::size_t EraseBytes, std::size_t WriteBytes = 1>
struct Geometry {
  static constexpr std::size_t erase_bytes = EraseBytes;
  static constexpr std::size_t write_bytes = WriteBytes;
};

// The erase-sector size and write granularity of T (a storage, or a Geometry<...>): T's own
// static members by default; specialize it for a type that cannot have them.
template <class T>
struct storage_geometry {};

template <class T>
  requires requires {
    { T::erase_bytes } -> std::convertible_to<std::size_t>;
    { T::write_bytes } -> std::convertible_to<std::size_t>;
  }
struct storage_geometry<T> {
  static constexpr std::size_t erase_bytes = T::erase_bytes;
  static constexpr std::size_t write_bytes = T::write_bytes;
};

// A usable geometry: both sizes at least 1, and a sector a whole number of program units
// (true of every flash: a sector is a whole number of pages, a page of program units).
template <class T>
concept HasGeometry = requires {
  { storage_geometry<T>::erase_bytes } -> std::convertible_to<std::size_t>;
  { storage_geometry<T>::write_bytes } -> std::convertible_to<std::size_t>;
  requires storage_geometry<T>::erase_bytes >= 1 && storage_geometry<T>::write_bytes >= 1 &&
                   storage_geometry<T>::erase_bytes % storage_geometry<T>::write_bytes == 0;
};

template <class S>
concept Storage =
    HasGeometry<S> && requires(S& storage, const S& const_storage, std::size_t offset,
                               std::span<std::byte> out, std::span<const std::byte> bytes) {
      { const_storage.size() } -> std::same_as<std::size_t>;
      { storage.read(offset, out) } -> std::same_as<Status>;
      { storage.write(offset, bytes) } -> std::same_as<Status>;
      { storage.erase(offset, offset) } -> std::same_as<Status>;
    };

// A storage whose size is a compile-time constant (S::region_bytes): what does not fit in it
// is refused by the compiler rather than at run time.
template <class S>
concept StaticallySized = requires {
  { S::region_bytes } -> std::convertible_to<std::size_t>;
};

// True when [offset, offset + length) lies inside a region of `size` bytes, written so that
// it cannot overflow (offset + length may not fit in a std::size_t).
[[nodiscard]] constexpr bool range_fits(std::size_t offset, std::size_t length,
                                        std::size_t size) noexcept {
  return offset <= size && length <= size - offset;
}

}  // namespace microtl::io
