// One device of the fleet (issue 17): the demo's device code, run once per step of a Flower
// round by tools/fleet (on the host for the many, as the Cortex-M4F firmware in QEMU for at
// least one). Everything it keeps between runs is its parameter flash; everything it
// exchanges with the server is a parameter blob (io/parameter_blob.hpp): the trained values
// of the head, never a sample or a feature.
//
// It works in its current directory, on the files tools/fleet put there (file names, not
// arguments, so that the host build and the firmware behave the same):
//   flash.bin                     its parameter flash (a two-slot store; created erased)
//   global.bin        (optional)  a model from the server: accepted only if it is whole and
//                                 this model's (ParameterStore::accept: signature, version,
//                                 CRC, finite and admitted values), stored through the two
//                                 slots, and only then loaded; otherwise refused, and the
//                                 device keeps what it had
//   shard-images-idx3-ubyte,
//   shard-labels-idx1-ubyte (optional)  its own samples (what its sensor saw): it learns
//                                 from them, from the parameters it holds, for at most
//                                 MICROTL_FLEET_LOCAL_EPOCHS epochs; saves them to its
//                                 flash; writes them as update.bin (slot 0 of a fresh
//                                 two-slot image: the blob it sends)
//   epochs            (optional)  a number: the local epochs' limit instead of
//                                 MICROTL_FLEET_LOCAL_EPOCHS (a baseline that learns alone
//                                 for as many epochs as the fleet's rounds add up to)
//   send              (optional)  writes update.bin from what it holds, without learning
//                                 (the server's initial model: the factory head)
//   evaluate          (optional)  evaluates what it holds on the common test set
//                                 (t10k-*-idx?-ubyte: the first MICROTL_FLEET_TEST_PER_CLASS
//                                 images of each class) and checks the int8 features of the
//                                 reference images against the model header's
//
// It prints `FLEET key=value ...` lines; its exit status is 0 unless something failed that
// is not a refused global model (a refusal is an answer, printed as install=<status>).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "board/board.hpp"
#include "board/file_source.hpp"
#include "board/file_storage.hpp"
#include "config.hpp"
#include "deployed.hpp"
#include "learning.hpp"
#include "microtl/io/parameter_store.hpp"
#include "model.hpp"
#include "reference.hpp"
#include "sample_stream.hpp"

#ifndef MICROTL_FLEET_MAX_SAMPLES
#define MICROTL_FLEET_MAX_SAMPLES 64  // a device's samples (the feature cache's capacity)
#endif
#ifndef MICROTL_FLEET_LOCAL_EPOCHS
#define MICROTL_FLEET_LOCAL_EPOCHS 5  // at most this many epochs per round
#endif
#ifndef MICROTL_FLEET_TEST_PER_CLASS
#define MICROTL_FLEET_TEST_PER_CLASS 100
#endif

namespace {

using namespace demo;
using namespace demo::deployed;

static_assert(kStrategy == Strategy::head || kStrategy == Strategy::last,
              "the fleet exchanges a float head: strategy head or last");

DeviceModel model(kInputQuant, conv1_argument, conv2_argument, conv3_argument, head1, head2);
using Cache = mtl::FeatureCache<DeviceTrainer, MICROTL_FLEET_MAX_SAMPLES>;
using Store = mtl::io::ParameterStore<DeviceModel, board::FileStorage>;
DeviceTrainer::TrainingArena training_arena;
Cache cache;
// Where load() and accept() check a blob before the model takes it.
Store::Staging staging;

bool exists(const char* path) {
  board::FileSource file;
  return file.open(path) == mtl::Status::ok;
}

// The number in the file `epochs` (decimal digits), or MICROTL_FLEET_LOCAL_EPOCHS.
std::uint32_t local_epochs() {
  board::FileSource file;
  std::array<std::byte, 8> text{};
  const long length = file.open("epochs") == mtl::Status::ok ? file.length() : -1;
  if (length <= 0 || static_cast<std::size_t>(length) > text.size() ||
      file.read(std::span<std::byte>(text.data(), static_cast<std::size_t>(length))) !=
          mtl::Status::ok) {
    return MICROTL_FLEET_LOCAL_EPOCHS;
  }
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(length); ++i) {
    const auto c = static_cast<unsigned>(text[i]);
    if (c >= '0' && c <= '9') {
      n = 10 * n + (c - '0');
    }
  }
  return n >= 1 && n <= 10000 ? n : MICROTL_FLEET_LOCAL_EPOCHS;
}

// What it holds, as the blob it sends: slot 0 of a fresh two-slot image (update.bin).
mtl::Status send() {
  static board::FileStorage update;
  MICROTL_TRY(update.open("update.bin", Store::storage_bytes));
  return Store::save(model, update);
}

struct Instructions {
  board::InstructionCounter counter;
  void restart() { counter.restart(); }
  std::uint64_t elapsed() const { return counter.elapsed(); }
};

// Every sample of the shard into the cache (a device keeps what its sensor gave it).
mtl::Status collect_shard(DeviceTrainer& trainer, std::uint64_t& instructions) {
  SampleStream shard("shard");
  MICROTL_TRY(shard.open());
  std::array<std::int8_t, 784> image{};
  std::uint8_t label = 0;
  Instructions meter;
  instructions = 0;
  while (shard.more()) {
    if (cache.full()) {
      return mtl::Status::size_mismatch;  // more samples than MICROTL_FLEET_MAX_SAMPLES
    }
    MICROTL_TRY(shard.next(image, label));
    meter.restart();
    MICROTL_TRY(cache.add(trainer, DeviceTrainer::model_input_view(image), label));
    instructions += meter.elapsed();
  }
  return cache.size() > 0 ? mtl::Status::ok : mtl::Status::truncated;
}

int learn(DeviceTrainer& trainer, board::FileStorage& flash) {
  std::uint64_t extraction = 0;
  if (const mtl::Status s = collect_shard(trainer, extraction); s != mtl::Status::ok) {
    std::printf("FLEET error=collect status=%s\n", mtl::to_string(s));
    return 1;
  }
  const mtl::EarlyStopping stopping{local_epochs(), kSettledFraction};
  std::uint32_t epochs = 0;
  Instructions counter;
  std::uint64_t training = 0;
  const mtl::Status learned = cache.train(trainer, stopping, epochs, [&](std::uint32_t) {
    training += counter.elapsed();
    counter.restart();
  });
  if (learned != mtl::Status::ok) {
    std::printf("FLEET error=train status=%s\n", mtl::to_string(learned));
    return 1;
  }
  std::printf(
      "FLEET learn samples=%u epochs=%u loss=%.4f extraction_instructions=%llu "
      "training_instructions=%llu\n",
      static_cast<unsigned>(cache.size()), static_cast<unsigned>(epochs),
      static_cast<double>(cache.last_epoch_loss()), static_cast<unsigned long long>(extraction),
      static_cast<unsigned long long>(training));
  // Kept, then sent: the update is slot 0 of a fresh image, exactly the blob the store writes.
  const mtl::Status saved = Store::save(model, flash);
  const mtl::Status sent = send();
  std::printf("FLEET update saved=%s sent=%s blob_bytes=%u\n", mtl::to_string(saved),
              mtl::to_string(sent), static_cast<unsigned>(Store::blob_bytes));
  return saved == mtl::Status::ok && sent == mtl::Status::ok ? 0 : 1;
}

int run() {
  std::printf(
      "FLEET device core=%s strategy=%s max_samples=%u local_epochs=%u signature=%lu values=%u "
      "blob_bytes=%u slot_bytes=%u\n",
      board::core_name(), strategy_name(kStrategy),
      static_cast<unsigned>(MICROTL_FLEET_MAX_SAMPLES),
      static_cast<unsigned>(MICROTL_FLEET_LOCAL_EPOCHS),
      static_cast<unsigned long>(Store::signature), static_cast<unsigned>(Store::value_count),
      static_cast<unsigned>(Store::blob_bytes), static_cast<unsigned>(Store::slot_bytes));
  static board::FileStorage flash;
  if (const mtl::Status s = flash.open("flash.bin", Store::storage_bytes); s != mtl::Status::ok) {
    std::printf("FLEET error=storage status=%s\n", mtl::to_string(s));
    return 1;
  }
  // Boot: what the flash holds, or the factory head (nothing stored yet).
  const mtl::Status restored = Store::load(model, flash, staging);
  std::printf("FLEET restored=%s\n", mtl::to_string(restored));

  if (exists("global.bin")) {
    static std::array<std::byte, Store::blob_bytes + 64> received{};
    board::FileSource file;
    const long length = file.open("global.bin") == mtl::Status::ok ? file.length() : -1;
    mtl::Status installed = mtl::Status::io_error;
    if (length >= 0 && static_cast<std::size_t>(length) <= received.size()) {
      const auto bytes = std::span<std::byte>(received.data(), static_cast<std::size_t>(length));
      installed = file.read(bytes);
      if (installed == mtl::Status::ok) {
        installed = Store::accept(model, bytes, flash, staging);
      }
    } else if (length >= 0) {
      installed = mtl::Status::size_mismatch;  // longer than any blob of this model
    }
    std::printf("FLEET install=%s\n", mtl::to_string(installed));
  }

  DeviceTrainer trainer(model, head_optimizer(), training_arena, kBatch);
  if (configure(trainer, cache) != mtl::Status::ok) {
    return 1;
  }
  if (exists("shard-images-idx3-ubyte")) {
    if (const int failed = learn(trainer, flash); failed != 0) {
      return failed;
    }
  }
  if (exists("send")) {
    const mtl::Status sent = send();
    std::printf("FLEET sent=%s\n", mtl::to_string(sent));
    if (sent != mtl::Status::ok) {
      return 1;
    }
  }
  if (exists("evaluate")) {
    SampleStream test("t10k");
    Accuracy accuracy;
    if (evaluate(trainer, test, MICROTL_FLEET_TEST_PER_CLASS, accuracy, GeneratedReference{}) !=
        mtl::Status::ok) {
      std::printf("FLEET error=evaluate\n");
      return 1;
    }
    print_accuracy("FLEET", "evaluate", accuracy);
    return accuracy.reference_mismatches == 0 ? 0 : 1;
  }
  return 0;
}

}  // namespace

int main() {
  return run();
}
