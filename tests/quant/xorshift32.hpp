// Moved to tests/support/random.hpp (with the random-array helpers). This forwarding header
// stays only for the files still including it by this name (tests/quant/test_qparams.cpp,
// tests/train/test_layer_gradients.cpp, tests/train/test_bias_only_int8.cpp, which are being
// rewritten elsewhere); new code includes "../support/random.hpp". Delete it once nothing
// includes it.
#pragma once

#include "../support/random.hpp"
