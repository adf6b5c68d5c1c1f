// libFuzzer entry point of the idx harness (harness_idx.hpp). Built with
// MICROTL_FUZZ=ON and clang (preset fuzz); run by CTest (label fuzz) and scripts/fuzz.
#include "harness_idx.hpp"

MICROTL_FUZZ_ENTRY_POINT(microtl_fuzz::idx::run)
