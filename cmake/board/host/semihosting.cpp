// Host stand-in for raw semihosting: the same operations on the C library.
#include "board/semihosting.hpp"

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

int open_read(const char* path) {
  for (int i = 0; i < max_files; ++i) {
    if (files[i] == nullptr) {
      files[i] = std::fopen(path, "rb");
      return files[i] != nullptr ? i : -1;
    }
  }
  return -1;
}

long read(int handle, void* buffer, std::size_t size) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr) {
    return -1;
  }
  return static_cast<long>(std::fread(buffer, 1, size, files[handle]));
}

int close(int handle) {
  if (handle < 0 || handle >= max_files || files[handle] == nullptr) {
    return -1;
  }
  const int result = std::fclose(files[handle]);
  files[handle] = nullptr;
  return result;
}

}  // namespace board::semihosting
