// Raw Arm semihosting calls (BKPT 0xAB in Thumb state), for programs that link no C
// library I/O: the zero-heap proof and any firmware that wants to stream a host file
// without newlib. See Arm's "Semihosting for AArch32 and AArch64" for the operation
// numbers used here. Under QEMU they need `-semihosting-config enable=on`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace board::semihosting {

// Writes a NUL-terminated string to the debugger console (QEMU's stdout).
void write0(const char* text);

// Ends the program; QEMU exits with `status` as its exit code.
[[noreturn]] void exit(int status);

// SYS_OPEN's mode numbers: the index of the equivalent fopen() mode in this table.
enum class OpenMode : std::uint32_t {
  r = 0,
  rb = 1,
  r_plus = 2,
  r_plus_b = 3,  // "r+b": read and write an existing file
  w = 4,
  wb = 5,
  w_plus = 6,
  w_plus_b = 7,  // "w+b": create (or truncate), read and write
  a = 8,
  ab = 9,
  a_plus = 10,
  a_plus_b = 11,
};

// Opens a host file; returns a handle, or -1 (for example "r+b" on a missing file).
int open(const char* path, OpenMode mode);
// Opens a host file for binary reading; returns a handle, or -1.
int open_read(const char* path);
// Reads up to `size` bytes; returns the number of bytes read (0 at end of file), or -1.
long read(int handle, void* buffer, std::size_t size);
// Writes `size` bytes; returns the number of bytes written (less means a failure), or -1.
long write(int handle, const void* buffer, std::size_t size);
// Moves to byte `position` from the start of the file; returns 0 on success, or -1.
// (SYS_SEEK cannot move past the end of the file: extend it by writing.)
int seek(int handle, std::size_t position);
// The file's length in bytes, or -1.
long length(int handle);
// Closes a handle; returns 0 on success.
int close(int handle);
// Deletes a host file; returns 0 on success.
int remove(const char* path);

}  // namespace board::semihosting
