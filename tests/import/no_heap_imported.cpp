// A firmware that runs a model scripts/import generated (the sample of
// tools/microtl_import/tests/make_sample.py): cmake/CheckNoHeap.cmake proves that it links no
// allocation or exception machinery, and the program checks one output against TFLite's.
#include <array>
#include <cstdint>

#include "board/semihosting.hpp"
#include "imported_sample.hpp"

namespace {

constinit const imported_sample::Model model = imported_sample::make_model();
imported_sample::Model::InferenceArena arena;

}  // namespace

int main() {
  // Sample 0 of tests/import/test_import_sample.cpp: x[i] = 37 i mod 256 - 128.
  std::array<std::int8_t, 16> x{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<std::int8_t>(static_cast<int>((i * 37) % 256) - 128);
  }
  const auto y = model.forward(imported_sample::Model::input_view(x), arena);
  const bool right =
      y.values.data()[0] == -40 && y.values.data()[1] == -47 && y.values.data()[2] == -40;
  board::semihosting::write0(right ? "no_heap_imported: ok\n" : "no_heap_imported: WRONG\n");
  return right ? 0 : 1;
}
