// firmware_make: a whole program built with the plain Makefile next to it (no CMake).
//
// An int8 convolutional extractor (frozen, weights in flash) feeds a float head that trains
// on the device: a Trainer takes a few epochs of SGD with momentum on synthetic 12x12 images
// of three kinds (horizontal bar, vertical bar, box), prints the mean loss of each epoch, and
// then one forward pass classifies an image. Returns nonzero when the loss did not go down or
// the trained model gets the image wrong.
//
// The weights are synthetic (a fixed pseudo-random pattern, generated at compile time); a
// real firmware would include arrays emitted from a trained model.
#include <microtl/microtl.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

namespace mtl = microtl;

namespace {

// ---------------------------------------------------------------------------------------
// The model as a type.
// ---------------------------------------------------------------------------------------
using Extractor =
    mtl::Sequential<mtl::Input<mtl::Shape<12, 12, 1>, mtl::QInt8>,
                    mtl::Conv2D<4, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,
                    mtl::MaxPool2D<2>, mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>,
                    mtl::ReLU, mtl::MaxPool2D<2>, mtl::Flatten>;
using Model = mtl::Sequential<Extractor, mtl::Dequantize, mtl::Trainable<mtl::Dense<16>>, mtl::ReLU,
                              mtl::Trainable<mtl::Dense<3>>>;
using Trainer = mtl::Trainer<Model, mtl::SoftmaxCrossEntropy, mtl::SGDMomentum>;

constexpr std::size_t kSide = 12;
constexpr std::size_t kPixels = kSide * kSide;
constexpr std::size_t kFeatures = 3 * 3 * 8;
constexpr std::size_t kHidden = 16;
constexpr std::size_t kClasses = 3;

static_assert(Trainer::training_arena_bytes <= 64 * 1024, "training RAM budget of this firmware");

// ---------------------------------------------------------------------------------------
// Parameters: generated at compile time, as a code generator would emit them.
// ---------------------------------------------------------------------------------------
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

// Input pixels in [0, 1]; every conv output is after a ReLU, hence zero point -128.
constexpr mtl::quant::QuantParams input_q{1.0f / 255.0f, -128};
constexpr mtl::quant::QuantParams conv1_q{0.02f, -128};
constexpr mtl::quant::QuantParams conv2_q{0.04f, -128};

constexpr auto conv1_w = random_codes<3 * 3 * 1 * 4>(1);
constexpr std::array<std::int32_t, 4> conv1_b{};
constexpr auto conv1_m = mtl::kernels::conv_output_multiplier(input_q.scale, 0.01f, conv1_q.scale);
constexpr auto conv2_w = random_codes<3 * 3 * 4 * 8>(2);
constexpr std::array<std::int32_t, 8> conv2_b{};
constexpr auto conv2_m = mtl::kernels::conv_output_multiplier(conv1_q.scale, 0.005f, conv2_q.scale);

constexpr mtl::LinearParams<mtl::QInt8, conv1_w.size(), 4> conv1{conv1_w, conv1_b, conv1_m,
                                                                 conv1_q};
constexpr mtl::LinearParams<mtl::QInt8, conv2_w.size(), 8> conv2{conv2_w, conv2_b, conv2_m,
                                                                 conv2_q};

// The head's initial values (copied into the model's RAM: they are what it trains from).
constexpr auto dense1_w = random_floats<kFeatures * kHidden>(3, 0.1f);
constexpr std::array<float, kHidden> dense1_b{};
constexpr auto dense2_w = random_floats<kHidden * kClasses>(4, 0.3f);
constexpr std::array<float, kClasses> dense2_b{};

// Static storage, sized at compile time: no heap anywhere.
Model model(input_q, conv1, conv2,
            mtl::LinearParams<float, dense1_w.size(), kHidden>{dense1_w, dense1_b},
            mtl::LinearParams<float, dense2_w.size(), kClasses>{dense2_w, dense2_b});
Trainer::TrainingArena training_arena;
Model::InferenceArena inference_arena;
// A static constructor: startup.cpp runs it before main.
Trainer trainer(model, mtl::SGDMomentum{0.02f, 0.9f, 0.0f}, training_arena, /*batch=*/4);

// ---------------------------------------------------------------------------------------
// Synthetic data: class 0 a horizontal bar, 1 a vertical bar, 2 a hollow box, each at a
// position (and with a speckle) that depends on the sample's index.
// ---------------------------------------------------------------------------------------
using Image = std::array<std::int8_t, kPixels>;

Image make_image(std::size_t label, std::size_t index) {
  std::array<float, kPixels> pixels{};
  const std::size_t at = 2 + (index * 5) % 8;  // 2..9
  for (std::size_t y = 0; y < kSide; ++y) {
    for (std::size_t x = 0; x < kSide; ++x) {
      bool on = false;
      if (label == 0) {
        on = y == at || y == at + 1;
      } else if (label == 1) {
        on = x == at || x == at + 1;
      } else {
        const std::size_t lo = 1 + index % 3;
        const std::size_t hi = lo + 7;
        on = (y == lo || y == hi) && x >= lo && x <= hi;
        on = on || ((x == lo || x == hi) && y >= lo && y <= hi);
      }
      const bool speckle = (x * 7 + y * 13 + index * 3) % 17 == 0;
      pixels[y * kSide + x] = on ? 0.9f : (speckle ? 0.3f : 0.05f);
    }
  }
  Image image{};
  for (std::size_t i = 0; i < kPixels; ++i) {
    image[i] = mtl::quant::quantize(pixels[i], input_q);
  }
  return image;
}

constexpr std::size_t kSamples = 24;
constexpr std::size_t kEpochs = 8;
std::array<Image, kSamples> images;

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
  for (std::size_t i = 0; i < kSamples; ++i) {
    images[i] = make_image(label_of(i), i);
  }

  std::printf("firmware_make: int8 extractor + trainable float head, %u training bytes\n",
              static_cast<unsigned>(Trainer::training_arena_bytes));
  float first_loss = 0.0f;
  float last_loss = 0.0f;
  for (std::size_t epoch = 0; epoch < kEpochs; ++epoch) {
    float sum = 0.0f;
    for (std::size_t i = 0; i < kSamples; ++i) {
      // A view of exactly the input's size: a span of the wrong extent does not compile.
      const Model::input_view input(std::span<const std::int8_t, kPixels>(images[i]));
      if (trainer.step(input, label_of(i)) != mtl::Status::ok) {
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
  const auto out = model.forward(Model::input_view(std::span<const std::int8_t, kPixels>(unseen)),
                                 inference_arena);
  const std::size_t predicted = argmax(out.values.span());
  std::printf("  forward: logits %s %s %s -> class %u (expected 1)\n", fixed(out.values[0]).text,
              fixed(out.values[1]).text, fixed(out.values[2]).text,
              static_cast<unsigned>(predicted));

  const bool ok = last_loss < 0.5f * first_loss && predicted == 1;
  std::printf("%s\n", ok ? "PASS" : "FAIL: the loss did not halve or the prediction is wrong");
  return ok ? 0 : 1;
}
