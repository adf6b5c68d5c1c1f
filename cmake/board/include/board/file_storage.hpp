// FileStorage: a microtl::io::Storage kept in a host file, reached through raw semihosting
// (no C library, no heap), so that a program in QEMU can keep learned parameters across
// runs as a device keeps them in flash. On the host build the same calls go to C stdio
// (cmake/board/host/semihosting.cpp). Board support for tests and demos, not the library.
//
//   static board::FileStorage flash;
//   MICROTL_TRY(flash.open("params.bin", io::storage_bytes_needed<Model, board::FileStorage>()));
//   MICROTL_TRY(io::save(model, flash));
//
// A missing file is created with every byte 0xFF (an erased region). A file is a file, not
// flash: write() replaces bytes instead of clearing bits, which the Storage contract
// allows (microtl erases before it writes). It stands for a flash of the geometry it
// declares (BasicFileStorage<EraseBytes, WriteBytes>; FileStorage: 256-byte sectors, byte
// writes) and refuses what that flash would refuse: an erase that is not whole sectors, a
// write that is not whole program units (Status::invalid_argument). Its size is chosen at
// run time (open), so a region too small for a store is answered by size_mismatch.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "board/semihosting.hpp"
#include "microtl/core/status.hpp"
#include "microtl/io/storage.hpp"

namespace board {

template <std::size_t EraseBytes = 256, std::size_t WriteBytes = 1>
class BasicFileStorage {
  static_assert(EraseBytes >= 1 && WriteBytes >= 1 && EraseBytes % WriteBytes == 0,
                "board::BasicFileStorage: a sector must be a whole number of program units");

 public:
  static constexpr std::size_t erase_bytes = EraseBytes;
  static constexpr std::size_t write_bytes = WriteBytes;

  BasicFileStorage() = default;
  BasicFileStorage(const BasicFileStorage&) = delete;
  BasicFileStorage& operator=(const BasicFileStorage&) = delete;
  ~BasicFileStorage() { (void)close(); }

  // Opens `path` as a region of `size` bytes, creating it erased if it does not exist.
  //   size_mismatch   the file exists with another length (a region of another layout:
  //                   delete it to start over)
  //   io_error        the host refused to open, create or fill it
  [[nodiscard]] microtl::Status open(const char* path, std::size_t size) noexcept {
    (void)close();
    int handle = semihosting::open(path, semihosting::OpenMode::r_plus_b);
    if (handle < 0) {
      handle = semihosting::open(path, semihosting::OpenMode::w_plus_b);
      if (handle < 0) {
        return microtl::Status::io_error;
      }
      handle_ = handle;
      size_ = 0;  // the file is empty: extend it with erased bytes
      const microtl::Status filled = fill_erased(0, size);
      if (filled != microtl::Status::ok) {
        (void)close();
        return filled;
      }
    }
    handle_ = handle;
    const long length = semihosting::length(handle_);
    if (length < 0 || static_cast<unsigned long>(length) != size) {
      (void)close();
      return length < 0 ? microtl::Status::io_error : microtl::Status::size_mismatch;
    }
    size_ = size;
    return microtl::Status::ok;
  }

  [[nodiscard]] microtl::Status close() noexcept {
    if (handle_ < 0) {
      return microtl::Status::ok;
    }
    const int result = semihosting::close(handle_);
    handle_ = -1;
    size_ = 0;
    return result == 0 ? microtl::Status::ok : microtl::Status::io_error;
  }

  [[nodiscard]] bool is_open() const noexcept { return handle_ >= 0; }

  // ---- microtl::io::Storage -------------------------------------------------------------
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  [[nodiscard]] microtl::Status read(std::size_t offset, std::span<std::byte> out) noexcept {
    MICROTL_TRY(check(offset, out.size()));
    MICROTL_TRY(seek(offset));
    std::size_t done = 0;
    while (done < out.size()) {
      const long got = semihosting::read(handle_, out.data() + done, out.size() - done);
      if (got <= 0) {
        return microtl::Status::io_error;  // the file ended early or the host failed
      }
      done += static_cast<std::size_t>(got);
    }
    return microtl::Status::ok;
  }

  [[nodiscard]] microtl::Status write(std::size_t offset,
                                      std::span<const std::byte> bytes) noexcept {
    MICROTL_TRY(check(offset, bytes.size()));
    if (offset % WriteBytes != 0 || bytes.size() % WriteBytes != 0) {
      return microtl::Status::invalid_argument;
    }
    MICROTL_TRY(seek(offset));
    return write_all(bytes);
  }

  [[nodiscard]] microtl::Status erase(std::size_t offset, std::size_t length) noexcept {
    MICROTL_TRY(check(offset, length));
    if (offset % EraseBytes != 0 || length % EraseBytes != 0) {
      return microtl::Status::invalid_argument;
    }
    return fill_erased(offset, length);
  }

 private:
  microtl::Status check(std::size_t offset, std::size_t length) const noexcept {
    if (handle_ < 0) {
      return microtl::Status::io_error;  // not open
    }
    return microtl::io::range_fits(offset, length, size_) ? microtl::Status::ok
                                                          : microtl::Status::invalid_argument;
  }

  microtl::Status seek(std::size_t offset) noexcept {
    return semihosting::seek(handle_, offset) == 0 ? microtl::Status::ok
                                                   : microtl::Status::io_error;
  }

  microtl::Status write_all(std::span<const std::byte> bytes) noexcept {
    if (bytes.empty()) {
      return microtl::Status::ok;  // nothing to send (a 0-byte SYS_WRITE is not portable)
    }
    const long written = semihosting::write(handle_, bytes.data(), bytes.size());
    return written >= 0 && static_cast<std::size_t>(written) == bytes.size()
               ? microtl::Status::ok
               : microtl::Status::io_error;
  }

  // Writes `length` bytes of 0xFF from `offset`, 64 at a time (no buffer of the region's
  // size). Used to create the file, so `offset` may be its current end.
  microtl::Status fill_erased(std::size_t offset, std::size_t length) noexcept {
    std::array<std::byte, 64> erased{};
    erased.fill(std::byte{0xFF});
    MICROTL_TRY(seek(offset));
    for (std::size_t done = 0; done < length;) {
      const std::size_t n = length - done < erased.size() ? length - done : erased.size();
      MICROTL_TRY(write_all(std::span<const std::byte>(erased.data(), n)));
      done += n;
    }
    return microtl::Status::ok;
  }

  int handle_ = -1;
  std::size_t size_ = 0;
};

using FileStorage = BasicFileStorage<>;

}  // namespace board
