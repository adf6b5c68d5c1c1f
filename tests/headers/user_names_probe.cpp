// A user's translation unit with globals named as firmware names them (the README's `model`,
// `arena`, `trainer`, and `input`, `label`, `params`, `storage`, ...), which then uses the
// library's templates. Templates are instantiated after these globals are declared, so a
// library parameter or local with one of these names would warn under -Wshadow (an error
// with -Werror): this file compiles with the strict warnings of every preset. (Single
// letters and generic words such as `i`, `values` or `count` are not in the list: a global
// with such a name collides with loop variables in any header library.)
#include <array>
#include <cstddef>
#include <cstdint>

#include "microtl/microtl.hpp"

namespace mtl = microtl;

using Net =
    mtl::Sequential<mtl::Input<mtl::Shape<6, 6, 1>, mtl::QInt8>,
                    mtl::Conv2D<2, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,
                    mtl::MaxPool2D<2>, mtl::Flatten, mtl::Dequantize, mtl::Trainable<mtl::Dense<4>>,
                    mtl::ReLU, mtl::Trainable<mtl::Dense<3>>>;
using NetTrainer = mtl::Trainer<Net, mtl::SoftmaxCrossEntropy, mtl::SGD>;

// Every name below is a global a user might have.
constexpr std::array<std::int8_t, 18> weights{};
constexpr std::array<std::int32_t, 2> bias{};
constexpr mtl::quant::QuantParams quant{0.02f, -128};
constexpr mtl::quant::QuantParams input_quant{1.0f / 255.0f, -128};
constexpr Net::params_for<0> params{weights, bias, mtl::quant::quantize_multiplier(0.001), quant};
constexpr std::array<float, 72> head_weights{};
constexpr std::array<float, 4> head_bias{};
constexpr std::array<float, 12> out_weights{};
constexpr std::array<float, 3> out_bias{};
constexpr Net::params_for<5> head{head_weights, head_bias};
constexpr Net::params_for<7> output{out_weights, out_bias};
Net model(input_quant, params, head, output);
NetTrainer::TrainingArena arena;
Net::InferenceArena inference_arena;
NetTrainer trainer(model, mtl::SGD{0.01f}, arena);
mtl::FeatureCache<NetTrainer, 4> cache;
mtl::io::RamStorage<4096, 256, 4> storage;
std::array<std::int8_t, 36> input{};
std::array<std::int8_t, 36> image{};
std::array<std::int8_t, 36> sample{};
std::size_t label = 0;
std::size_t target = 0;
std::size_t epoch = 0;
std::size_t batch_size = 1;
float learning_rate = 0.01f;
float loss = 0.0f;
float scale = 1.0f;
mtl::Status status = mtl::Status::ok;
mtl::SGD optimizer{0.01f};
std::array<float, 4> features{};
std::array<float, 3> logits{};

int use() {
  int failures = 0;
  failures += trainer.step(input, label) != mtl::Status::ok;
  failures += cache.add(trainer, image, label) != mtl::Status::ok;
  std::uint32_t epochs = 0;
  failures += cache.train(trainer, mtl::EarlyStopping{2, 0.5f}, epochs) != mtl::Status::ok;
  failures += mtl::io::save(model, storage) != mtl::Status::ok;
  failures += mtl::io::load(model, storage) != mtl::Status::ok;
  const auto prediction = model.forward(sample, inference_arena);
  failures += prediction.values[0] != prediction.values[0];
  return failures;
}
