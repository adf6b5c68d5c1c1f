// FileSource: a microtl::io::ByteSource (io/idx.hpp) over a host file, read through raw
// semihosting: no C library, no heap, so a firmware in QEMU can stream a data set from
// the host (Fashion-MNIST's idx files, gunzipped first) one sample at a time. On the host
// build the same calls go to C stdio. Board support for tests and demos, not the library.
//
//   static board::FileSource images;
//   MICROTL_TRY(images.open("train-images-idx3-ubyte"));
//   io::IdxReader<board::FileSource, 28, 28> reader(images);
#pragma once

#include <cstddef>
#include <span>

#include "board/semihosting.hpp"
#include "microtl/core/status.hpp"

namespace board {

class FileSource {
 public:
  FileSource() = default;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource() { (void)close(); }

  // Opens `path` for reading from its start: not_found when the host cannot open it.
  [[nodiscard]] microtl::Status open(const char* path) noexcept {
    (void)close();
    handle_ = semihosting::open(path, semihosting::OpenMode::rb);
    return handle_ >= 0 ? microtl::Status::ok : microtl::Status::not_found;
  }

  [[nodiscard]] microtl::Status close() noexcept {
    if (handle_ < 0) {
      return microtl::Status::ok;
    }
    const int result = semihosting::close(handle_);
    handle_ = -1;
    return result == 0 ? microtl::Status::ok : microtl::Status::io_error;
  }

  [[nodiscard]] bool is_open() const noexcept { return handle_ >= 0; }

  // The file's length in bytes, or -1 when it is not open or the host cannot tell.
  [[nodiscard]] long length() const noexcept {
    return handle_ >= 0 ? semihosting::length(handle_) : -1;
  }

  // ---- microtl::io::ByteSource ------------------------------------------------------------
  // Fills `out` entirely: truncated when the file ends first, io_error when the host fails
  // or the file is not open.
  [[nodiscard]] microtl::Status read(std::span<std::byte> out) noexcept {
    if (handle_ < 0) {
      return microtl::Status::io_error;
    }
    std::size_t done = 0;
    while (done < out.size()) {
      const long got = semihosting::read(handle_, out.data() + done, out.size() - done);
      if (got < 0) {
        return microtl::Status::io_error;
      }
      if (got == 0) {
        return microtl::Status::truncated;
      }
      done += static_cast<std::size_t>(got);
    }
    return microtl::Status::ok;
  }

 private:
  int handle_ = -1;
};

}  // namespace board
