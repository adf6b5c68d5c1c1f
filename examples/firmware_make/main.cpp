// The README's example ("A model as a type") as a whole program, built with the plain
// Makefile next to it (no CMake) and by CMake on every preset. It fits an nRF52840 (256 KB
// of RAM, 1 MB of flash); the comments and static_asserts below say where each byte goes.
//
// An int8 convolutional extractor (frozen, weights in flash) feeds a float head that trains
// on the device with plain SGD: a few epochs on synthetic 28x28 images of three kinds
// (horizontal bar, vertical bar, box), the mean loss of each epoch printed, then one
// forward pass classifies an image. Returns nonzero when the loss did not go down or the
// trained model gets the image wrong.
//
// The weights are synthetic (a fixed pseudo-random pattern, generated at compile time); a
// real firmware includes the arrays a converter emitted from a trained model.
#include <microtl/microtl.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

namespace mtl = microtl;

namespace {

constexpr std::uint32_t next_random(std::uint32_t& state) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

template <std::size_t N>
constexpr std::array<std::int8_t, N> random_codes(std::uint32_t seed) {
  std::array<std::int8_t, N> codes{};
  for (auto& code : codes) {
    code = static_cast<std::int8_t>(static_cast<int>(next_random(seed) % 255u) - 127);
  }
  return codes;
}

// Uniform in [-range, range).
template <std::size_t N>
constexpr std::array<float, N> random_floats(std::uint32_t seed, float range) {
  std::array<float, N> values{};
  for (auto& value : values) {
    const float unit = static_cast<float>(next_random(seed) % 65536u) / 65536.0f;
    value = (2.0f * unit - 1.0f) * range;
  }
  return values;
}

}  // namespace

// The README shows the lines between the markers as they are: clang-format leaves them.
// clang-format off
// [readme] -------------------------------------------------------------------------------
// int8 extractor (frozen, weights in flash) and a float head that trains on the device.
using Extractor = mtl::Sequential<mtl::Input<mtl::Shape<28, 28, 1>, mtl::QInt8>,
    mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU, mtl::MaxPool2D<2>,
    mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU, mtl::MaxPool2D<2>,
    mtl::Flatten>;
using Model = mtl::Sequential<Extractor, mtl::Dequantize,
    mtl::Trainable<mtl::Dense<32>>, mtl::ReLU, mtl::Trainable<mtl::Dense<10>>>;
using Trainer = mtl::Trainer<Model, mtl::SoftmaxCrossEntropy, mtl::SGD>;

// Parameters by the position written (ReLUs count): 0 and 3 the convolutions, 8 and 10 the
// head's two Dense layers.
using Conv1Params = Model::params_for<0>;   // int8 weights [8][3][3][1], in flash
using Conv2Params = Model::params_for<3>;   // int8 weights [16][3][3][8], in flash
using Head1Params = Model::params_for<8>;   // float [32][784]: copied into RAM, trained
using Head2Params = Model::params_for<10>;  // float [10][32]

// Where the RAM goes, known before the program runs (Cortex-M4F):
static_assert(Model::inference_arena_bytes == 7840);      // 28x28x8 conv output + pooled copy
static_assert(Trainer::parameter_grad_bytes == 101800);   // one float per trained value
static_assert(Trainer::optimizer_state_bytes == 0);       // plain SGD keeps no state
static_assert(Trainer::training_arena_bytes == 112944);   // + saved activations, gradients
static_assert(sizeof(Model) <= 101848);                   // the head's 25,450 floats + pointers
static_assert(sizeof(Model) + Trainer::training_arena_bytes + Model::inference_arena_bytes
              <= 224 * 1024);                             // an nRF52840 has 256 KB
// [/readme] ------------------------------------------------------------------------------
// clang-format on

namespace {

constexpr std::size_t kSide = 28;
constexpr std::size_t kPixels = kSide * kSide;
constexpr std::size_t kClasses = 3;  // of the head's 10 outputs, these three are used

// Input pixels in [0, 1]; every conv output is after a ReLU, hence zero point -128.
constexpr mtl::quant::QuantParams input_quant{1.0f / 255.0f, -128};
constexpr mtl::quant::QuantParams conv1_q{0.02f, -128};
constexpr mtl::quant::QuantParams conv2_q{0.04f, -128};

constexpr auto conv1_w = random_codes<8 * 3 * 3 * 1>(1);
constexpr std::array<std::int32_t, 8> conv1_b{};
constexpr auto conv1_m =
    mtl::kernels::conv_output_multiplier(input_quant.scale, 0.01f, conv1_q.scale);
constexpr auto conv2_w = random_codes<16 * 3 * 3 * 8>(2);
constexpr std::array<std::int32_t, 16> conv2_b{};
constexpr auto conv2_m = mtl::kernels::conv_output_multiplier(conv1_q.scale, 0.005f, conv2_q.scale);

constexpr Conv1Params conv1{conv1_w, conv1_b, conv1_m, conv1_q};
constexpr Conv2Params conv2{conv2_w, conv2_b, conv2_m, conv2_q};

// The head's initial values (copied into the model's RAM: they are what it trains from).
constexpr auto head1_w = random_floats<784 * 32>(3, 0.05f);
constexpr std::array<float, 32> head1_b{};
constexpr auto head2_w = random_floats<32 * 10>(4, 0.3f);
constexpr std::array<float, 10> head2_b{};
constexpr Head1Params head1_init{head1_w, head1_b};
constexpr Head2Params head2_init{head2_w, head2_b};

}  // namespace

// The README shows the lines between the markers as they are: clang-format leaves them.
// clang-format off
// [readme] -------------------------------------------------------------------------------
Model model(input_quant, conv1, conv2, head1_init, head2_init);  // const params stay in flash
Trainer::TrainingArena arena;                                    // static, sized at compile time
Trainer trainer(model, mtl::SGD{0.01f}, arena);                  // batch 1: fused into backward
// [/readme] ------------------------------------------------------------------------------
// clang-format on
Model::InferenceArena inference_arena;

namespace {

// ---------------------------------------------------------------------------------------
// Synthetic data: class 0 a horizontal bar, 1 a vertical bar, 2 a hollow box, each at a
// position (and with a speckle) that depends on the sample's index.
// ---------------------------------------------------------------------------------------
using Image = std::array<std::int8_t, kPixels>;

Image make_image(std::size_t label, std::size_t index) {
  std::array<float, kPixels> pixels{};
  const std::size_t at = 3 + (index * 5) % 20;  // 3..22
  for (std::size_t y = 0; y < kSide; ++y) {
    for (std::size_t x = 0; x < kSide; ++x) {
      bool on = false;
      if (label == 0) {
        on = y >= at && y < at + 3;
      } else if (label == 1) {
        on = x >= at && x < at + 3;
      } else {
        const std::size_t lo = 2 + index % 5;
        const std::size_t hi = lo + 18;
        on = (y == lo || y == hi) && x >= lo && x <= hi;
        on = on || ((x == lo || x == hi) && y >= lo && y <= hi);
      }
      const bool speckle = (x * 7 + y * 13 + index * 3) % 17 == 0;
      pixels[y * kSide + x] = on ? 0.9f : (speckle ? 0.3f : 0.05f);
    }
  }
  Image image{};
  for (std::size_t i = 0; i < kPixels; ++i) {
    image[i] = mtl::quant::quantize(pixels[i], input_quant);
  }
  return image;
}

constexpr std::size_t kSamples = 24;
constexpr std::size_t kEpochs = 8;

std::size_t label_of(std::size_t sample) {
  return sample % kClasses;
}

std::size_t argmax(std::span<const float, kClasses> values) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < values.size(); ++i) {
    best = values[i] > values[best] ? i : best;
  }
  return best;
}

// A float as text with 3 decimals. newlib's printf formats %f with heap memory, and this
// firmware has none: print integers.
struct Fixed {
  char text[24];
};
Fixed fixed(float value) {
  Fixed out{};
  const bool negative = value < 0.0f;
  const auto milli = static_cast<unsigned long>((negative ? -value : value) * 1000.0f + 0.5f);
  std::snprintf(out.text, sizeof(out.text), "%s%lu.%03lu", negative ? "-" : "", milli / 1000,
                milli % 1000);
  return out;
}

}  // namespace

int main() {
  std::printf("readme example: int8 extractor + trainable float head\n");
  std::printf(
      "  RAM: model %u B (the head's parameters), training arena %u B (gradients %u B),"
      " inference arena %u B\n",
      static_cast<unsigned>(sizeof(Model)), static_cast<unsigned>(Trainer::training_arena_bytes),
      static_cast<unsigned>(Trainer::parameter_grad_bytes),
      static_cast<unsigned>(Model::inference_arena_bytes));
  float first_loss = 0.0f;
  float last_loss = 0.0f;
  for (std::size_t epoch = 0; epoch < kEpochs; ++epoch) {
    float sum = 0.0f;
    for (std::size_t i = 0; i < kSamples; ++i) {
      const std::size_t label = label_of(i);
      const Image image = make_image(label, i);  // exactly the input's 784 codes
      // clang-format off
      // [readme] ---------------------------------------------------------------------------
mtl::Status s = trainer.step(image, label);   // forward, loss, backward, update
      // [/readme] --------------------------------------------------------------------------
      // clang-format on
      if (s != mtl::Status::ok) {
        std::printf("step %u of epoch %u failed\n", static_cast<unsigned>(i),
                    static_cast<unsigned>(epoch));
        return 1;
      }
      sum += trainer.last_loss();
    }
    const float mean = sum / static_cast<float>(kSamples);
    std::printf("  epoch %u: mean loss %s\n", static_cast<unsigned>(epoch), fixed(mean).text);
    first_loss = epoch == 0 ? mean : first_loss;
    last_loss = mean;
  }

  // One forward pass of the trained model on an image it has not seen.
  const Image unseen = make_image(1, 101);
  const auto out = model.forward(unseen, inference_arena);
  const std::size_t predicted = argmax(out.values.span().first<kClasses>());
  std::printf("  forward: logits %s %s %s -> class %u (expected 1)\n", fixed(out.values[0]).text,
              fixed(out.values[1]).text, fixed(out.values[2]).text,
              static_cast<unsigned>(predicted));

  const bool ok = last_loss < 0.5f * first_loss && predicted == 1;
  std::printf("%s\n", ok ? "PASS" : "FAIL: the loss did not halve or the prediction is wrong");
  return ok ? 0 : 1;
}
