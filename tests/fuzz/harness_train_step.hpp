// Fuzz harness: Trainer::step and FeatureCache::add on arbitrary inputs and labels.
//
// Input: byte 0 configures, then records of 20 bytes, one training sample each (at most
// max_records; a last partial record is padded with zeros):
//   byte 0        bits 0-1: mini-batch size - 1 (1..4); bits 2-3: learning rate
//                 (0.01, 0.1, 1, 100); bits 4-7: the seed of the feature cache's epoch
//   record        label: uint32 little-endian (any value; 3 classes), then 4 floats
//                 little-endian (any bit pattern: NaN, infinities, subnormals, 3e38)
//
// Trainer: an MLP 4 -> Dense 5 (ReLU) -> Dense 3, both trainable, SoftmaxCrossEntropy,
// SGDMomentum. Two trainers on two copies of the model: the first gets every record, the
// twin only the records the first accepted.
//  - a step refused (any non-ok Status) leaves the parameters bit-identical, and it must be
//    refused when the label is out of range or an input is not finite; refusals are
//    label_out_of_range, not_finite or diverged;
//  - a refused step leaves no trace in the trainer either (gradients being accumulated,
//    momentum, the count towards the mini-batch): after every record, and after a final
//    apply(), the first trainer's parameters are bit-identical to the twin's. After a
//    `diverged` refusal this holds for mini-batches of one only: the guard drops the
//    gradients a larger batch had accumulated, which the twin still has;
//  - an accepted step leaves every parameter finite (with the divergence guard: see
//    require_finite_after_accepted_step below).
//
// Two FeatureCache<.., 4>: over a frozen float Dense, fed the record's floats, and over an
// int8 extractor (int8 Dense, Dequantize: the cache keeps int8 codes), fed the record's 16
// bytes as int8 codes. add() answers label_out_of_range for a label >= 3, capacity_exceeded
// when full, ok otherwise, and stores exactly when it answers ok (with that label); then
// one epoch over each cache answers ok, not_finite or diverged.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "harness.hpp"
#include "microtl/config.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"
#include "microtl/train/trainer.hpp"

namespace microtl_fuzz::train_step {

using namespace microtl;

// Whether an accepted step (Status::ok) must leave every parameter finite: yes with the
// divergence guard (MICROTL_DIVERGENCE_GUARD, on by default), which refuses such an update
// with Status::diverged and keeps the parameters; "refused => unchanged" then checks that
// rollback too.
//
// Without the guard (before it existed, or with MICROTL_DIVERGENCE_GUARD=0), this harness
// finds accepted steps that leave parameters infinite or NaN, within a minute: the loss and
// the gradients are finite, so the step is accepted, but the update overflows. Two such
// inputs are kept in regressions/fuzz_train_step/: one sample (0, 0, 3e38, 0) with label 0
// at learning rate 100 (the velocity is finite, learning rate x velocity is not), and
// learning rate 1, batch 4, with inputs between 1e14 and 1e37 over a dozen samples. After
// that every step is refused with not_finite (the loss sees NaN logits): a silently dead
// model. With the guard, those updates are refused with diverged and the inputs pass.
inline constexpr bool require_finite_after_accepted_step = MICROTL_DIVERGENCE_GUARD != 0;

inline constexpr std::size_t record_bytes = 20;
inline constexpr std::size_t max_records = 32;
inline constexpr std::size_t classes = 3;
inline constexpr std::array<float, 4> learning_rates = {0.01f, 0.1f, 1.0f, 100.0f};

// The MLP.
using Mlp = Sequential<Input<Shape<4>>, Trainable<Dense<5>>, ReLU, Trainable<Dense<3>>>;
using MlpTrainer = Trainer<Mlp, SoftmaxCrossEntropy, SGDMomentum>;

inline constexpr std::array<float, 20> mlp_w1 = {
    0.31f,  -0.12f, 0.05f, 0.44f, -0.27f, 0.18f, 0.09f, -0.36f, 0.22f,  -0.08f,
    -0.41f, 0.15f,  0.27f, 0.03f, -0.19f, 0.38f, 0.12f, 0.24f,  -0.33f, 0.06f};
inline constexpr std::array<float, 5> mlp_b1 = {0.01f, -0.02f, 0.03f, 0.0f, 0.05f};
inline constexpr std::array<float, 15> mlp_w2 = {0.25f,  -0.31f, 0.12f, 0.07f,  -0.22f,
                                                 -0.14f, 0.35f,  0.02f, -0.09f, 0.28f,
                                                 0.19f,  0.04f,  -0.3f, 0.21f,  -0.11f};
inline constexpr std::array<float, 3> mlp_b2 = {0.0f, 0.1f, -0.1f};
inline constexpr LinearParams<float, 20, 5> mlp_p1{mlp_w1, mlp_b1};
inline constexpr LinearParams<float, 15, 3> mlp_p2{mlp_w2, mlp_b2};

// The feature caches. A float one, over a frozen float Dense (the cache keeps float
// features, NaN and infinities included), fed the record's floats; and an int8 one, over an
// int8 extractor (the cache keeps int8 codes and replays the Dequantize), fed the record's
// 16 bytes as int8 codes.
//
// (A float-input model that quantizes on the way, Input<float> -> Quantize -> int8 layers ->
// Dequantize -> Trainable, would feed the int8 cache arbitrary floats; but FeatureCache::add
// does not compile for it: Trainer::forward_to_cache initialises each layer's output
// quantization from its input's (`out_quant = quant`), and a Quantize's input has none
// (NoQuant). Trainer::step compiles and runs on that model.)
using FloatNet = Sequential<Input<Shape<4>>, Dense<6>, ReLU, Trainable<Dense<3>>>;
using FloatTrainer = Trainer<FloatNet, SoftmaxCrossEntropy, SGDMomentum>;
using FloatCache = FeatureCache<FloatTrainer, 4>;
static_assert(!FloatTrainer::caches_int8);

using Int8Net =
    Sequential<Input<Shape<16>, QInt8>, Dense<6>, ReLU, Dequantize, Trainable<Dense<3>>>;
using Int8Trainer = Trainer<Int8Net, SoftmaxCrossEntropy, SGDMomentum>;
using Int8Cache = FeatureCache<Int8Trainer, 4>;
static_assert(Int8Trainer::caches_int8);

inline constexpr std::array<float, 24> frozen_w = {
    0.5f, -0.3f, 0.2f,  0.1f,  -0.4f, 0.6f, 0.05f, -0.2f,  0.3f,  0.3f, -0.1f, -0.5f,
    0.7f, 0.2f,  -0.6f, 0.15f, 0.25f, 0.0f, 0.45f, -0.35f, -0.2f, 0.1f, 0.4f,  0.05f};
inline constexpr std::array<float, 6> frozen_b = {0.1f, -0.1f, 0.05f, 0.0f, 0.2f, -0.05f};
inline constexpr LinearParams<float, 24, 6> frozen_p{frozen_w, frozen_b};
inline constexpr std::array<float, 18> head_w = {0.2f,  -0.1f, 0.3f, 0.05f, -0.25f, 0.1f,
                                                 -0.3f, 0.15f, 0.2f, 0.1f,  0.05f,  -0.2f,
                                                 0.12f, -0.2f, 0.1f, 0.3f,  -0.15f, 0.25f};
inline constexpr std::array<float, 3> head_b = {0.0f, 0.05f, -0.05f};
inline constexpr LinearParams<float, 18, 3> head_p{head_w, head_b};

inline constexpr quant::QuantParams int8_input{0.02f, -5};
// The int8 Dense's parameters; the model refers to them (frozen layers are not copied), so
// they live as long as the program.
inline const auto& int8_dense_params() {
  static const auto quantized = [] {
    std::array<float, 96> w{};
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = static_cast<float>((i * 37U) % 17U) * 0.05f - 0.4f;
    }
    const std::array<float, 6> b = {0.1f, -0.1f, 0.05f, 0.0f, 0.2f, -0.05f};
    return quantize_linear<ChannelAxis::leading>(std::span<const float, 96>(w),
                                                 std::span<const float, 6>(b), int8_input,
                                                 quant::QuantParams{0.05f, -128});
  }();
  static const auto params = quantized.params();
  return params;
}

struct Record {
  std::uint32_t label = 0;
  std::array<float, 4> input{};
};

// Within the guard's bound X (train/guard.hpp): finite, |x| <= 2^24.
inline bool finite_input(const Record& r) {
  bool finite = true;
  for (const float v : r.input) {
    finite = finite && std::isfinite(v) && std::fabs(v) <= guard::feature_limit;
  }
  return finite;
}

// FeatureCache::add with any label: refused exactly when due, stores exactly when ok.
template <class Cache, class TrainerT>
Failure check_add(Cache& cache, TrainerT& trainer, typename TrainerT::model_input_view input,
                  std::uint32_t label, Status input_status) {
  const std::size_t size_before = cache.size();
  const Status expected = label >= classes ? Status::label_out_of_range
                          : cache.full()   ? Status::capacity_exceeded
                                           : input_status;
  const Status added = cache.add(trainer, input, label);
  if (added != expected && !(expected == Status::ok && added == Status::out_of_range)) {
    return "FeatureCache::add answered other than label_out_of_range / capacity_exceeded / "
           "not_finite / out_of_range / ok as due";
  }
  if (cache.size() != size_before + (added == Status::ok ? 1U : 0U)) {
    return "FeatureCache::add stored a sample it refused, or did not store one it accepted";
  }
  if (added == Status::ok && cache.target(size_before) != label) {
    return "FeatureCache::add stored another label than the one given";
  }
  return nullptr;
}

// One epoch over whatever the cache holds.
template <class Cache, class TrainerT>
Failure check_epoch(Cache& cache, TrainerT& trainer, std::uint32_t seed) {
  const Status epoch = cache.train_epoch(trainer, seed);
  if (epoch != Status::ok && epoch != Status::not_finite && epoch != Status::diverged) {
    return "FeatureCache::train_epoch answered other than ok, not_finite, diverged";
  }
  return nullptr;
}

inline Failure run(std::span<const std::uint8_t> data) {
  ByteReader in(data);
  const std::uint8_t config = in.u8();
  const std::size_t batch = std::size_t{1} + (config & 0x3U);
  const float learning_rate = learning_rates[(config >> 2) & 0x3U];
  const std::uint32_t epoch_seed = static_cast<std::uint32_t>(config >> 4);
  const SGDMomentum optimizer{learning_rate, 0.9f, 1e-4f};

  Mlp model(mlp_p1, mlp_p2);
  Mlp twin_model(mlp_p1, mlp_p2);
  MlpTrainer::TrainingArena arena;
  MlpTrainer::TrainingArena twin_arena;
  MlpTrainer trainer(model, optimizer, arena, batch);
  MlpTrainer twin(twin_model, optimizer, twin_arena, batch);
  // The twins stay in step until a `diverged` refusal with a mini-batch of more than one:
  // the guard then drops the gradients the batch had accumulated, which the twin keeps.
  // With batch 1 a refused update must leave no trace at all, so they stay in step.
  bool twin_in_step = true;

  FloatNet float_model(frozen_p, head_p);
  FloatTrainer::TrainingArena float_arena;
  FloatTrainer float_trainer(float_model, optimizer, float_arena, batch);
  FloatCache float_cache;
  Int8Net int8_model(int8_input, int8_dense_params(), head_p);
  Int8Trainer::TrainingArena int8_arena;
  Int8Trainer int8_trainer(int8_model, optimizer, int8_arena, batch);
  Int8Cache int8_cache;

  for (std::size_t n = 0; n < max_records && in.remaining() > 0; ++n) {
    Record r;
    r.label = in.u32();
    for (float& v : r.input) {
      v = in.f32();
    }
    const bool valid = r.label < classes && finite_input(r);

    // The trainer.
    const Snapshot<Mlp> before = snapshot(model);
    const Status status = trainer.step(Mlp::input_view(r.input.data()), r.label);
    if (status != Status::ok) {
      if (snapshot(model) != before) {
        return "a refused step changed the parameters";
      }
      if (status != Status::label_out_of_range && status != Status::not_finite &&
          status != Status::out_of_range && status != Status::diverged) {
        return "a step was refused with a status other than label_out_of_range, not_finite, "
               "out_of_range, diverged";
      }
      twin_in_step = twin_in_step && (status != Status::diverged || batch == 1);
    } else {
      if (!valid) {
        return "a step with a label out of range or a non-finite input was accepted";
      }
      if (require_finite_after_accepted_step && !all_finite(model)) {
        return "an accepted step left a non-finite parameter";
      }
      if (twin_in_step && twin.step(Mlp::input_view(r.input.data()), r.label) != Status::ok) {
        return "the twin trainer refused a step the first one accepted";
      }
    }
    if (twin_in_step && snapshot(model) != snapshot(twin_model)) {
      return "a refused step left a trace in the trainer (the twin, which never saw it, differs)";
    }

    // The feature caches.
    // (A valid input can still make an out-of-range feature: the frozen Dense scales it.)
    const Status input_status = guard::check_features(r.input);
    if (const Failure f = check_add(float_cache, float_trainer,
                                    FloatNet::input_view(r.input.data()), r.label, input_status)) {
      return f;
    }
    std::array<std::int8_t, 16> codes{};
    std::memcpy(codes.data(), r.input.data(), codes.size());
    if (const Failure f = check_add(int8_cache, int8_trainer, Int8Net::input_view(codes.data()),
                                    r.label, Status::ok)) {
      return f;
    }
  }

  // The last, partial mini-batch.
  const Snapshot<Mlp> before_apply = snapshot(model);
  const Status applied = trainer.apply();
  if (applied != Status::ok) {
    if (applied != Status::diverged) {
      return "apply() answered other than ok or diverged";
    }
    if (snapshot(model) != before_apply) {
      return "apply() answered diverged but changed the parameters";
    }
  } else if (twin_in_step) {
    if (twin.apply() != Status::ok) {
      return "the twin trainer's apply() refused what the first one's accepted";
    }
    if (snapshot(model) != snapshot(twin_model)) {
      return "a refused step left a trace in the trainer (the twin differs after apply())";
    }
  }
  if (require_finite_after_accepted_step && !all_finite(model)) {
    return "apply() left a non-finite parameter";
  }

  if (const Failure f = check_epoch(float_cache, float_trainer, epoch_seed)) {
    return f;
  }
  return check_epoch(int8_cache, int8_trainer, epoch_seed);
}

}  // namespace microtl_fuzz::train_step
