// Start-up code of the firmware example (Cortex-M4F, nRF52840 memory, runs in QEMU mps2-an386).
//
// Reset_Handler: enable the FPU, copy .data from flash, zero .bss, open the semihosting
// console, run the static constructors, call main, and leave through exit(), which flushes
// stdout and hands main's value to the debugger (QEMU exits with it).
// On a real board: keep the FPU, .data/.bss and constructor steps; replace the console and
// the exit (a UART and a reset or sleep loop, see README "Using microtl in your firmware").
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
// Defined by nrf52840.ld.
extern std::uint32_t __stack_top;
extern std::uint32_t __data_load__;
extern std::uint32_t __data_start__;
extern std::uint32_t __data_end__;
extern std::uint32_t __bss_start__;
extern std::uint32_t __bss_end__;
extern char __heap_start[];
extern char __heap_end[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

// C++ may not call main itself; this names the same symbol.
int application_main() __asm("main");
void initialise_monitor_handles();  // librdimon (--specs=rdimon.specs): semihosting stdio
void Reset_Handler();
void Fault_Handler();
void* _sbrk(std::ptrdiff_t increment);
}

namespace {

// A semihosting call: the operation in r0, its parameter block in r1, trapped by BKPT 0xAB.
// Only the two the fault handlers need; newlib's librdimon does the rest.
std::uint32_t semihosting(std::uint32_t operation, const void* parameter) {
  register std::uint32_t r0 __asm("r0") = operation;
  register const void* r1 __asm("r1") = parameter;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void console_write(const char* text) {
  semihosting(0x04, text);  // SYS_WRITE0: a NUL-terminated string to the console
}

[[noreturn]] void semihosting_exit(std::uint32_t status) {
  // SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit: QEMU exits with `status`.
  const std::uint32_t block[2] = {0x20026u, status};
  semihosting(0x20, block);
  for (;;) {
  }
}

// stdout's buffer: static, so that printf never asks for a heap.
char stdout_buffer[128];

// Set once the C library is set up: from then on a heap request is the program's, and shows.
bool program_started = false;
char* heap_next = nullptr;

}  // namespace

using Handler = void (*)();

// The vector table: initial stack pointer, reset, and the 14 other system exceptions
// (0: reserved). An nRF52840 has 48 peripheral interrupts after these; add their handlers
// here when the firmware uses them.
extern "C" __attribute__((section(".isr_vector"), used)) const Handler vector_table[16] = {
    reinterpret_cast<Handler>(&__stack_top),
    Reset_Handler,
    Fault_Handler,  // NMI
    Fault_Handler,  // HardFault
    Fault_Handler,  // MemManage
    Fault_Handler,  // BusFault
    Fault_Handler,  // UsageFault
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    Fault_Handler,  // SVCall
    Fault_Handler,  // DebugMonitor
    nullptr,
    Fault_Handler,  // PendSV
    Fault_Handler,  // SysTick
};

extern "C" void Reset_Handler() {
  // The FPU first: CPACR (0xE000ED88) full access to coprocessors 10 and 11. Until this runs,
  // any floating-point instruction faults, and the compiler may use them anywhere.
  volatile std::uint32_t& cpacr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED88u);
  cpacr = cpacr | (0xFu << 20);
  __asm volatile("dsb\n\tisb" ::: "memory");

  const auto bytes = [](const std::uint32_t* begin, const std::uint32_t* end) {
    return static_cast<std::size_t>(end - begin) * sizeof(std::uint32_t);
  };
  std::memcpy(&__data_start__, &__data_load__, bytes(&__data_start__, &__data_end__));
  std::memset(&__bss_start__, 0, bytes(&__bss_start__, &__bss_end__));

  initialise_monitor_handles();  // (allocates stdio structures: the start-up heap)
  std::setvbuf(stdout, stdout_buffer, _IOLBF, sizeof(stdout_buffer));
  program_started = true;

  for (auto* constructor = __init_array_start; constructor != __init_array_end; ++constructor) {
    (*constructor)();
  }
  std::exit(application_main());
}

// A fault ends the program with a visible failure (status 3), never a hang.
extern "C" void Fault_Handler() {
  console_write("firmware: fault or unexpected exception\n");
  semihosting_exit(3);
}

// The heap: newlib's stdio set-up only (nrf52840.ld). Once the program starts, every request
// is refused and said so: microtl never allocates, and a malloc or new in the program shows.
// (newlib's printf asks for heap to format %f: that fails here; print fixed point.)
extern "C" void* _sbrk(std::ptrdiff_t increment) {
  if (heap_next == nullptr) {
    heap_next = __heap_start;
  }
  if (program_started || increment > __heap_end - heap_next ||
      increment < __heap_start - heap_next) {
    console_write(program_started
                      ? "firmware: heap request refused (_sbrk): this firmware has no heap\n"
                      : "firmware: the C library's start-up heap is too small (nrf52840.ld)\n");
    errno = ENOMEM;
    return reinterpret_cast<void*>(-1);
  }
  char* const previous = heap_next;
  heap_next += increment;
  return previous;
}
