// Output size and padding of sliding-window ops (convolution, depthwise convolution, pooling),
// computed like TFLite's ComputeOutSize / ComputePaddingHeightWidth (dilation 1).
//
//   same:  out = ceil(in / stride)                 the output covers every input position
//   valid: out = floor((in - kernel) / stride) + 1 the window never leaves the input
//   pad_total  = max((out - 1) * stride + kernel - in, 0)
//   pad_before = pad_total / 2                     the odd extra tap goes after (bottom/right)
//
// Window origin of output position o: o * stride - pad_before. Taps that land outside the
// input are padding: they contribute nothing (TFLite skips them, it does not read zeros).
//
// The walk over the windows and their taps, written once for every kernel (for_each_window,
// for_each_output, Window::for_each_tap / for_each_value), is force-inlined: the kernels
// compile as if the loops were written out in each of them.
#pragma once

#include <cstddef>
#include <cstdint>

// A helper that must compile as if written out in its caller (the kernels' loops).
// MICROTL_KERNEL_LAMBDA: the same for a lambda, after its parameter list.
#if defined(__GNUC__)
#define MICROTL_KERNEL_INLINE [[gnu::always_inline]] inline
#define MICROTL_KERNEL_LAMBDA __attribute__((always_inline))
#else
#define MICROTL_KERNEL_INLINE inline
#define MICROTL_KERNEL_LAMBDA
#endif

namespace microtl::kernels {

// Tells the compiler that a point is never reached (the kernels' helpers state what their
// callers guarantee).
[[noreturn]] inline void unreachable() noexcept {
#if defined(__GNUC__)
  __builtin_unreachable();
#elif defined(_MSC_VER)
  __assume(false);
#endif
}

enum class Padding : std::uint8_t { same, valid };

// Number of output positions along one axis.
constexpr std::size_t output_size(std::size_t input, std::size_t kernel, std::size_t stride,
                                  Padding padding) noexcept {
  if (padding == Padding::same) {
    return (input + stride - 1) / stride;
  }
  return input >= kernel ? (input - kernel) / stride + 1 : 0;
}

// Padding taps before the first input position along one axis.
constexpr std::size_t padding_before(std::size_t input, std::size_t kernel, std::size_t stride,
                                     Padding padding) noexcept {
  const std::size_t out = output_size(input, kernel, stride, padding);
  if (out == 0) {
    return 0;
  }
  const std::size_t covered = (out - 1) * stride + kernel;
  return covered > input ? (covered - input) / 2 : 0;
}

// Number of elements of an NHWC output (one image) of a 2-D sliding-window op.
constexpr std::size_t output_elements(std::size_t height, std::size_t width,
                                      std::size_t kernel_height, std::size_t kernel_width,
                                      std::size_t stride, Padding padding,
                                      std::size_t channels) noexcept {
  return output_size(height, kernel_height, stride, padding) *
         output_size(width, kernel_width, stride, padding) * channels;
}

// The window of one output position along one axis: tap k reads input index origin + k, and
// the taps [first, end) are the ones inside the input (first > 0 in the padding before the
// input, end < kernel in the padding after it).
struct WindowSpan {
  int origin;
  int first;
  int end;

  MICROTL_KERNEL_INLINE constexpr int taps() const noexcept { return end - first; }
};

// The geometry of one spatial axis, as signed values for the index arithmetic of the loops.
template <std::size_t Input, std::size_t Kernel, std::size_t Stride, Padding Pad>
struct WindowAxis {
  static_assert(Input >= 1 && Kernel >= 1, "extents must be at least 1");
  static_assert(Stride >= 1, "stride must be at least 1");
  static_assert(output_size(Input, Kernel, Stride, Pad) >= 1,
                "valid padding needs a kernel no larger than the input");

  static constexpr std::size_t output = output_size(Input, Kernel, Stride, Pad);
  static constexpr int input = static_cast<int>(Input);
  static constexpr int kernel = static_cast<int>(Kernel);
  static constexpr int stride = static_cast<int>(Stride);
  static constexpr int pad_before = static_cast<int>(padding_before(Input, Kernel, Stride, Pad));

  // First input index of the window of output position `out` (negative inside padding).
  MICROTL_KERNEL_INLINE static constexpr int origin(std::size_t out) noexcept {
    return static_cast<int>(out) * stride - pad_before;
  }
  // The taps [first_tap, end_tap) of that window that fall inside the input.
  MICROTL_KERNEL_INLINE static constexpr int first_tap(int origin) noexcept {
    return origin < 0 ? -origin : 0;
  }
  MICROTL_KERNEL_INLINE static constexpr int end_tap(int origin) noexcept {
    return input - origin < kernel ? input - origin : kernel;
  }
  // The window that starts at input index `origin`, and the window of output position `out`.
  MICROTL_KERNEL_INLINE static constexpr WindowSpan span(int origin) noexcept {
    return {origin, first_tap(origin), end_tap(origin)};
  }
  MICROTL_KERNEL_INLINE static constexpr WindowSpan window(std::size_t out) noexcept {
    return span(origin(out));
  }

  // `window`, telling the compiler what holds for the window of an output position: its
  // origin is in [origin(0), origin(output - 1)], it has 1 to `kernel` taps inside the input,
  // the first at most pad_before. Inside a visitor (a lambda the walks below call), the
  // compiler would not know it when it estimates the loops over the taps, and its estimates
  // steer its register allocation and unrolling. (Same padding never leaves a window without
  // a tap inside the input: the padding on either side is smaller than the kernel.)
  MICROTL_KERNEL_INLINE static constexpr WindowSpan assume_window(WindowSpan window) noexcept {
    if (window.origin < -pad_before ||
        window.origin > static_cast<int>(output - 1) * stride - pad_before || window.first < 0 ||
        window.first > pad_before || window.end > kernel || window.end <= window.first) {
      unreachable();
    }
    return window;
  }

  // The output positions whose first `taps` input indices from the origin all lie inside the
  // input, [inside_begin(), inside_end(taps)): the ones before start in the padding, the ones
  // after reach past the input's end (origins grow with the position).
  static constexpr std::size_t inside_begin() noexcept {
    std::size_t out = 0;
    while (out < output && origin(out) < 0) {
      ++out;
    }
    return out;
  }
  static constexpr std::size_t inside_end(int taps) noexcept {
    std::size_t out = inside_begin();
    while (out < output && origin(out) + taps <= input) {
      ++out;
    }
    return out;
  }
};

// The window of one output position (y, x) of a 2-D sliding-window op; Rows and Cols are the
// WindowAxis of the height and of the width. Made by for_each_window: its spans are those of
// an output position (Rows::window(y), Cols::window(x)), as rows() and cols() assume.
template <typename Rows, typename Cols>
struct Window {
  WindowSpan row_span;  // Rows::window(y)
  WindowSpan col_span;  // Cols::window(x)

  // The spans, with what the compiler is told about them (WindowAxis::assume_window).
  MICROTL_KERNEL_INLINE constexpr WindowSpan rows() const noexcept {
    return Rows::assume_window(row_span);
  }
  MICROTL_KERNEL_INLINE constexpr WindowSpan cols() const noexcept {
    return Cols::assume_window(col_span);
  }

  // The number of taps inside the input.
  MICROTL_KERNEL_INLINE constexpr int taps() const noexcept {
    return rows().taps() * cols().taps();
  }

  // Calls visit(tap, pixel) for each tap (ky, kx) of the window inside the input, row by row:
  //
  //   tap = ky * KW + kx          the tap's index in the [KH][KW] kernel
  //   pixel = iy * W + ix         the input position it reads, iy = rows().origin + ky,
  //                               ix = cols().origin + kx (W = input width)
  template <typename Visit>
  MICROTL_KERNEL_INLINE constexpr void for_each_tap(Visit&& visit) const noexcept {
    constexpr auto kernel_width = static_cast<std::size_t>(Cols::kernel);
    constexpr auto input_width = static_cast<std::size_t>(Cols::input);
    const WindowSpan r = rows();
    const WindowSpan c = cols();
    for (int ky = r.first; ky < r.end; ++ky) {
      const auto iy = static_cast<std::size_t>(r.origin + ky);
      for (int kx = c.first; kx < c.end; ++kx) {
        const auto ix = static_cast<std::size_t>(c.origin + kx);
        visit(static_cast<std::size_t>(ky) * kernel_width + static_cast<std::size_t>(kx),
              iy * input_width + ix);
      }
    }
  }

  // The same when each tap is Depth consecutive values, of a [KH][KW][Depth] kernel and of
  // the [H][W][Depth] input (a convolution's input channels): visit(k, i) for each tap inside
  // the input and each d < Depth, with
  //
  //   k = tap * Depth + d,   i = pixel * Depth + d.
  //
  // The values of one kernel row inside the input are consecutive in both: one loop per row
  // over its cols().taps() * Depth values.
  template <std::size_t Depth, typename Visit>
  MICROTL_KERNEL_INLINE constexpr void for_each_value(Visit&& visit) const noexcept {
    constexpr auto kernel_width = static_cast<std::size_t>(Cols::kernel);
    constexpr auto input_width = static_cast<std::size_t>(Cols::input);
    const WindowSpan r = rows();
    const WindowSpan c = cols();
    const std::size_t run = static_cast<std::size_t>(c.taps()) * Depth;
    // The values of row ky inside the input: k from (ky * KW + first column) * Depth and i
    // from (iy * W + ix of that column) * Depth, `run` of them.
    for (int ky = r.first; ky != r.end; ++ky) {
      const std::size_t k =
          (static_cast<std::size_t>(ky) * kernel_width + static_cast<std::size_t>(c.first)) * Depth;
      const std::size_t i = (static_cast<std::size_t>(r.origin + ky) * input_width +
                             static_cast<std::size_t>(c.origin + c.first)) *
                            Depth;
      for (std::size_t j = 0; j != run; ++j) {
        visit(k + j, i + j);
      }
    }
  }
};

// Calls visit(window) for each output position of a 2-D sliding-window op, in row-major
// order (the order of an NHWC output), with the Window<Rows, Cols> of that position.
template <typename Rows, typename Cols, typename Visit>
MICROTL_KERNEL_INLINE constexpr void for_each_window(Visit&& visit) noexcept {
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const WindowSpan rows = Rows::window(y);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      visit(Window<Rows, Cols>{rows, Cols::window(x)});
    }
  }
}

// Every element of the NHWC output [OH][OW][Channels] of a 2-D sliding-window op, in memory
// order from `out`: *out++ = element(window, c) for each output position and each channel c.
template <typename Rows, typename Cols, std::size_t Channels, typename T, typename Element>
MICROTL_KERNEL_INLINE constexpr void for_each_output(T* out, Element&& element) noexcept {
  for_each_window<Rows, Cols>([&](Window<Rows, Cols> window) MICROTL_KERNEL_LAMBDA {
    for (std::size_t c = 0; c < Channels; ++c) {
      *out++ = element(window, c);
    }
  });
}

}  // namespace microtl::kernels
