// libFuzzer entry point of the train_step harness (harness_train_step.hpp). Built with
// MICROTL_FUZZ=ON and clang (preset fuzz); run by CTest (label fuzz) and scripts/fuzz.
#include "harness_train_step.hpp"

MICROTL_FUZZ_ENTRY_POINT(microtl_fuzz::train_step::run)
