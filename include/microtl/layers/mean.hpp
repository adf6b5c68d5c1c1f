// Mean: TFLite's MEAN over the height and width of an NHWC image, [H][W][C] -> [C] (what
// Keras' GlobalAveragePooling2D converts to; GlobalAveragePooling1D is the same over a
// one-row image), with an output quantization of its own, as TFLite's int8 MEAN has.
// (GlobalAvgPool2D is TFLite's AVERAGE_POOL_2D over the whole image instead: it keeps the
// input's quantization and rounds differently.)
//
//   float: y[c] = sum_{h, w} x[h][w][c] / (H * W)                 (GlobalAvgPool2D's kernel)
//   int8:  TFLite 2.x's reference QuantizedMeanOrSum, bit-exact (measured on TFLite 2.21):
//     N      = H * W
//     sum[c] = sum_{h, w} x[h][w][c] - z_in * N                    int32
//     y[c]   = clamp(multiply_by_quantized_multiplier(sum[c], M) + z_out, -128, 127)
//     M      = the multiplier of s_in / s_out with 1/N folded in (prepare_mean_s8):
//              (m, e) = quantize_multiplier(s_in / s_out)           (in double)
//              k = min(floor(log2 N), 32, 31 + e)
//              M = ((m * 2^k) / N, e - k)                           (integer division)
//
// Params (int8): MeanParams, made once by prepare_mean_s8(input_scale, output, N), like the
// softmax's. No fused activation, no backward pass (a model trains only after it).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/pooling.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

struct MeanParams {
  quant::QuantizedMultiplier multiplier;  // s_in / s_out / N (see above)
  quant::QuantParams output;              // the output's quantization
};

// The int8 parameters of a Mean over `count` = H * W positions, from the input's scale and
// the output's quantization (setup code: double, as TFLite's Prepare).
constexpr MeanParams prepare_mean_s8(float input_scale, quant::QuantParams output,
                                     std::size_t count) noexcept {
  const quant::QuantizedMultiplier m = quant::quantize_multiplier(
      static_cast<double>(input_scale) / static_cast<double>(output.scale));
  int k = 0;  // floor(log2(count))
  while ((std::uint64_t{1} << (k + 1)) <= count) {
    ++k;
  }
  k = k < 32 ? k : 32;
  k = k < 31 + m.shift ? k : 31 + m.shift;
  const std::int64_t folded = (std::int64_t{m.multiplier} << k) / static_cast<std::int64_t>(count);
  return {{static_cast<std::int32_t>(folded), m.shift - k}, output};
}

namespace layers {

template <ShapeType S, ActivationElement E>
struct MeanLayer : LayerBase<S, E> {
  static_assert(S::rank == 3,
                "microtl::Mean: the input must be height x width x channels (rank 3)");
  static constexpr std::size_t height = S::dim(0);
  static constexpr std::size_t width = S::dim(1);
  static constexpr std::size_t channels = S::dim(2);
  static constexpr std::size_t count = height * width;

  using output_shape = Shape<channels>;
  using Params = std::conditional_t<std::same_as<E, QInt8>, MeanParams, NoParams>;
  static constexpr const char* name = "Mean";

  static quant_info_t<E> forward(const Params& params, input_view_t<MeanLayer> in,
                                 quant_info_t<E> q, output_view_t<MeanLayer> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      kernels::global_avg_pool_f32<height, width, channels>(in.span(), out.span(),
                                                            quant::Activation::none);
      return q;
    } else {
      const std::int8_t* x = in.data();
      std::int8_t* y = out.data();
      const std::int32_t offset = q.zero_point * static_cast<std::int32_t>(count);
      for (std::size_t c = 0; c < channels; ++c) {
        std::int32_t sum = 0;
        for (std::size_t p = 0; p < count; ++p) {
          sum += x[p * channels + c];
        }
        const std::int32_t scaled = quant::multiply_by_quantized_multiplier(
            sum - offset, params.multiplier.multiplier, params.multiplier.shift);
        std::int32_t v = scaled + params.output.zero_point;
        v = v < -128 ? -128 : (v > 127 ? 127 : v);
        y[c] = static_cast<std::int8_t>(v);
      }
      return params.output;
    }
  }
};

}  // namespace layers

struct Mean {
  template <ShapeType S, ActivationElement E>
  using bind = layers::MeanLayer<S, E>;
};

}  // namespace microtl
