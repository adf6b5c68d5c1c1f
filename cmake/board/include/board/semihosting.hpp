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

// Opens a host file for binary reading; returns a handle, or -1.
int open_read(const char* path);
// Reads up to `size` bytes; returns the number of bytes read (0 at end of file), or -1.
long read(int handle, void* buffer, std::size_t size);
// Closes a handle; returns 0 on success.
int close(int handle);

}  // namespace board::semihosting
