// Models, trainers and samples of the training benchmark (see train_cases.hpp). Everything
// lives in static storage; train_setup() fills the initial parameters and the sample at run
// time so that nothing is a compile-time constant.
#include "train_cases.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

#include "../../tests/support/random.hpp"
#include "microtl/microtl.hpp"

namespace mtl = microtl;

namespace {

template <class First>
using Mlp =
    mtl::Sequential<mtl::Input<mtl::Shape<64>>, First, mtl::ReLU, mtl::Trainable<mtl::Dense<10>>>;
using FullModel = Mlp<mtl::Trainable<mtl::Dense<32>>>;
using LastModel = Mlp<mtl::Dense<32>>;
using FullTrainer = mtl::Trainer<FullModel, mtl::SoftmaxCrossEntropy, mtl::SGD, true>;
using LastTrainer = mtl::Trainer<LastModel, mtl::SoftmaxCrossEntropy, mtl::SGD, true>;
// The same without the divergence guard: the difference is the guard's cost.
using FullUnguarded = mtl::Trainer<FullModel, mtl::SoftmaxCrossEntropy, mtl::SGD, false>;
using LastUnguarded = mtl::Trainer<LastModel, mtl::SoftmaxCrossEntropy, mtl::SGD, false>;

std::array<float, 64 * 32> w1{};
std::array<float, 32> b1{};
std::array<float, 32 * 10> w2{};
std::array<float, 10> b2{};
std::array<float, 64> sample{};
constexpr std::size_t label = 3;

mtl::LinearParams<float, 64 * 32, 32> p1{w1, b1};
mtl::LinearParams<float, 32 * 10, 10> p2{w2, b2};

// Constructed in train_setup(), after the parameters have their values.
alignas(FullModel) std::byte full_model_storage[sizeof(FullModel)];
alignas(LastModel) std::byte last_model_storage[sizeof(LastModel)];
alignas(FullModel) std::byte full_unguarded_model_storage[sizeof(FullModel)];
alignas(LastModel) std::byte last_unguarded_model_storage[sizeof(LastModel)];
alignas(FullTrainer) std::byte full_trainer_storage[sizeof(FullTrainer)];
alignas(LastTrainer) std::byte last_trainer_storage[sizeof(LastTrainer)];
alignas(FullUnguarded) std::byte full_unguarded_storage[sizeof(FullUnguarded)];
alignas(LastUnguarded) std::byte last_unguarded_storage[sizeof(LastUnguarded)];
FullTrainer::TrainingArena full_arena;
LastTrainer::TrainingArena last_arena;
FullUnguarded::TrainingArena full_unguarded_arena;
LastUnguarded::TrainingArena last_unguarded_arena;

FullTrainer* full_trainer = nullptr;
LastTrainer* last_trainer = nullptr;
FullUnguarded* full_unguarded = nullptr;
LastUnguarded* last_unguarded = nullptr;

template <class T>
void step(T* trainer) {
  (void)trainer->step(typename T::model_input_view(sample), label);
}

// A small int8 CNN with a float head (16x16x1 -> conv 8 + ReLU -> pool -> conv 16 + ReLU ->
// pool -> 256 features -> Dense 10), trained three ways: the head alone, the head and every
// conv's bias (the gradient runs back through both int8 convs), the head and the second
// conv's weights (issue 15).
template <template <class> class First, template <class> class Second>
using Cnn =
    mtl::Sequential<mtl::Input<mtl::Shape<16, 16, 1>, mtl::QInt8>,
                    First<mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>>, mtl::ReLU,
                    mtl::MaxPool2D<2>, Second<mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>>,
                    mtl::ReLU, mtl::MaxPool2D<2>, mtl::Flatten, mtl::Dequantize,
                    mtl::Trainable<mtl::Dense<10>>>;
template <class Spec>
using Frozen = Spec;
using CnnHead = Cnn<Frozen, Frozen>;
using CnnBiases = Cnn<mtl::BiasOnly, mtl::BiasOnly>;
using CnnConv2 = Cnn<Frozen, mtl::Trainable>;
using CnnHeadTrainer = mtl::Trainer<CnnHead, mtl::SoftmaxCrossEntropy, mtl::SGD, true>;
using CnnBiasesTrainer = mtl::Trainer<CnnBiases, mtl::SoftmaxCrossEntropy, mtl::SGD, true>;
using CnnConv2Trainer = mtl::Trainer<CnnConv2, mtl::SoftmaxCrossEntropy, mtl::SGD, true>;

constexpr mtl::quant::QuantParams cnn_input{1.0f / 255.0f, -128};
constexpr mtl::quant::QuantParams cnn_conv1_out{0.02f, -128};
constexpr mtl::quant::QuantParams cnn_conv2_out{0.03f, -128};
mtl::QuantizedLinear<72, 8> cnn_conv1{};
mtl::QuantizedLinear<1152, 16> cnn_conv2{};
std::array<float, 2560> cnn_head_w{};
std::array<float, 10> cnn_head_b{};
std::array<std::int8_t, 256> cnn_sample{};
mtl::LinearParams<float, 2560, 10> cnn_head{cnn_head_w, cnn_head_b};
// The convs' parameters, made once they are quantized (params() copies the output's
// quantization).
struct CnnParams {
  mtl::LinearParams<mtl::QInt8, 72, 8> p1 = cnn_conv1.params();
  mtl::LinearParams<mtl::QInt8, 1152, 16> p2 = cnn_conv2.params();
  mtl::layers::QuantizedTrainingParams<72, 8> t1{p1, cnn_conv1.weight_scales, cnn_input.scale};
  mtl::layers::QuantizedTrainingParams<1152, 16> t2{p2, cnn_conv2.weight_scales,
                                                    cnn_conv1_out.scale};
};
alignas(CnnParams) std::byte cnn_params_storage[sizeof(CnnParams)];

alignas(CnnHead) std::byte cnn_head_model_storage[sizeof(CnnHead)];
alignas(CnnBiases) std::byte cnn_biases_model_storage[sizeof(CnnBiases)];
alignas(CnnConv2) std::byte cnn_conv2_model_storage[sizeof(CnnConv2)];
alignas(CnnHeadTrainer) std::byte cnn_head_trainer_storage[sizeof(CnnHeadTrainer)];
alignas(CnnBiasesTrainer) std::byte cnn_biases_trainer_storage[sizeof(CnnBiasesTrainer)];
alignas(CnnConv2Trainer) std::byte cnn_conv2_trainer_storage[sizeof(CnnConv2Trainer)];
CnnHeadTrainer::TrainingArena cnn_head_arena;
CnnBiasesTrainer::TrainingArena cnn_biases_arena;
CnnConv2Trainer::TrainingArena cnn_conv2_arena;
CnnHeadTrainer* cnn_head_trainer = nullptr;
CnnBiasesTrainer* cnn_biases_trainer = nullptr;
CnnConv2Trainer* cnn_conv2_trainer = nullptr;

template <class T>
void step_cnn(T* trainer) {
  (void)trainer->step(typename T::model_input_view(cnn_sample), label);
}

const std::array<microtl_bench::TrainCase, 7> cases = {{
    {"train_mlp_64_32_10_full", FullTrainer::training_arena_bytes, [] { step(full_trainer); },
     [] { return full_trainer->last_loss(); }},
    {"train_mlp_64_32_10_last", LastTrainer::training_arena_bytes, [] { step(last_trainer); },
     [] { return last_trainer->last_loss(); }},
    {"train_mlp_64_32_10_full_unguarded", FullUnguarded::training_arena_bytes,
     [] { step(full_unguarded); }, [] { return full_unguarded->last_loss(); }},
    {"train_mlp_64_32_10_last_unguarded", LastUnguarded::training_arena_bytes,
     [] { step(last_unguarded); }, [] { return last_unguarded->last_loss(); }},
    {"train_cnn_int8_head", CnnHeadTrainer::training_arena_bytes,
     [] { step_cnn(cnn_head_trainer); }, [] { return cnn_head_trainer->last_loss(); }},
    {"train_cnn_int8_biases", CnnBiasesTrainer::training_arena_bytes,
     [] { step_cnn(cnn_biases_trainer); }, [] { return cnn_biases_trainer->last_loss(); }},
    {"train_cnn_int8_conv2_weights", CnnConv2Trainer::training_arena_bytes,
     [] { step_cnn(cnn_conv2_trainer); }, [] { return cnn_conv2_trainer->last_loss(); }},
}};

}  // namespace

namespace microtl_bench {

void train_setup() {
  microtl_test::Xorshift32 rng(12345);
  const auto next = [&rng]() {
    return static_cast<float>(static_cast<int>(rng.next() % 2001u) - 1000) / 1000.0f;  // [-1, 1]
  };
  for (auto& v : w1)
    v = 0.2f * next();
  for (auto& v : b1)
    v = 0.1f * next();
  for (auto& v : w2)
    v = 0.3f * next();
  for (auto& v : b2)
    v = 0.1f * next();
  for (auto& v : sample)
    v = next();
  auto* full = new (full_model_storage) FullModel(p1, p2);
  auto* last = new (last_model_storage) LastModel(p1, p2);
  full_trainer = new (full_trainer_storage) FullTrainer(*full, mtl::SGD{0.01f, 0.0f}, full_arena);
  last_trainer = new (last_trainer_storage) LastTrainer(*last, mtl::SGD{0.01f, 0.0f}, last_arena);
  auto* full_u = new (full_unguarded_model_storage) FullModel(p1, p2);
  auto* last_u = new (last_unguarded_model_storage) LastModel(p1, p2);
  full_unguarded = new (full_unguarded_storage)
      FullUnguarded(*full_u, mtl::SGD{0.01f, 0.0f}, full_unguarded_arena);
  last_unguarded = new (last_unguarded_storage)
      LastUnguarded(*last_u, mtl::SGD{0.01f, 0.0f}, last_unguarded_arena);

  // The int8 CNN: its convs quantized from random float weights (TFLite's rules), its head
  // and an image drawn the same way.
  std::array<float, 72> w1_cnn{};
  std::array<float, 8> b1_cnn{};
  std::array<float, 1152> w2_cnn{};
  std::array<float, 16> b2_cnn{};
  for (auto& v : w1_cnn)
    v = 0.5f * next();
  for (auto& v : b1_cnn)
    v = 0.05f * next();
  for (auto& v : w2_cnn)
    v = 0.2f * next();
  for (auto& v : b2_cnn)
    v = 0.05f * next();
  for (auto& v : cnn_head_w)
    v = 0.1f * next();
  for (auto& v : cnn_sample)
    v = static_cast<std::int8_t>(static_cast<int>(rng.next() % 256u) - 128);
  cnn_conv1 =
      mtl::quantize_linear<mtl::ChannelAxis::leading>(w1_cnn, b1_cnn, cnn_input, cnn_conv1_out);
  cnn_conv2 =
      mtl::quantize_linear<mtl::ChannelAxis::leading>(w2_cnn, b2_cnn, cnn_conv1_out, cnn_conv2_out);
  const CnnParams& c = *new (cnn_params_storage) CnnParams;
  auto* head_model = new (cnn_head_model_storage) CnnHead(cnn_input, c.p1, c.p2, cnn_head);
  auto* biases_model = new (cnn_biases_model_storage) CnnBiases(cnn_input, c.t1, c.t2, cnn_head);
  auto* conv2_model = new (cnn_conv2_model_storage) CnnConv2(cnn_input, c.p1, c.t2, cnn_head);
  cnn_head_trainer = new (cnn_head_trainer_storage)
      CnnHeadTrainer(*head_model, mtl::SGD{0.01f, 0.0f}, cnn_head_arena);
  cnn_biases_trainer = new (cnn_biases_trainer_storage)
      CnnBiasesTrainer(*biases_model, mtl::SGD{0.01f, 0.0f}, cnn_biases_arena);
  cnn_conv2_trainer = new (cnn_conv2_trainer_storage)
      CnnConv2Trainer(*conv2_model, mtl::SGD{0.01f, 0.0f}, cnn_conv2_arena);
}

std::span<const TrainCase> train_cases() {
  return cases;
}

}  // namespace microtl_bench
