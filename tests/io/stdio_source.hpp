// StdioSource: an idx ByteSource over a C FILE*, for tests (on the host, and on the
// Cortex-M targets through newlib's semihosting fopen). The library itself never uses
// stdio: devices use io::SpanSource or a source of their own (board::FileSource streams a
// host file through raw semihosting without a C library).
#pragma once

#include <cstddef>
#include <cstdio>
#include <span>

#include "microtl/core/status.hpp"

namespace microtl_test {

class StdioSource {
 public:
  explicit StdioSource(std::FILE* file) noexcept : file_(file) {}

  [[nodiscard]] microtl::Status read(std::span<std::byte> out) noexcept {
    if (file_ == nullptr) {
      return microtl::Status::io_error;
    }
    const std::size_t got = std::fread(out.data(), 1, out.size(), file_);
    if (got == out.size()) {
      return microtl::Status::ok;
    }
    return std::ferror(file_) != 0 ? microtl::Status::io_error : microtl::Status::truncated;
  }

 private:
  std::FILE* file_;
};

}  // namespace microtl_test
