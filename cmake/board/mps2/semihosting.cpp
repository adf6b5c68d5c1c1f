// Raw semihosting for AArch32 M-profile: operation number in r0, parameter (block
// address) in r1, result in r0, trapped by BKPT 0xAB.
#include "board/semihosting.hpp"

#include <cstring>

namespace board::semihosting {
namespace {

enum Operation : std::uint32_t {
  sys_open = 0x01,
  sys_close = 0x02,
  sys_write0 = 0x04,
  sys_write = 0x05,
  sys_read = 0x06,
  sys_seek = 0x0A,
  sys_remove = 0x0E,
  sys_flen = 0x0C,
  sys_exit_extended = 0x20,
};

constexpr std::uint32_t adp_stopped_application_exit = 0x20026;

std::int32_t call(std::uint32_t operation, const void* parameter) {
  register std::uint32_t r0 __asm("r0") = operation;
  register const void* r1 __asm("r1") = parameter;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return static_cast<std::int32_t>(r0);
}

}  // namespace

void write0(const char* text) {
  call(sys_write0, text);
}

void exit(int status) {
  // SYS_EXIT_EXTENDED carries the status as a sub-code; QEMU exits with it.
  const std::uint32_t block[2] = {adp_stopped_application_exit, static_cast<std::uint32_t>(status)};
  call(sys_exit_extended, block);
  for (;;) {
  }
}

int open(const char* path, OpenMode mode) {
  const std::uint32_t block[3] = {reinterpret_cast<std::uint32_t>(path),
                                  static_cast<std::uint32_t>(mode),
                                  static_cast<std::uint32_t>(std::strlen(path))};
  return call(sys_open, block);
}

int open_read(const char* path) {
  return open(path, OpenMode::rb);
}

long read(int handle, void* buffer, std::size_t size) {
  const std::uint32_t block[3] = {static_cast<std::uint32_t>(handle),
                                  reinterpret_cast<std::uint32_t>(buffer),
                                  static_cast<std::uint32_t>(size)};
  // SYS_READ returns the number of bytes NOT read.
  const std::int32_t not_read = call(sys_read, block);
  if (not_read < 0 || static_cast<std::size_t>(not_read) > size) {
    return -1;
  }
  return static_cast<long>(size - static_cast<std::size_t>(not_read));
}

long write(int handle, const void* buffer, std::size_t size) {
  const std::uint32_t block[3] = {static_cast<std::uint32_t>(handle),
                                  reinterpret_cast<std::uint32_t>(buffer),
                                  static_cast<std::uint32_t>(size)};
  // SYS_WRITE returns the number of bytes NOT written.
  const std::int32_t not_written = call(sys_write, block);
  if (not_written < 0 || static_cast<std::size_t>(not_written) > size) {
    return -1;
  }
  return static_cast<long>(size - static_cast<std::size_t>(not_written));
}

int seek(int handle, std::size_t position) {
  const std::uint32_t block[2] = {static_cast<std::uint32_t>(handle),
                                  static_cast<std::uint32_t>(position)};
  // 0 on success, negative on failure.
  return call(sys_seek, block) == 0 ? 0 : -1;
}

long length(int handle) {
  const std::uint32_t block[1] = {static_cast<std::uint32_t>(handle)};
  const std::int32_t result = call(sys_flen, block);
  return result < 0 ? -1 : static_cast<long>(result);
}

int close(int handle) {
  const std::uint32_t block[1] = {static_cast<std::uint32_t>(handle)};
  return call(sys_close, block);
}

int remove(const char* path) {
  const std::uint32_t block[2] = {reinterpret_cast<std::uint32_t>(path),
                                  static_cast<std::uint32_t>(std::strlen(path))};
  return call(sys_remove, block) == 0 ? 0 : -1;
}

}  // namespace board::semihosting
