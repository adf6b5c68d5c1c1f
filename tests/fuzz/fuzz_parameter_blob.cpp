// libFuzzer entry point of the parameter_blob harness (harness_parameter_blob.hpp). Built with
// MICROTL_FUZZ=ON and clang (preset fuzz); run by CTest (label fuzz) and scripts/fuzz.
#include "harness_parameter_blob.hpp"

MICROTL_FUZZ_ENTRY_POINT(microtl_fuzz::parameter_blob::run)
