// The device side of the transfer-learning demo: a Cortex-M4F (QEMU mps2-an386) shipped with
// a model that knows 7 Fashion-MNIST classes learns the 3 new ones, keeps what it learned
// across a reset, and reports what it cost.
//
// At start-up it tries to restore a learned head from its parameter storage (a flash region;
// here a host file reached through semihosting). Then:
//  - nothing stored: it evaluates the factory head on the test set; streams training samples
//    one at a time (as from a sensor) through the frozen int8 extractor into a feature cache;
//    trains the float head over the cache (plain SGD fused into the backward pass; samples
//    the head already gets right with a margin skip their backward pass; the epochs stop
//    once few samples still need one); saves the head; and
//    evaluates again;
//  - a head stored: it loads it and evaluates, without learning ("after a reboot").
//
// Every figure is printed as a `DEMO key=value ...` line for the report (host/report.cpp).
// Instructions are counted under QEMU -icount: instructions, not cycles.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <type_traits>

#include "board/board.hpp"
#include "board/file_storage.hpp"
#include "config.hpp"
#include "deployed.hpp"
#include "learning.hpp"
#include "microtl/io/parameter_store.hpp"
#include "model.hpp"
#include "reference.hpp"
#include "sample_stream.hpp"

#ifndef MICROTL_DEMO_STORAGE_FILE
#error "MICROTL_DEMO_STORAGE_FILE: the host file that stands for the device's parameter flash"
#endif

namespace {

using namespace demo;
namespace gen = demo::generated;

// The model (deployed.hpp: int8 extractor in flash, head copied into RAM: it trains).
using namespace demo::deployed;

DeviceModel model(kInputQuant, conv1_argument, conv2_argument, conv3_argument, head1, head2);

using Cache = mtl::FeatureCache<DeviceTrainer, kSamplesPerClass * kClasses>;
// The parameter store, laid out in the sectors of the storage that stands for the flash.
using Store = mtl::io::ParameterStore<DeviceModel, board::FileStorage>;

// Working memory: all of it static, all of it sized at compile time.
DeviceTrainer::TrainingArena training_arena;
Cache cache;

// load() checks a stored blob in a staging area before it replaces the model's parameters:
// the training arena, unused until the trainer is constructed (which clears it), so the check
// costs no RAM of its own; or, where the arena is smaller than the blob's payload (the last
// strategy), a buffer of its own.
constexpr bool kStagesInArena = DeviceTrainer::training_arena_bytes >= Store::payload_bytes;
constexpr std::size_t kStagingBytes = kStagesInArena ? 0 : Store::payload_bytes;
static_assert(kStagesInArena || kStrategy != Strategy::head,
              "the default strategy checks a stored blob in its training arena: no RAM of its own");

// What the model and its learning take in RAM, against an nRF52840's 256 KB (the linked
// ELF's sections are checked as well, by scripts/demo and a test).
constexpr std::size_t kLearningRam =
    sizeof(DeviceModel) + DeviceTrainer::training_arena_bytes + sizeof(Cache) + kStagingBytes;
// The default strategy must fit. Another (config.hpp) that does not is built all the same,
// for the strategies table, which reports learning_ram against this budget rather than
// shrink that strategy's experiment until it fits.
static_assert(kLearningRam <= 192 * 1024 || kStrategy != Strategy::head,
              "model state + training arena + feature cache must leave room for the rest of the "
              "firmware on a 256 KB part");

struct Instructions {
  board::InstructionCounter counter;
  void restart() { counter.restart(); }
  std::uint64_t elapsed() const { return counter.elapsed(); }
};

mtl::Status evaluate_and_print(DeviceTrainer& trainer, const char* phase, Accuracy& accuracy) {
  SampleStream test("t10k");
  MICROTL_TRY(evaluate(trainer, test, kTestPerClass, accuracy, GeneratedReference{}));
  print_accuracy("DEMO", phase, accuracy);
  return accuracy.reference_mismatches == 0 ? mtl::Status::ok : mtl::Status::checksum_mismatch;
}

int run() {
  std::printf(
      "DEMO config core=%s samples_per_class=%u epochs=%d batch=%u learning_rate=%.4f "
      "test_per_class=%u hidden=%u\n",
      board::core_name(), static_cast<unsigned>(kSamplesPerClass), kEpochs,
      static_cast<unsigned>(kBatch), static_cast<double>(kLearningRate),
      static_cast<unsigned>(kTestPerClass), static_cast<unsigned>(kHidden));
  std::printf(
      "DEMO memory inference_arena=%u training_arena=%u feature_cache=%u model_state=%u "
      "parameter_storage=%u "
      "learning_ram=%u cache_bytes_per_sample=%u\n",
      static_cast<unsigned>(DeviceModel::inference_arena_bytes),
      static_cast<unsigned>(DeviceTrainer::training_arena_bytes),
      static_cast<unsigned>(sizeof(Cache)), static_cast<unsigned>(sizeof(DeviceModel)),
      static_cast<unsigned>(Store::storage_bytes), static_cast<unsigned>(kLearningRam),
      static_cast<unsigned>(Cache::bytes_per_sample));

  static board::FileStorage flash;
  if (const mtl::Status s = flash.open(MICROTL_DEMO_STORAGE_FILE, Store::storage_bytes);
      s != mtl::Status::ok) {
    std::printf("DEMO error=storage status=%s\n", mtl::to_string(s));
    return 1;
  }
  // load() checks the stored parameters in a staging area before it replaces the model's
  // (kStagesInArena, above).
  const mtl::Status restored = [&] {
    if constexpr (kStagesInArena) {
      return Store::load(model, flash, training_arena.bytes().first<Store::payload_bytes>());
    } else {
      static std::array<std::byte, Store::payload_bytes> staging;  // kStagingBytes
      return Store::load(model, flash, std::span<std::byte, Store::payload_bytes>(staging));
    }
  }();

  DeviceTrainer trainer(model, head_optimizer(), training_arena, kBatch);
  if (configure(trainer, cache) != mtl::Status::ok) {
    return 1;
  }
  Accuracy accuracy;
  if (restored == mtl::Status::ok) {
    std::printf("DEMO restored=ok (the learned head was loaded from flash: no learning)\n");
    return evaluate_and_print(trainer, "restored", accuracy) == mtl::Status::ok ? 0 : 1;
  }
  std::printf("DEMO restored=%s (nothing learned yet: learning now)\n", mtl::to_string(restored));

  if (evaluate_and_print(trainer, "before", accuracy) != mtl::Status::ok) {
    return 1;
  }

  Instructions meter;
  std::uint64_t extraction = 0;
  SampleStream train("train");
  if (const mtl::Status s = collect(trainer, cache, train, kSamplesPerClass, meter, extraction);
      s != mtl::Status::ok) {
    std::printf("DEMO error=collect status=%s\n", mtl::to_string(s));
    return 1;
  }
  std::printf("DEMO extraction samples=%u instructions=%llu per_sample=%llu\n",
              static_cast<unsigned>(cache.size()), static_cast<unsigned long long>(extraction),
              static_cast<unsigned long long>(extraction / cache.size()));
  // The epochs, until early stopping (config.hpp); each epoch's count leaves out its print.
  std::uint64_t training = 0;
  std::uint32_t epochs = 0;
  Instructions counter;
  const mtl::Status learned = cache.train(trainer, kStopping, epochs, [&](std::uint32_t epoch) {
    const std::uint64_t instructions = counter.elapsed();
    training += instructions;
    std::printf("DEMO epoch=%u loss=%.4f stepped=%u instructions=%llu\n",
                static_cast<unsigned>(epoch), static_cast<double>(cache.last_epoch_loss()),
                static_cast<unsigned>(cache.last_epoch_stepped()),
                static_cast<unsigned long long>(instructions));
    counter.restart();
  });
  if (learned != mtl::Status::ok) {
    std::printf("DEMO error=train status=%s\n", mtl::to_string(learned));
    return 1;
  }
  // The session: the extractor on each cached sample plus the epochs (reading the data
  // from the host and printing are left out).
  std::printf(
      "DEMO learning epochs=%u skipped_samples=%u extraction_instructions=%llu "
      "training_instructions=%llu session_instructions=%llu\n",
      static_cast<unsigned>(epochs), static_cast<unsigned>(trainer.skipped_samples()),
      static_cast<unsigned long long>(extraction), static_cast<unsigned long long>(training),
      static_cast<unsigned long long>(extraction + training));
  // How far normal training stays from the guard's bounds (train/guard.hpp): the largest
  // trained value against the parameter bound, and what the guard refused.
  float largest = 0.0f;
  mtl::for_each_trained_tensor(model, [&](auto, auto, auto values) {
    for (const float v : values) {
      largest = std::fabs(v) > largest ? std::fabs(v) : largest;
    }
  });
  std::printf(
      "DEMO guard largest_parameter=%.4f parameter_limit=%.0f diverged_steps=%u "
      "refused_samples=%u\n",
      static_cast<double>(largest), static_cast<double>(mtl::guard::parameter_limit),
      static_cast<unsigned>(trainer.diverged_steps()),
      static_cast<unsigned>(trainer.refused_samples()));

  Instructions save_counter;
  const mtl::Status saved = Store::save(model, flash);
  std::printf("DEMO saved=%s blob_bytes=%u instructions=%llu\n", mtl::to_string(saved),
              static_cast<unsigned>(Store::blob_bytes),
              static_cast<unsigned long long>(save_counter.elapsed()));
  if (saved != mtl::Status::ok) {
    return 1;
  }
  return evaluate_and_print(trainer, "after", accuracy) == mtl::Status::ok ? 0 : 1;
}

}  // namespace

int main() {
  return run();
}
