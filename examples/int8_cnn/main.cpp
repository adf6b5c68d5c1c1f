// int8_cnn: a whole int8 CNN classifier as a C++ type, run on the device.
//
// The model is the MicroTL extractor (two conv blocks on a 28x28 grayscale image) with an
// int8 dense head and TFLite's int8 softmax. Every shape and the arena size are compile-time
// constants; the weights are const data, so they stay in flash; the forward pass uses the
// arena and a bounded stack, nothing else.
//
// The weights here are synthetic (a fixed pseudo-random pattern generated at compile time),
// so the "prediction" only demonstrates the mechanics. The transfer-learning demo uses a
// model trained on Fashion-MNIST.
#include <microtl/microtl.hpp>

#include <array>
#include <cstdint>
#include <cstdio>

#include "board/board.hpp"

namespace mtl = microtl;

namespace {

// ---------------------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------------------
using Extractor =
    mtl::Sequential<mtl::Input<mtl::Shape<28, 28, 1>, mtl::QInt8>,
                    mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,
                    mtl::MaxPool2D<2>, mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>,
                    mtl::ReLU, mtl::MaxPool2D<2>, mtl::Flatten>;
using Classifier =
    mtl::Sequential<Extractor, mtl::Dense<32>, mtl::ReLU, mtl::Dense<10>, mtl::Softmax>;

// Known before the program runs; a build for a smaller part fails here, not in the field.
static_assert(Classifier::inference_arena_bytes == 7840, "28x28x8 conv output + its pooled copy");
static_assert(Classifier::inference_arena_bytes <= 16 * 1024, "activation budget of this firmware");

// ---------------------------------------------------------------------------------------
// Synthetic parameters, generated at compile time as a code generator would emit them.
// ---------------------------------------------------------------------------------------
template <std::size_t N>
constexpr std::array<std::int8_t, N> pseudo_random_codes(std::uint32_t seed, int limit) {
  std::array<std::int8_t, N> codes{};
  std::uint32_t state = seed;
  for (auto& code : codes) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    code = static_cast<std::int8_t>(
        static_cast<int>(state % static_cast<std::uint32_t>(2 * limit + 1)) - limit);
  }
  return codes;
}

template <std::size_t N>
constexpr std::array<std::int32_t, N> small_biases(std::uint32_t seed) {
  std::array<std::int32_t, N> bias{};
  const auto codes = pseudo_random_codes<N>(seed, 100);
  for (std::size_t i = 0; i < N; ++i) {
    bias[i] = codes[i] * 4;
  }
  return bias;
}

template <std::size_t Channels>
constexpr std::array<mtl::quant::QuantizedMultiplier, Channels> multipliers(float input_scale,
                                                                            float weight_scale,
                                                                            float output_scale) {
  std::array<mtl::quant::QuantizedMultiplier, Channels> m{};
  for (std::size_t c = 0; c < Channels; ++c) {
    // A slightly different weight scale per channel, as per-channel quantization gives.
    const float scale = weight_scale * (1.0f + 0.05f * static_cast<float>(c % 4));
    m[c] = mtl::kernels::conv_output_multiplier(input_scale, scale, output_scale);
  }
  return m;
}

// Activation quantization: the input pixels in [0, 1]; every later activation after a ReLU.
constexpr mtl::quant::QuantParams input_q{1.0f / 255.0f, -128};
constexpr mtl::quant::QuantParams conv1_q{0.02f, -128};
constexpr mtl::quant::QuantParams conv2_q{0.05f, -128};
constexpr mtl::quant::QuantParams fc1_q{0.1f, -128};
constexpr mtl::quant::QuantParams logits_q{0.2f, 0};

constexpr auto conv1_w = pseudo_random_codes<8 * 3 * 3 * 1>(1, 127);
constexpr auto conv1_b = small_biases<8>(2);
constexpr auto conv1_m = multipliers<8>(input_q.scale, 0.01f, conv1_q.scale);
constexpr auto conv2_w = pseudo_random_codes<16 * 3 * 3 * 8>(3, 127);
constexpr auto conv2_b = small_biases<16>(4);
constexpr auto conv2_m = multipliers<16>(conv1_q.scale, 0.004f, conv2_q.scale);
constexpr auto fc1_w = pseudo_random_codes<32 * 784>(5, 127);
constexpr auto fc1_b = small_biases<32>(6);
constexpr auto fc1_m = multipliers<32>(conv2_q.scale, 0.002f, fc1_q.scale);
constexpr auto fc2_w = pseudo_random_codes<10 * 32>(7, 127);
constexpr auto fc2_b = small_biases<10>(8);
constexpr auto fc2_m = multipliers<10>(fc1_q.scale, 0.01f, logits_q.scale);

constexpr Classifier::layer<0>::Params conv1{conv1_w, conv1_b, conv1_m, conv1_q};
constexpr Classifier::layer<2>::Params conv2{conv2_w, conv2_b, conv2_m, conv2_q};
constexpr Classifier::layer<5>::Params fc1{fc1_w, fc1_b, fc1_m, fc1_q};
constexpr Classifier::layer<6>::Params fc2{fc2_w, fc2_b, fc2_m, logits_q};
// Softmax: TFLite's preprocessing of beta = 1 and the logits' scale, done at compile time.
constexpr Classifier::layer<7>::Params softmax =
    mtl::kernels::prepare_softmax_s8(1.0f, logits_q.scale);

constexpr std::size_t parameter_bytes = sizeof(conv1_w) + sizeof(conv1_b) + sizeof(conv1_m) +
                                        sizeof(conv2_w) + sizeof(conv2_b) + sizeof(conv2_m) +
                                        sizeof(fc1_w) + sizeof(fc1_b) + sizeof(fc1_m) +
                                        sizeof(fc2_w) + sizeof(fc2_b) + sizeof(fc2_m);

const Classifier model(input_q, conv1, conv2, fc1, fc2, softmax);
Classifier::InferenceArena arena;

// A 28x28 "image": a bright ring on a dark background, quantized like the input.
std::array<std::int8_t, 28 * 28> make_image() {
  std::array<std::int8_t, 28 * 28> image{};
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const int dy = y - 14;
      const int dx = x - 14;
      const int r2 = dy * dy + dx * dx;
      const float pixel = (r2 > 36 && r2 < 100) ? 1.0f : 0.1f;
      image[static_cast<std::size_t>(y * 28 + x)] = mtl::quant::quantize(pixel, input_q);
    }
  }
  return image;
}

}  // namespace

int main() {
  static const auto image = make_image();

  board::paint_stack();
  const std::size_t stack_base = board::stack_in_use();
  board::InstructionCounter counter;
  const auto out = model.forward(Classifier::input_view(image), arena);
  const std::uint64_t instructions = counter.elapsed();
  const std::size_t stack = board::stack_peak_since_paint() - stack_base;

  std::size_t best = 0;
  for (std::size_t i = 1; i < 10; ++i) {
    best = out.values[i] > out.values[best] ? i : best;
  }
  const float probability = mtl::quant::dequantize(out.values[best], out.quant);

  std::printf("int8_cnn on %s (synthetic weights)\n", board::core_name());
  std::printf("  prediction: class %u, p = %.3f\n", static_cast<unsigned>(best),
              static_cast<double>(probability));
  std::printf("  layers: %u (ReLUs fused), parameters: %u bytes of const data (flash)\n",
              static_cast<unsigned>(Classifier::layer_count),
              static_cast<unsigned>(parameter_bytes));
  std::printf("  inference arena: %u bytes (constexpr), stack during forward: %u bytes\n",
              static_cast<unsigned>(Classifier::inference_arena_bytes),
              static_cast<unsigned>(stack));
  if (board::counts_instructions()) {
    std::printf(
        "  instructions for one forward pass: %llu (QEMU -icount; instructions, not cycles)\n",
        static_cast<unsigned long long>(instructions));
  }
  // The probabilities must form a distribution: 10 codes of p = (q + 128) / 256 sum to ~1.
  int sum = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    sum += out.values[i] + 128;
  }
  return (sum > 230 && sum < 282) ? 0 : 1;
}
