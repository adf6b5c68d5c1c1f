// Host stand-in for raw semihosting: the same operations on the C library.
#include "board/semihosting.hpp"

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace board::semihosting {
namespace {
constexpr int max_files = 8;
std::FILE* files[max_files] = {};
}  // namespace

void write0(const char* text) {
  std::fputs(text, stdout);
}

void exit(int status) {
  std::fflush(stdout);
  std::exit(status);
}

int open(const char* path, OpenMode mode) {
  // The semihosting mode table, in order.
  static const char* const modes[12] = {"r",  "rb",  "r+", "r+b", "w",  "wb",
                                        "w+", "w+b", "a",  "ab",  "a+", "a+b"};
  const auto index = static_cast<std::uint32_t>(mode);
  if (index >= 12) {
    return -1;
  }
  for (int i = 0; i < max_files; ++i) {
    if (files[i] == nullptr) {
      files[i] = std::fopen(path, modes[index]);
      return files[i] != nullptr ? i : -1;
    }
  }
  return -1;
}

int open_read(const char* path) {
  return open(path, OpenMode::rb);
}

long read(int handle, void* buffer, std::size_t size) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr) {
    return -1;
  }
  return static_cast<long>(std::fread(buffer, 1, size, files[handle]));
}

long write(int handle, const void* buffer, std::size_t size) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr) {
    return -1;
  }
  return static_cast<long>(std::fwrite(buffer, 1, size, files[handle]));
}

int seek(int handle, std::size_t position) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr ||
      position > static_cast<std::size_t>(LONG_MAX)) {
    return -1;
  }
  // Like SYS_SEEK: no seeking past the end. (fseek also makes the next read or write safe
  // after the other kind of operation, as C stdio requires on "r+b" / "w+b" streams.)
  const long end = length(handle);
  if (end < 0 || static_cast<std::size_t>(end) < position) {
    return -1;
  }
  return std::fseek(files[handle], static_cast<long>(position), SEEK_SET) == 0 ? 0 : -1;
}

long length(int handle) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr) {
    return -1;
  }
  std::FILE* file = files[handle];
  const long here = std::ftell(file);
  if (here < 0 || std::fseek(file, 0, SEEK_END) != 0) {
    return -1;
  }
  const long end = std::ftell(file);
  if (std::fseek(file, here, SEEK_SET) != 0) {
    return -1;
  }
  return end;
}

int close(int handle) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr) {
    return -1;
  }
  const int result = std::fclose(files[handle]);
  files[handle] = nullptr;
  return result;
}

int remove(const char* path) {
  return std::remove(path) == 0 ? 0 : -1;
}

}  // namespace board::semihosting
