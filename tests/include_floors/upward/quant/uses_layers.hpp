// A fixture for scripts/check_includes, never compiled: a header on the quant floor that
// includes a header of the layers floor, which the checker must reject (and only that one:
// the core include goes to a lower floor, the quant include stays on its own).
#pragma once

#include "microtl/core/element.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/qparams.hpp"
