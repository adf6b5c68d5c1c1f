// The int8 kernel cases (six single kernels, the demo's third convolution, and the demo's
// whole int8 feature extractor) shared by the on-target benchmark (instruction counts in QEMU)
// and the host benchmark (Catch2 timings). Each case owns static buffers (in .bss, never on
// the stack) that bench_setup() fills with deterministic pseudo-random data. Case::run makes
// exactly one call of the kernel on them, through the wrapper `bench_<case>`: an extern "C"
// function that is never inlined and holds the whole kernel instance, so that
// `arm-none-eabi-nm -S` gives each kernel's code size under a plain symbol name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace microtl_bench {

struct Case {
  const char* name;
  std::uint32_t macs;                   // every tap counted, padded or not (as CMSIS-NN does)
  void (*run)();                        // one call of the kernel (bench_<case>)
  std::span<const std::int8_t> output;  // what the call writes
};

// Fills every input, weight, bias and multiplier; call once before running any case.
void bench_setup();

// The cases, in the order they are reported.
std::span<const Case> bench_cases();

// A cheap plausibility check of a case's output after a run: false if every output code is
// the same (a kernel that wrote nothing, or requantized everything to one clamp value).
bool output_varies(const Case& c);

}  // namespace microtl_bench
