// A firmware that trains on the device a model with a deployed int8 extractor (two int8
// convolutions, each with a fused ReLU and a max pool) and a float head (Dequantize, two
// trainable Dense layers), built three times:
//   MICROTL_INT8_HEAD_ONLY    both convolutions frozen: only the head trains;
//   MICROTL_INT8_ALL_BIASES   both convolutions BiasOnly: their int32 biases train too;
//   MICROTL_INT8_LAST_WEIGHTS the last convolution Trainable (its int8 weights train through
//                             a float master copy), the first frozen.
// CheckSymbols.cmake then reads the linked ELFs: backward code must exist exactly for the
// layers the gradient has to pass through, and each earliest trainable layer only in its
// no-input-gradient form.
#include <microtl/layers/quantize_linear.hpp>
#include <microtl/microtl.hpp>

#include <array>
#include <cstdint>

#include "board/semihosting.hpp"

namespace mtl = microtl;

namespace {

template <class Spec>
using Frozen = Spec;

#if defined(MICROTL_INT8_HEAD_ONLY)
template <class Spec>
using FirstConv = Frozen<Spec>;
template <class Spec>
using LastConv = Frozen<Spec>;
constexpr bool first_conv_trains = false;
constexpr bool last_conv_trains = false;
#elif defined(MICROTL_INT8_ALL_BIASES)
template <class Spec>
using FirstConv = mtl::BiasOnly<Spec>;
template <class Spec>
using LastConv = mtl::BiasOnly<Spec>;
constexpr bool first_conv_trains = true;
constexpr bool last_conv_trains = true;
#elif defined(MICROTL_INT8_LAST_WEIGHTS)
template <class Spec>
using FirstConv = Frozen<Spec>;
template <class Spec>
using LastConv = mtl::Trainable<Spec>;
constexpr bool first_conv_trains = false;
constexpr bool last_conv_trains = true;
#else
#error "define one of MICROTL_INT8_HEAD_ONLY, MICROTL_INT8_ALL_BIASES, MICROTL_INT8_LAST_WEIGHTS"
#endif

using Model = mtl::Sequential<
    mtl::Input<mtl::Shape<12, 12, 1>, mtl::QInt8>,                             //
    FirstConv<mtl::Conv2D<4, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,  // 12x12x4
    mtl::MaxPool2D<2>,                                                         // 6x6x4
    LastConv<mtl::Conv2D<4, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,   // 6x6x4
    mtl::MaxPool2D<2>,                                                         // 3x3x4
    mtl::Flatten, mtl::Dequantize,                                             // 36 floats
    mtl::Trainable<mtl::Dense<8>>, mtl::ReLU, mtl::Trainable<mtl::Dense<3>>>;
using Trainer = mtl::Trainer<Model, mtl::SoftmaxCrossEntropy, mtl::SGD>;

template <std::size_t N>
constexpr std::array<float, N> pattern(int phase) {
  std::array<float, N> a{};
  for (std::size_t i = 0; i < N; ++i) {
    a[i] = 0.05f * static_cast<float>((static_cast<int>(i) * 7 + phase) % 11 - 5);
  }
  return a;
}

// Input codes x = q / 127; each convolution's output (after its fused ReLU) starts at the
// zero point -128. The second convolution's input is the first one's output (the pool keeps
// the quantization).
constexpr mtl::quant::QuantParams q_image{1.0f / 127.0f, 0};
constexpr mtl::quant::QuantParams q_conv0{0.02f, -128};
constexpr mtl::quant::QuantParams q_conv1{0.05f, -128};

constexpr auto conv0 = mtl::quantize_linear<mtl::ChannelAxis::leading>(
    pattern<36>(1), pattern<4>(2), q_image, q_conv0);
constexpr auto conv1 = mtl::quantize_linear<mtl::ChannelAxis::leading>(
    pattern<144>(3), pattern<4>(4), q_conv0, q_conv1);
constexpr auto w2 = pattern<288>(5);
constexpr auto b2 = pattern<8>(6);
constexpr auto w3 = pattern<24>(7);
constexpr auto b3 = pattern<3>(8);
constexpr mtl::LinearParams<float, 288, 8> p2{w2, b2};
constexpr mtl::LinearParams<float, 24, 3> p3{w3, b3};

// A frozen int8 layer takes its int8 parameters; a training one (BiasOnly or Trainable) also
// the scales that turn its codes into real values.
template <bool Trains, std::size_t W, std::size_t C>
constexpr auto conv_params(const mtl::QuantizedLinear<W, C>& q) {
  if constexpr (Trains) {
    return mtl::layers::QuantizedTrainingParams<W, C>{q.params(), q.weight_scales, q.input.scale};
  } else {
    return q.params();
  }
}
constexpr auto p0 = conv_params<first_conv_trains>(conv0);
constexpr auto p1 = conv_params<last_conv_trains>(conv1);

Model model(q_image, p0, p1, p2, p3);
Trainer::TrainingArena arena;

// "first_trainable=A training_arena_bytes=B loss_e4 C -> D"
void print_line(const std::array<std::size_t, 4>& values) {
  static constexpr std::array<const char*, 4> labels = {
      "first_trainable=", " training_arena_bytes=", " loss_e4 ", " -> "};
  std::array<char, 128> line{};
  std::size_t n = 0;
  for (std::size_t k = 0; k < values.size(); ++k) {
    for (const char* s = labels[k]; *s != '\0'; ++s) {
      line[n++] = *s;
    }
    std::array<char, 20> digits{};
    std::size_t d = 0;
    std::size_t v = values[k];
    do {
      digits[d++] = static_cast<char>('0' + v % 10U);
      v /= 10U;
    } while (v != 0U);
    while (d > 0) {
      line[n++] = digits[--d];
    }
  }
  line[n++] = '\n';
  board::semihosting::write0(line.data());
}

}  // namespace

int main() {
  Trainer trainer(model, mtl::SGD{0.01f, 0.0f}, arena);
  static std::array<std::int8_t, 144> image{};
  for (std::size_t i = 0; i < image.size(); ++i) {
    image[i] = static_cast<std::int8_t>((i % 12) * 127 / 12);
  }
  float first = 0.0f;
  for (int step = 0; step < 5; ++step) {
    if (trainer.step(Model::input_view(image), 1) != mtl::Status::ok) {
      return 2;
    }
    first = step == 0 ? trainer.last_loss() : first;
  }
  // Printed without printf (which allocates): this ELF is also checked for heap and
  // exception machinery (CheckNoHeap.cmake). Losses in ten-thousandths.
  print_line({Trainer::first_trainable, Trainer::training_arena_bytes,
              static_cast<std::size_t>(first * 10000.0f),
              static_cast<std::size_t>(trainer.last_loss() * 10000.0f)});
  return trainer.last_loss() < first ? 0 : 1;
}
