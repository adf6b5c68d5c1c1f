// microtl: one include for the whole library. Header-only; nothing to link.
#pragma once

#include "microtl/config.hpp"

#include "microtl/core/arena.hpp"
#include "microtl/core/assert.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/status.hpp"
#include "microtl/core/tensor.hpp"
#include "microtl/core/tensor_view.hpp"
