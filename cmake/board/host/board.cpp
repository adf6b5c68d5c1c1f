// Host stand-in for the board API, so that tests, benchmarks and examples build unchanged
// on the development machine. Host timing belongs to the Catch2 benchmarks instead.
#include "board/board.hpp"

namespace board {

const char* core_name() {
  return "host";
}
bool counts_instructions() {
  return false;
}
std::uint64_t instructions() {
  return 0;
}
std::uint64_t InstructionCounter::elapsed() const {
  return 0;
}
void paint_stack() {}
std::size_t stack_peak_since_paint() {
  return 0;
}

}  // namespace board
