// A firmware that trains a small CNN on the device, built twice: with only the dense head
// trainable (MICROTL_TRAIN_HEAD_ONLY) and with every layer trainable. The linked ELFs are
// compared by CheckSymbols.cmake: in the head-only build no backward code of the frozen
// convolutions and pools may exist, and the earliest trainable layer must exist only in
// its no-input-gradient form.
#include <microtl/microtl.hpp>

#include <array>
#include <cstdio>

namespace mtl = microtl;

namespace {

#if defined(MICROTL_TRAIN_HEAD_ONLY)
template <class Spec>
using ConvTrain = Spec;  // frozen
#else
template <class Spec>
using ConvTrain = mtl::Trainable<Spec>;
#endif

using Model = mtl::Sequential<
    mtl::Input<mtl::Shape<12, 12, 1>>,                                         //
    ConvTrain<mtl::Conv2D<4, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,  // 12x12x4
    mtl::MaxPool2D<2>,                                                         // 6x6x4
    ConvTrain<mtl::Conv2D<4, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,  // 6x6x4
    mtl::Flatten,                                                              // 144
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

constexpr auto w0 = pattern<36>(1);
constexpr auto b0 = pattern<4>(2);
constexpr auto w1 = pattern<144>(3);
constexpr auto b1 = pattern<4>(4);
constexpr auto w2 = pattern<1152>(5);
constexpr auto b2 = pattern<8>(6);
constexpr auto w3 = pattern<24>(7);
constexpr auto b3 = pattern<3>(8);
constexpr mtl::LinearParams<float, 36, 4> p0{w0, b0};
constexpr mtl::LinearParams<float, 144, 4> p1{w1, b1};
constexpr mtl::LinearParams<float, 1152, 8> p2{w2, b2};
constexpr mtl::LinearParams<float, 24, 3> p3{w3, b3};

Model model(p0, p1, p2, p3);
Trainer::TrainingArena arena;

}  // namespace

int main() {
  Trainer trainer(model, mtl::SGD{0.01f, 0.0f}, arena);
  static std::array<float, 144> image{};
  for (std::size_t i = 0; i < image.size(); ++i) {
    image[i] = static_cast<float>(i % 12) / 12.0f;
  }
  float first = 0.0f;
  for (int step = 0; step < 5; ++step) {
    if (trainer.step(Model::input_view(image), 1) != mtl::Status::ok) {
      return 2;
    }
    first = step == 0 ? trainer.last_loss() : first;
  }
  std::printf("first_trainable=%u training_arena_bytes=%u loss %.4f -> %.4f\n",
              static_cast<unsigned>(Trainer::first_trainable),
              static_cast<unsigned>(Trainer::training_arena_bytes), static_cast<double>(first),
              static_cast<double>(trainer.last_loss()));
  return trainer.last_loss() < first ? 0 : 1;
}
