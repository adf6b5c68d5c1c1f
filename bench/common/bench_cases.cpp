// Buffers, parameters and wrappers of the benchmark cases (see bench_cases.hpp).
//
// Every buffer is a namespace-scope object with external linkage that bench_setup() writes
// at run time, so the compiler cannot treat any input, weight, offset or multiplier as a
// constant: the kernels run exactly as they would on data that arrives at run time (the
// comparison figures, CMSIS-NN's, take every parameter at run time too).
#include "bench_cases.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../../tests/support/random.hpp"
#include "microtl/kernels/convolve.hpp"
#include "microtl/kernels/depthwise_conv.hpp"
#include "microtl/kernels/fully_connected.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/microtl.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"

// The wrappers: one kernel call each, taking the kernel's own arguments, so that the
// kernel works on run-time pointers as in a real network (called on the buffers directly,
// their link-time addresses become constants in the code). Never inlined and, on GCC, kept
// out of interprocedural constant propagation (noipa: it could clone a wrapper for the
// constant arguments of its only call site). flatten inlines the whole kernel into its
// wrapper, so the symbol size of bench_<case> is the code size of that kernel instance.
#if defined(__clang__)
#define MICROTL_BENCH_WRAPPER __attribute__((noinline, flatten))
#else
#define MICROTL_BENCH_WRAPPER __attribute__((noinline, noipa, flatten))
#endif

namespace kernels = microtl::kernels;
using kernels::Padding;

namespace microtl_bench {

// The int8 feature extractor of the transfer-learning demo (examples/transfer_learning/
// model.hpp), three conv + ReLU + max-pool blocks, 28x28x1 -> 3x3x16 -> 144 features: the
// whole forward pass as the device runs it (kernels, pooling, the model's walk).
namespace mtl = microtl;
using Extractor =
    mtl::Sequential<mtl::Input<mtl::Shape<28, 28, 1>, mtl::QInt8>,                   //
                    mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,   //
                    mtl::MaxPool2D<2>,                                               //
                    mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,  //
                    mtl::MaxPool2D<2>,                                               //
                    mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,  //
                    mtl::MaxPool2D<2>,                                               //
                    mtl::Flatten>;

}  // namespace microtl_bench

extern "C" {

MICROTL_BENCH_WRAPPER void bench_fc_256_64(std::span<const std::int8_t, 256> input,
                                           std::span<const std::int8_t, 256 * 64> weights,
                                           std::span<const std::int32_t, 64> bias,
                                           std::span<std::int8_t, 64> output,
                                           const kernels::FullyConnectedParams<64>& params) {
  kernels::fully_connected_s8<256, 64>(input, weights, bias, output, params);
}

MICROTL_BENCH_WRAPPER void bench_fc_784_128(std::span<const std::int8_t, 784> input,
                                            std::span<const std::int8_t, 784 * 128> weights,
                                            std::span<const std::int32_t, 128> bias,
                                            std::span<std::int8_t, 128> output,
                                            const kernels::FullyConnectedParams<128>& params) {
  kernels::fully_connected_s8<784, 128>(input, weights, bias, output, params);
}

MICROTL_BENCH_WRAPPER void bench_fc_128_10(std::span<const std::int8_t, 128> input,
                                           std::span<const std::int8_t, 128 * 10> weights,
                                           std::span<const std::int32_t, 10> bias,
                                           std::span<std::int8_t, 10> output,
                                           const kernels::FullyConnectedParams<10>& params) {
  kernels::fully_connected_s8<128, 10>(input, weights, bias, output, params);
}

MICROTL_BENCH_WRAPPER void bench_conv_28x28x1_8_3x3(
    std::span<const std::int8_t, 28 * 28 * 1> input,
    std::span<const std::int8_t, 8 * 3 * 3 * 1> weights, std::span<const std::int32_t, 8> bias,
    std::span<std::int8_t, 28 * 28 * 8> output, const kernels::ConvParams<8>& params) {
  kernels::convolve_s8<28, 28, 1, 8, 3, 3, 1, Padding::same>(input, weights, bias, output, params);
}

MICROTL_BENCH_WRAPPER void bench_conv_14x14x8_16_3x3(
    std::span<const std::int8_t, 14 * 14 * 8> input,
    std::span<const std::int8_t, 16 * 3 * 3 * 8> weights, std::span<const std::int32_t, 16> bias,
    std::span<std::int8_t, 14 * 14 * 16> output, const kernels::ConvParams<16>& params) {
  kernels::convolve_s8<14, 14, 8, 16, 3, 3, 1, Padding::same>(input, weights, bias, output, params);
}

MICROTL_BENCH_WRAPPER void bench_conv_7x7x16_16_3x3(
    std::span<const std::int8_t, 7 * 7 * 16> input,
    std::span<const std::int8_t, 16 * 3 * 3 * 16> weights, std::span<const std::int32_t, 16> bias,
    std::span<std::int8_t, 7 * 7 * 16> output, const kernels::ConvParams<16>& params) {
  kernels::convolve_s8<7, 7, 16, 16, 3, 3, 1, Padding::same>(input, weights, bias, output, params);
}

// The whole extractor: the model (pointers to its parameters), the image, the arena; the
// 144 features are copied to `features`.
MICROTL_BENCH_WRAPPER void bench_extractor_fashion_28x28(
    const microtl_bench::Extractor& model, microtl_bench::Extractor::input_view image,
    microtl_bench::Extractor::InferenceArena& arena, std::span<std::int8_t, 144> features) {
  const auto out = model.forward(image, arena);
  for (std::size_t i = 0; i < features.size(); ++i) {
    features[i] = out.values[i];
  }
}

MICROTL_BENCH_WRAPPER void bench_dwconv_14x14x16_3x3(
    std::span<const std::int8_t, 14 * 14 * 16> input,
    std::span<const std::int8_t, 3 * 3 * 16> weights, std::span<const std::int32_t, 16> bias,
    std::span<std::int8_t, 14 * 14 * 16> output, const kernels::DepthwiseConvParams<16>& params) {
  kernels::depthwise_conv_s8<14, 14, 16, 3, 3, 1, Padding::same, 1>(input, weights, bias, output,
                                                                    params);
}

}  // extern "C"

namespace microtl_bench {

namespace quant = microtl::quant;

// All tensors of one case. Zero-initialized at start-up (.bss), filled by bench_setup().
template <std::size_t InputSize, std::size_t WeightSize, std::size_t Channels,
          std::size_t OutputSize>
struct Buffers {
  std::array<std::int8_t, InputSize> input;
  std::array<std::int8_t, WeightSize> weights;
  std::array<std::int32_t, Channels> bias;
  std::array<std::int8_t, OutputSize> output;
  std::array<quant::QuantizedMultiplier, Channels> multipliers;  // per output channel
};

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t K>
using ConvBuffers = Buffers<H * W * Cin, Cout * K * K * Cin, Cout,
                            kernels::output_elements(H, W, K, K, 1, Padding::same, Cout)>;

// The parameters only reference the multipliers; bench_setup() sets offsets and ranges.
Buffers<256, 256 * 64, 64, 64> fc_256_64;
kernels::FullyConnectedParams<64> fc_256_64_params{0, 0, {-128, 127}, fc_256_64.multipliers};

Buffers<784, 784 * 128, 128, 128> fc_784_128;
kernels::FullyConnectedParams<128> fc_784_128_params{0, 0, {-128, 127}, fc_784_128.multipliers};

Buffers<128, 128 * 10, 10, 10> fc_128_10;
kernels::FullyConnectedParams<10> fc_128_10_params{0, 0, {-128, 127}, fc_128_10.multipliers};

ConvBuffers<28, 28, 1, 8, 3> conv_28x28x1_8;
kernels::ConvParams<8> conv_28x28x1_8_params{0, 0, {-128, 127}, conv_28x28x1_8.multipliers};

ConvBuffers<14, 14, 8, 16, 3> conv_14x14x8_16;
kernels::ConvParams<16> conv_14x14x8_16_params{0, 0, {-128, 127}, conv_14x14x8_16.multipliers};

ConvBuffers<7, 7, 16, 16, 3> conv_7x7x16_16;
kernels::ConvParams<16> conv_7x7x16_16_params{0, 0, {-128, 127}, conv_7x7x16_16.multipliers};

// Depthwise, multiplier 1: weights [3][3][16], same buffer shapes as a 16 -> 16 "conv" with
// one input channel per filter.
Buffers<14 * 14 * 16, 3 * 3 * 16, 16, 14 * 14 * 16> dwconv_14x14x16;
kernels::DepthwiseConvParams<16> dwconv_14x14x16_params{
    0, 0, {-128, 127}, dwconv_14x14x16.multipliers};

// The extractor: an image, the three layers' weights, biases and multipliers (filled by
// bench_setup), the parameter structs that reference them, the model, its arena.
struct ExtractorBuffers {
  std::array<std::int8_t, 28 * 28> image;
  std::array<std::int8_t, 8 * 3 * 3 * 1> conv1_weights;
  std::array<std::int32_t, 8> conv1_bias;
  std::array<quant::QuantizedMultiplier, 8> conv1_multipliers;
  std::array<std::int8_t, 16 * 3 * 3 * 8> conv2_weights;
  std::array<std::int32_t, 16> conv2_bias;
  std::array<quant::QuantizedMultiplier, 16> conv2_multipliers;
  std::array<std::int8_t, 16 * 3 * 3 * 16> conv3_weights;
  std::array<std::int32_t, 16> conv3_bias;
  std::array<quant::QuantizedMultiplier, 16> conv3_multipliers;
  std::array<std::int8_t, 144> features;
};
ExtractorBuffers extractor;

// Every activation after a ReLU has zero point -128 (the image too: pixels in [0, 1]).
constexpr quant::QuantParams kActivationQuant{1.0f / 64.0f, -128};
const Extractor::layer<0>::Params extractor_conv1{extractor.conv1_weights, extractor.conv1_bias,
                                                  extractor.conv1_multipliers, kActivationQuant};
const Extractor::layer<2>::Params extractor_conv2{extractor.conv2_weights, extractor.conv2_bias,
                                                  extractor.conv2_multipliers, kActivationQuant};
const Extractor::layer<4>::Params extractor_conv3{extractor.conv3_weights, extractor.conv3_bias,
                                                  extractor.conv3_multipliers, kActivationQuant};
const Extractor extractor_model(quant::QuantParams{1.0f / 255.0f, -128}, extractor_conv1,
                                extractor_conv2, extractor_conv3);
Extractor::InferenceArena extractor_arena;

namespace {

// Bias, per-channel multipliers, offsets and activation range of one case.
//
// The multipliers are chosen so that the outputs use the int8 range the way a calibrated
// model's do: with weights uniform in [-127, 127] (standard deviation ~73) and input codes
// + offset spread over [0, 255] (~74 around a mean of ~128), an accumulator over `taps`
// products has a standard deviation of about sqrt(taps) * 73 * 147; it is mapped to about
// +-40 output codes. Each channel gets its own scale (0.75x to 1.25x), as per-channel
// quantized weights do.
template <std::size_t Channels, std::size_t InputSize, std::size_t WeightSize,
          std::size_t OutputSize>
void fill_case(Buffers<InputSize, WeightSize, Channels, OutputSize>& buffers,
               kernels::RequantizedOpParams<Channels>& params, std::uint32_t seed, std::size_t taps,
               std::int32_t input_offset, std::int32_t output_offset,
               quant::ActivationRange activation) {
  microtl_test::Xorshift32 random(seed);
  microtl_test::fill_int8s(buffers.input, random, -128, 127);
  microtl_test::fill_int8s(buffers.weights, random, -127, 127);
  const double accumulator_spread = std::sqrt(static_cast<double>(taps)) * 73.0 * 147.0;
  const auto bias_limit = static_cast<std::int32_t>(accumulator_spread / 4.0);
  for (std::size_t c = 0; c < Channels; ++c) {
    buffers.bias[c] = random.uniform_int(-bias_limit, bias_limit);
    const double channel_scale = 0.75 + 0.5 * static_cast<double>(c % 7) / 6.0;
    buffers.multipliers[c] = quant::quantize_multiplier(40.0 * channel_scale / accumulator_spread);
  }
  params.input_offset = input_offset;
  params.output_offset = output_offset;
  params.activation = activation;
}

// Weights, bias and per-channel multipliers of one extractor layer (`taps` products per
// output): as fill_case, with the accumulator's spread mapped to about 100 output codes, so
// that after the ReLU (zero point -128) about half the outputs are above the zero point and
// spread over the int8 range, as in a trained model.
template <std::size_t Weights, std::size_t Channels>
void fill_extractor_layer(std::array<std::int8_t, Weights>& weights,
                          std::array<std::int32_t, Channels>& bias,
                          std::array<quant::QuantizedMultiplier, Channels>& multipliers,
                          microtl_test::Xorshift32& random, std::size_t taps) {
  microtl_test::fill_int8s(weights, random, -127, 127);
  const double accumulator_spread = std::sqrt(static_cast<double>(taps)) * 73.0 * 147.0;
  const auto bias_limit = static_cast<std::int32_t>(accumulator_spread / 4.0);
  for (std::size_t c = 0; c < Channels; ++c) {
    bias[c] = random.uniform_int(-bias_limit, bias_limit);
    const double channel_scale = 0.75 + 0.5 * static_cast<double>(c % 7) / 6.0;
    multipliers[c] = quant::quantize_multiplier(100.0 * channel_scale / accumulator_spread);
  }
}

}  // namespace

void bench_setup() {
  // Inputs are activations with zero point -128 (offset +128, e.g. after a ReLU or an image
  // in [0, 1]); outputs have small nonzero zero points and the usual fused activations.
  fill_case(fc_256_64, fc_256_64_params, 0x1234'5678u, 256, 128, -20, {-20, 127});
  fill_case(fc_784_128, fc_784_128_params, 0x2468'ACE0u, 784, 128, -17, {-17, 127});
  fill_case(fc_128_10, fc_128_10_params, 0x0BAD'F00Du, 128, 128, 9, {-128, 127});
  fill_case(conv_28x28x1_8, conv_28x28x1_8_params, 0x1357'9BDFu, 3 * 3 * 1, 128, -23, {-23, 100});
  fill_case(conv_14x14x8_16, conv_14x14x8_16_params, 0x5EED'0005u, 3 * 3 * 8, 128, -19, {-19, 127});
  fill_case(dwconv_14x14x16, dwconv_14x14x16_params, 0xC0FF'EE06u, 3 * 3, 128, -11, {-11, 127});
  fill_case(conv_7x7x16_16, conv_7x7x16_16_params, 0x7777'1616u, 3 * 3 * 16, 128, -128,
            {-128, 127});

  microtl_test::Xorshift32 random(0xFA5'410Eu);
  microtl_test::fill_int8s(extractor.image, random, -128, 127);
  fill_extractor_layer(extractor.conv1_weights, extractor.conv1_bias, extractor.conv1_multipliers,
                       random, 3 * 3 * 1);
  fill_extractor_layer(extractor.conv2_weights, extractor.conv2_bias, extractor.conv2_multipliers,
                       random, 3 * 3 * 8);
  fill_extractor_layer(extractor.conv3_weights, extractor.conv3_bias, extractor.conv3_multipliers,
                       random, 3 * 3 * 16);
}

namespace {

// What Case::run calls: the wrapper on this case's buffers.
void run_fc_256_64() {
  bench_fc_256_64(fc_256_64.input, fc_256_64.weights, fc_256_64.bias, fc_256_64.output,
                  fc_256_64_params);
}
void run_fc_784_128() {
  bench_fc_784_128(fc_784_128.input, fc_784_128.weights, fc_784_128.bias, fc_784_128.output,
                   fc_784_128_params);
}
void run_fc_128_10() {
  bench_fc_128_10(fc_128_10.input, fc_128_10.weights, fc_128_10.bias, fc_128_10.output,
                  fc_128_10_params);
}
void run_conv_28x28x1_8_3x3() {
  bench_conv_28x28x1_8_3x3(conv_28x28x1_8.input, conv_28x28x1_8.weights, conv_28x28x1_8.bias,
                           conv_28x28x1_8.output, conv_28x28x1_8_params);
}
void run_conv_14x14x8_16_3x3() {
  bench_conv_14x14x8_16_3x3(conv_14x14x8_16.input, conv_14x14x8_16.weights, conv_14x14x8_16.bias,
                            conv_14x14x8_16.output, conv_14x14x8_16_params);
}
void run_conv_7x7x16_16_3x3() {
  bench_conv_7x7x16_16_3x3(conv_7x7x16_16.input, conv_7x7x16_16.weights, conv_7x7x16_16.bias,
                           conv_7x7x16_16.output, conv_7x7x16_16_params);
}
void run_extractor_fashion_28x28() {
  bench_extractor_fashion_28x28(extractor_model, Extractor::input_view(extractor.image),
                                extractor_arena, extractor.features);
}
void run_dwconv_14x14x16_3x3() {
  bench_dwconv_14x14x16_3x3(dwconv_14x14x16.input, dwconv_14x14x16.weights, dwconv_14x14x16.bias,
                            dwconv_14x14x16.output, dwconv_14x14x16_params);
}

}  // namespace

std::span<const Case> bench_cases() {
  static const Case cases[] = {
      {"fc_256_64", 256u * 64u, &run_fc_256_64, fc_256_64.output},
      {"fc_784_128", 784u * 128u, &run_fc_784_128, fc_784_128.output},
      {"fc_128_10", 128u * 10u, &run_fc_128_10, fc_128_10.output},
      {"conv_28x28x1_8_3x3", 28u * 28u * 8u * 3u * 3u * 1u, &run_conv_28x28x1_8_3x3,
       conv_28x28x1_8.output},
      {"conv_14x14x8_16_3x3", 14u * 14u * 16u * 3u * 3u * 8u, &run_conv_14x14x8_16_3x3,
       conv_14x14x8_16.output},
      {"dwconv_14x14x16_3x3", 14u * 14u * 16u * 3u * 3u, &run_dwconv_14x14x16_3x3,
       dwconv_14x14x16.output},
      {"conv_7x7x16_16_3x3", 7u * 7u * 16u * 3u * 3u * 16u, &run_conv_7x7x16_16_3x3,
       conv_7x7x16_16.output},
      // The three convolutions' MACs (the pooling's comparisons are not counted).
      {"extractor_fashion_28x28",
       28u * 28u * 8u * 3u * 3u * 1u + 14u * 14u * 16u * 3u * 3u * 8u +
           7u * 7u * 16u * 3u * 3u * 16u,
       &run_extractor_fashion_28x28, extractor.features},
  };
  return cases;
}

bool output_varies(const Case& c) {
  for (const std::int8_t code : c.output) {
    if (code != c.output[0]) {
      return true;
    }
  }
  return false;
}

}  // namespace microtl_bench
