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

const std::array<microtl_bench::TrainCase, 4> cases = {{
    {"train_mlp_64_32_10_full", FullTrainer::training_arena_bytes, [] { step(full_trainer); },
     [] { return full_trainer->last_loss(); }},
    {"train_mlp_64_32_10_last", LastTrainer::training_arena_bytes, [] { step(last_trainer); },
     [] { return last_trainer->last_loss(); }},
    {"train_mlp_64_32_10_full_unguarded", FullUnguarded::training_arena_bytes,
     [] { step(full_unguarded); }, [] { return full_unguarded->last_loss(); }},
    {"train_mlp_64_32_10_last_unguarded", LastUnguarded::training_arena_bytes,
     [] { step(last_unguarded); }, [] { return last_unguarded->last_loss(); }},
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
}

std::span<const TrainCase> train_cases() {
  return cases;
}

}  // namespace microtl_bench
