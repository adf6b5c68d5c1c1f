// Pooling over a window of samples, on [Length][Channels] inputs (what Conv1D produces):
//
// MaxPool1D<Pool, Stride = Pool, Padding = valid>:  y[o][c] = max over the window's taps
// AvgPool1D<Pool, Stride = Pool, Padding = valid>:  y[o][c] = mean over the window's taps
//     inside the input (int8: TFLite's rounded mean, half away from zero)
//     window of output o: samples o * Stride - pad_before .. + Pool - 1; output length
//     ceil(L / Stride) (same) or (L - Pool) / Stride + 1 (valid)
// GlobalAvgPool1D:  [L][C] -> [C], y[c] = mean over the L samples
//
// float and int8; in int8 the output keeps the input's quantization (TFLite requires it). A
// following ReLU / ReLU6 is fused. Converters express these ops as 2-D pools over a one-row
// image, and so do these layers: each is the 2-D pool of pooling.hpp bound to the image
// [1][L][C] (a 1 x Pool window), which is the same memory as [L][C]. Forward and backward
// (float and int8, gradients in real units) are that layer's, on reshaped views:
//
//   g = dy * activation'(y)        (int8: dy where the output code was not clamped)
//   max:     dx[l][c] = sum of g[o][c] over the windows whose first maximum is sample l
//   average: dx[l][c] = sum of g[o][c] / (real taps of window o) over the windows holding l
//   global:  dx[l][c] = g[c] / L
#pragma once

#include <cstddef>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/pooling.hpp"
#include "microtl/layers/window.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

// The [1][L][C] image of a [L][C] input, with the 1-D layers' own diagnostics (checked before
// the 2-D layer is bound, so that the user reads these, not the 2-D ones).
template <ShapeType S, std::size_t Pool = 1, Padding Pad = Padding::valid>
struct OneRowImage {
  static_assert(S::rank == 2,
                "microtl::MaxPool1D / AvgPool1D / GlobalAvgPool1D: the input must be length x "
                "channels (rank 2); a Reshape before it can make one");
  static constexpr std::size_t length = S::rank == 2 ? S::dims[0] : 1;
  static constexpr std::size_t channels = S::rank == 2 ? S::dims[1] : 1;
  static_assert(Pad == Padding::same || Pool <= length,
                "microtl::MaxPool1D / AvgPool1D: with Padding::valid the window must fit in the "
                "input");
  using shape = Shape<1, length, channels>;
};

// A layer over S that is the 2-D layer Image over the one-row image of S: Image's forward and
// backward on views of the same memory, with Out as the output shape.
template <class Image, ShapeType S, ShapeType Out>
struct OnOneRow {
  static_assert(Image::input_shape::size == S::size && Image::output_shape::size == Out::size);

  using input_shape = S;
  using output_shape = Out;
  using input_element = typename Image::input_element;
  using output_element = typename Image::output_element;
  using Params = typename Image::Params;
  static constexpr std::size_t scratch_bytes = Image::scratch_bytes;
  static constexpr OutputPlacement placement = Image::placement;

  static quant_info_t<input_element> forward(const Params& params, input_view_t<OnOneRow> in,
                                             quant_info_t<input_element> q,
                                             output_view_t<OnOneRow> out,
                                             std::span<std::byte> scratch) noexcept {
    return Image::forward(params, in.template reshape<typename Image::input_shape>(), q,
                          out.template reshape<typename Image::output_shape>(), scratch);
  }

  static constexpr std::size_t backward_saved_bytes = Image::backward_saved_bytes;
  static constexpr bool backward_reads_input = backward_reads_input_v<Image>;
  static constexpr bool backward_reads_output = backward_reads_output_v<Image>;
  template <bool InputGrad, GradientSink Sink>
  static void backward(const Params& params, const ForwardRecord<OnOneRow>& forward,
                       TensorView<float, Out> dy, TensorView<float, S> dx,
                       const Sink& sink) noexcept {
    const ForwardRecord<Image> image{
        forward.x.template reshape<typename Image::input_shape>(), forward.x_quant,
        forward.y.template reshape<typename Image::output_shape>(), forward.y_quant, forward.saved};
    Image::template backward<InputGrad>(params, image,
                                        dy.template reshape<typename Image::output_shape>(),
                                        dx.template reshape<typename Image::input_shape>(), sink);
  }
};

template <ShapeType S, ActivationElement E, PoolKind Kind, std::size_t Pool, std::size_t Stride,
          Padding Pad, quant::Activation A>
struct Pool1DLayer
    : OnOneRow<
          Pool2DLayer<typename OneRowImage<S, Pool, Pad>::shape, E, Kind, 1, Pool, Stride, Pad, A>,
          S,
          Shape<kernels::output_size(OneRowImage<S, Pool, Pad>::length, Pool, Stride, Pad),
                OneRowImage<S, Pool, Pad>::channels>> {
  static constexpr const char* name = Kind == PoolKind::max ? "MaxPool1D" : "AvgPool1D";
};

template <ShapeType S, ActivationElement E, quant::Activation A>
struct GlobalAvgPool1DLayer : OnOneRow<GlobalAvgPool2DLayer<typename OneRowImage<S>::shape, E, A>,
                                       S, Shape<OneRowImage<S>::channels>> {
  static constexpr const char* name = "GlobalAvgPool1D";
};

}  // namespace layers

template <std::size_t Pool, std::size_t Stride = Pool, Padding Pad = Padding::valid>
struct MaxPool1D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::Pool1DLayer<S, E, layers::PoolKind::max, Pool, Stride, Pad, A>;
};

template <std::size_t Pool, std::size_t Stride = Pool, Padding Pad = Padding::valid>
struct AvgPool1D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::Pool1DLayer<S, E, layers::PoolKind::average, Pool, Stride, Pad, A>;
};

struct GlobalAvgPool1D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::GlobalAvgPool1DLayer<S, E, A>;
};

}  // namespace microtl
