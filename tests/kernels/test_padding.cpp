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

// The window walk of the kernels (for_each_window, Window::for_each_tap / for_each_value,
// WindowAxis::inside_begin / inside_end) against a brute-force enumeration of every tap of
// every window, kept when it falls inside the input.
namespace {

using microtl::kernels::for_each_output;
using microtl::kernels::for_each_window;
using microtl::kernels::Window;
using microtl::kernels::WindowAxis;

// What one window visits, in order: (k, i) pairs, up to 5 x 5 taps x 3 values.
struct Visits {
  std::size_t count = 0;
  std::size_t k[75] = {};
  std::size_t i[75] = {};

  constexpr void add(std::size_t weight_index, std::size_t input_index) {
    k[count] = weight_index;
    i[count] = input_index;
    ++count;
  }
  constexpr bool operator==(const Visits& other) const {
    if (count != other.count) {
      return false;
    }
    for (std::size_t n = 0; n < count; ++n) {
      if (k[n] != other.k[n] || i[n] != other.i[n]) {
        return false;
      }
    }
    return true;
  }
};

// True when, for every output position (in row-major order), for_each_value<Depth> visits what
// the brute force finds, and for_each_tap the same with Depth = 1.
template <std::size_t H, std::size_t W, std::size_t KH, std::size_t KW, std::size_t Stride,
          Padding Pad, std::size_t Depth>
constexpr bool walk_matches_brute_force() {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  const int pad_top = static_cast<int>(padding_before(H, KH, Stride, Pad));
  const int pad_left = static_cast<int>(padding_before(W, KW, Stride, Pad));
  bool same = true;
  std::size_t position = 0;
  for_each_window<Rows, Cols>([&](const Window<Rows, Cols>& window) {
    const std::size_t y = position / Cols::output;
    const std::size_t x = position % Cols::output;
    ++position;
    Visits expected_values;
    Visits expected_taps;
    for (std::size_t ky = 0; ky < KH; ++ky) {
      for (std::size_t kx = 0; kx < KW; ++kx) {
        const int iy = static_cast<int>(y * Stride + ky) - pad_top;
        const int ix = static_cast<int>(x * Stride + kx) - pad_left;
        if (iy < 0 || iy >= static_cast<int>(H) || ix < 0 || ix >= static_cast<int>(W)) {
          continue;
        }
        const std::size_t tap = ky * KW + kx;
        const std::size_t pixel = static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix);
        expected_taps.add(tap, pixel);
        for (std::size_t d = 0; d < Depth; ++d) {
          expected_values.add(tap * Depth + d, pixel * Depth + d);
        }
      }
    }
    Visits values;
    window.template for_each_value<Depth>([&](std::size_t k, std::size_t i) { values.add(k, i); });
    Visits taps;
    window.for_each_tap([&](std::size_t tap, std::size_t pixel) { taps.add(tap, pixel); });
    same = same && values == expected_values && taps == expected_taps &&
           window.taps() == static_cast<int>(expected_taps.count);
  });
  return same && position == Rows::output * Cols::output;
}

// [inside_begin(), inside_end(taps)) against the positions whose `taps` indices from the
// origin are all inside the input (origins grow, so those positions are consecutive).
template <std::size_t In, std::size_t K, std::size_t Stride, Padding Pad>
constexpr bool inside_range_matches(int taps) {
  using Axis = WindowAxis<In, K, Stride, Pad>;
  for (std::size_t out = 0; out < Axis::output; ++out) {
    const bool inside = Axis::origin(out) >= 0 && Axis::origin(out) + taps <= Axis::input;
    const bool in_range = out >= Axis::inside_begin() && out < Axis::inside_end(taps);
    if (inside != in_range) {
      return false;
    }
  }
  return true;
}

// The walk is usable in constant expressions.
static_assert(walk_matches_brute_force<5, 4, 3, 3, 1, Padding::same, 2>());
static_assert(inside_range_matches<9, 3, 2, Padding::same>(4));

}  // namespace

TEST_CASE("window walk: the taps inside the input of every window, in order") {
  CHECK(walk_matches_brute_force<5, 5, 3, 3, 1, Padding::same, 1>());
  CHECK(walk_matches_brute_force<5, 7, 3, 3, 2, Padding::same, 3>());
  CHECK(walk_matches_brute_force<4, 6, 3, 2, 2, Padding::same, 2>());
  CHECK(walk_matches_brute_force<2, 3, 5, 5, 1, Padding::same, 1>());  // kernel wider than input
  CHECK(walk_matches_brute_force<7, 6, 5, 3, 3, Padding::same, 2>());
  CHECK(walk_matches_brute_force<6, 6, 2, 2, 2, Padding::valid, 3>());
  CHECK(walk_matches_brute_force<7, 5, 3, 1, 2, Padding::valid, 1>());
  CHECK(walk_matches_brute_force<1, 9, 1, 4, 1, Padding::same, 2>());  // 1-D
}

TEST_CASE("window walk: the output positions whose first taps are all inside the input") {
  CHECK(inside_range_matches<28, 3, 1, Padding::same>(4));
  CHECK(inside_range_matches<14, 3, 1, Padding::same>(3));
  CHECK(inside_range_matches<9, 3, 2, Padding::same>(3));
  CHECK(inside_range_matches<3, 3, 1, Padding::same>(4));  // none inside
  CHECK(inside_range_matches<12, 5, 2, Padding::valid>(5));
  CHECK(inside_range_matches<2, 5, 1, Padding::same>(5));
}

TEST_CASE("for_each_output: every element in NHWC order") {
  using Rows = WindowAxis<3, 2, 1, Padding::valid>;  // 2 output rows
  using Cols = WindowAxis<4, 3, 1, Padding::valid>;  // 2 output columns
  // Element (y, x, c) of the [2][2][3] output is 100 y + 10 x + c.
  int output[2 * 2 * 3] = {};
  for_each_output<Rows, Cols, 3>(output, [](const Window<Rows, Cols>& window, std::size_t c) {
    return 100 * window.rows().origin + 10 * window.cols().origin + static_cast<int>(c);
  });
  for (int n = 0; n < 12; ++n) {
    CHECK(output[n] == 100 * (n / 6) + 10 * (n / 3 % 2) + n % 3);
  }
}
