// Output sizes and padding of sliding windows: TFLite's ComputeOutSize and
// ComputePaddingHeightWidth (dilation 1).
#include <doctest/doctest.h>

#include "microtl/kernels/padding.hpp"

namespace {

using microtl::kernels::output_size;
using microtl::kernels::Padding;
using microtl::kernels::padding_before;

// Everything is a constant expression: output extents are part of the kernels' span types.
static_assert(output_size(28, 3, 1, Padding::same) == 28);
static_assert(output_size(28, 3, 1, Padding::valid) == 26);

}  // namespace

// TFLite rule: SAME gives out = ceil(in / stride), VALID gives out = (in - k) / stride + 1.
TEST_CASE("output_size: same and valid, strides 1 and 2") {
  CHECK(output_size(5, 3, 1, Padding::same) == 5);
  CHECK(output_size(5, 3, 2, Padding::same) == 3);   // ceil(5 / 2)
  CHECK(output_size(4, 3, 2, Padding::same) == 2);   // ceil(4 / 2)
  CHECK(output_size(5, 3, 1, Padding::valid) == 3);  // (5 - 3) / 1 + 1
  CHECK(output_size(5, 3, 2, Padding::valid) == 2);  // (5 - 3) / 2 + 1
  CHECK(output_size(4, 3, 2, Padding::valid) == 1);  // (4 - 3) / 2 + 1 = 0 + 1
  CHECK(output_size(4, 2, 2, Padding::valid) == 2);
  CHECK(output_size(2, 3, 1, Padding::valid) == 0);  // kernel larger than input
}

// TFLite rule: pad_total = max((out - 1) * stride + k - in, 0), pad_before = pad_total / 2
// (the odd tap goes after).
TEST_CASE("padding_before: half of the total, rounded down") {
  // in 5, k 3, stride 1: out 5, total (5 - 1) + 3 - 5 = 2, before 1.
  CHECK(padding_before(5, 3, 1, Padding::same) == 1);
  // in 5, k 3, stride 2: out 3, total 2 * 2 + 3 - 5 = 2, before 1.
  CHECK(padding_before(5, 3, 2, Padding::same) == 1);
  // in 4, k 3, stride 2: out 2, total 2 + 3 - 4 = 1, before 0 (one tap after).
  CHECK(padding_before(4, 3, 2, Padding::same) == 0);
  // in 3, k 2, stride 1: out 3, total 2 + 2 - 3 = 1, before 0.
  CHECK(padding_before(3, 2, 1, Padding::same) == 0);
  // in 7, k 5, stride 1: total 4, before 2.
  CHECK(padding_before(7, 5, 1, Padding::same) == 2);
  // in 4, k 2, stride 2: out 2, total 2 + 2 - 4 = 0.
  CHECK(padding_before(4, 2, 2, Padding::same) == 0);
  // VALID never pads.
  CHECK(padding_before(5, 3, 1, Padding::valid) == 0);
  CHECK(padding_before(5, 3, 2, Padding::valid) == 0);
}
