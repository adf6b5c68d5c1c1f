// doctest's implementation and main(), compiled once per configuration.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "board/board.hpp"

int main(int argc, char** argv) {
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  // One line that says where the tests ran: CTest's log shows the QEMU runs.
  std::printf("microtl tests on %s\n", board::core_name());
  const int failures = context.run();
  return failures == 0 ? 0 : 1;
}
