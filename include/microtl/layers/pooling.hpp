// Pooling layers over NHWC images. In int8 they keep their input's quantization parameters
// (TFLite requires output parameters equal to the input's for these ops).
//
// MaxPool2D<Pool, Stride = Pool, Padding = valid>:  y[oy][ox][c] = max over the window
// AvgPool2D<Pool, Stride = Pool, Padding = valid>:  y[oy][ox][c] = mean over the window's taps
//     inside the input (int8: TFLite's rounding of the mean, half away from zero)
// GlobalAvgPool2D:  [H][W][C] -> [C], the mean over all positions
//
// A following ReLU / ReLU6 is fused (the kernels clamp their output).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/pooling.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/window.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

enum class PoolKind { max, average };

template <ShapeType S, ActivationElement E, PoolKind Kind, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad, quant::Activation A>
struct Pool2DLayer : LayerBase<S, E> {
  static_assert(
      S::rank == 3,
      "microtl::MaxPool2D / AvgPool2D: the input must be height x width x channels (rank 3)");
  static_assert(
      Pad == Padding::same || (PH <= S::dim(0) && PW <= S::dim(1)),
      "microtl::MaxPool2D / AvgPool2D: with Padding::valid the window must fit in the input");

  static constexpr std::size_t height = S::dim(0);
  static constexpr std::size_t width = S::dim(1);
  static constexpr std::size_t channels = S::dim(2);

  using output_shape = Shape<kernels::output_size(height, PH, Stride, Pad),
                             kernels::output_size(width, PW, Stride, Pad), channels>;
  static constexpr const char* name = Kind == PoolKind::max ? "MaxPool2D" : "AvgPool2D";
  // The max pool finds each window's maximum in its input again; the average needs nothing.
  static constexpr bool backward_reads_input = Kind == PoolKind::max;
  static constexpr bool backward_reads_output = output_activation_grad_reads_y<E, A>;

  static quant_info_t<E> forward(const NoParams&, input_view_t<Pool2DLayer> in, quant_info_t<E> q,
                                 output_view_t<Pool2DLayer> out, std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      if constexpr (Kind == PoolKind::max) {
        kernels::max_pool_f32<height, width, channels, PH, PW, Stride, Pad>(in.span(), out.span(),
                                                                            A);
      } else {
        kernels::avg_pool_f32<height, width, channels, PH, PW, Stride, Pad>(in.span(), out.span(),
                                                                            A);
      }
    } else {
      const quant::ActivationRange range = quant::activation_range(A, q);
      if constexpr (Kind == PoolKind::max) {
        kernels::max_pool_s8<height, width, channels, PH, PW, Stride, Pad>(in.span(), out.span(),
                                                                           range);
      } else {
        kernels::avg_pool_s8<height, width, channels, PH, PW, Stride, Pad>(in.span(), out.span(),
                                                                           range);
      }
    }
    return q;
  }

  // g = dy * activation'(y) (in place; for int8, in real units: dy where the output code was
  // not clamped), then
  //   max:     dx[argmax of the window] += g      (the first maximum in scan order)
  //   average: dx[every tap in the input] += g / (number of those taps)
  template <bool InputGrad, GradientSink Sink>
  static void backward(const NoParams&, const ForwardRecord<Pool2DLayer>& forward,
                       TensorView<float, output_shape> dy, TensorView<float, S> dx,
                       const Sink&) noexcept {
    if constexpr (InputGrad) {
      apply_output_activation_grad<Pool2DLayer, A>(forward, dy);
      route(forward.x.data(), dy.data(), dx.data());
    }
  }

 private:
  template <class T>
  static void route(const T* x, const float* g_all, float* dx) noexcept {
    using Rows = kernels::WindowAxis<height, PH, Stride, Pad>;
    using Cols = kernels::WindowAxis<width, PW, Stride, Pad>;
    for (std::size_t i = 0; i < S::size; ++i) {
      dx[i] = 0.0f;
    }
    for (std::size_t oy = 0; oy < Rows::output; ++oy) {
      const int y0 = Rows::origin(oy);
      const int ky_begin = Rows::first_tap(y0);
      const int ky_end = Rows::end_tap(y0);
      for (std::size_t ox = 0; ox < Cols::output; ++ox) {
        const int x0 = Cols::origin(ox);
        const int kx_begin = Cols::first_tap(x0);
        const int kx_end = Cols::end_tap(x0);
        const float* g = g_all + (oy * Cols::output + ox) * channels;
        for (std::size_t c = 0; c < channels; ++c) {
          if constexpr (Kind == PoolKind::max) {
            std::size_t best = 0;
            bool first = true;
            for (int ky = ky_begin; ky < ky_end; ++ky) {
              for (int kx = kx_begin; kx < kx_end; ++kx) {
                const std::size_t at = (static_cast<std::size_t>(y0 + ky) * width +
                                        static_cast<std::size_t>(x0 + kx)) *
                                           channels +
                                       c;
                if (first || x[at] > x[best]) {
                  best = at;
                  first = false;
                }
              }
            }
            dx[best] += g[c];
          } else {
            const auto taps = static_cast<float>((ky_end - ky_begin) * (kx_end - kx_begin));
            const float share = g[c] / taps;
            for (int ky = ky_begin; ky < ky_end; ++ky) {
              for (int kx = kx_begin; kx < kx_end; ++kx) {
                dx[(static_cast<std::size_t>(y0 + ky) * width + static_cast<std::size_t>(x0 + kx)) *
                       channels +
                   c] += share;
              }
            }
          }
        }
      }
    }
  }
};

template <ShapeType S, ActivationElement E, quant::Activation A>
struct GlobalAvgPool2DLayer : LayerBase<S, E> {
  static_assert(S::rank == 3,
                "microtl::GlobalAvgPool2D: the input must be height x width x channels (rank 3)");
  static constexpr std::size_t height = S::dim(0);
  static constexpr std::size_t width = S::dim(1);
  static constexpr std::size_t channels = S::dim(2);

  using output_shape = Shape<channels>;
  static constexpr const char* name = "GlobalAvgPool2D";
  static constexpr bool backward_reads_input = false;
  static constexpr bool backward_reads_output = output_activation_grad_reads_y<E, A>;

  static quant_info_t<E> forward(const NoParams&, input_view_t<GlobalAvgPool2DLayer> in,
                                 quant_info_t<E> q, output_view_t<GlobalAvgPool2DLayer> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      kernels::global_avg_pool_f32<height, width, channels>(in.span(), out.span(), A);
    } else {
      kernels::global_avg_pool_s8<height, width, channels>(in.span(), out.span(),
                                                           quant::activation_range(A, q));
    }
    return q;
  }

  // g = dy * activation'(y) (int8: where the output code was not clamped);
  // dx[h][w][c] = g[c] / (H * W)
  template <bool InputGrad, GradientSink Sink>
  static void backward(const NoParams&, const ForwardRecord<GlobalAvgPool2DLayer>& forward,
                       TensorView<float, output_shape> dy, TensorView<float, S> dx,
                       const Sink&) noexcept {
    if constexpr (InputGrad) {
      apply_output_activation_grad<GlobalAvgPool2DLayer, A>(forward, dy);
      spread(dy.data(), dx.data());
    }
  }

 private:
  static void spread(const float* g, float* dx) noexcept {
    constexpr float inverse_count = 1.0f / static_cast<float>(height * width);
    for (std::size_t p = 0; p < height * width; ++p) {
      for (std::size_t c = 0; c < channels; ++c) {
        dx[p * channels + c] = g[c] * inverse_count;
      }
    }
  }
};

}  // namespace layers

template <std::size_t Pool, std::size_t Stride = Pool, Padding Pad = Padding::valid>
struct MaxPool2D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::Pool2DLayer<S, E, layers::PoolKind::max, Pool, Pool, Stride, Pad, A>;
};

template <std::size_t Pool, std::size_t Stride = Pool, Padding Pad = Padding::valid>
struct AvgPool2D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::Pool2DLayer<S, E, layers::PoolKind::average, Pool, Pool, Stride, Pad, A>;
};

struct GlobalAvgPool2D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::GlobalAvgPool2DLayer<S, E, A>;
};

}  // namespace microtl
