// The cycle estimate's probe: the demo's own work on the device, cut into small portions
// between region markers, for scripts/lib/cpi_estimate.py (docs/cycle_estimate.md).
//
// The tool runs this firmware in QEMU with QEMU's log of executed translation blocks, counts
// and classifies every instruction executed between cpi_region_begin() and cpi_region_end(),
// and applies the Cortex-M4 instruction timings to them. The regions are the demo's work,
// with the demo's model, data and trainer:
//   extraction  one training image through the int8 extractor into the feature cache
//               (FeatureCache::add, as learning.hpp's collect() measures it), several times;
//   head_epoch  one epoch of the head's learning over the cached features
//               (FeatureCache::train_epoch with SGD momentum, the demo's learning rate,
//               momentum, weight decay and mini-batch), over a cache of kCacheSamples;
//   empty       nothing between the markers: calibrates the fixed cost of measuring.
// Each region is also measured with the board's InstructionCounter (QEMU -icount), printed
// as `CPI region=NAME instructions=N` after the region, so that the tool can check that it
// counts the instructions -icount counts.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "board/board.hpp"
#include "config.hpp"
#include "deployed.hpp"
#include "learning.hpp"
#include "model.hpp"
#include "sample_stream.hpp"

// The markers: the tool finds them by these names. Not inlined, and different from each
// other (each stores to its own variable) so that the linker cannot fold them into one.
extern "C" {
volatile std::uint32_t cpi_region_opened = 0;
volatile std::uint32_t cpi_region_closed = 0;
__attribute__((noinline, used)) void cpi_region_begin(std::uint32_t id) {
  cpi_region_opened = id;
}
__attribute__((noinline, used)) void cpi_region_end(std::uint32_t id) {
  cpi_region_closed = id;
}
}

namespace {

using namespace demo;
using namespace demo::deployed;

// Small portions, so that QEMU's execution log stays small: 2 samples of each class in the
// cache (20 samples, against the demo's kSamplesPerClass), the first few of them measured.
constexpr std::size_t kPerClass = 2;
constexpr std::size_t kCacheSamples = kPerClass * kClasses;
constexpr std::size_t kExtractionRuns = 4;
constexpr std::uint32_t kHeadEpochRuns = 2;
constexpr int kEmptyRuns = 3;

enum Region : std::uint32_t { empty = 1, extraction = 2, head_epoch = 3 };
constexpr std::array<const char*, 4> kRegionNames = {"", "empty", "extraction", "head_epoch"};

DeviceModel model(kInputQuant, conv1, conv2, conv3, head1, head2);
using Cache = mtl::FeatureCache<DeviceTrainer, kCacheSamples>;
DeviceTrainer::TrainingArena training_arena;
Cache cache;

// What the measured jobs work on (they take no arguments: see measured()).
struct Job {
  DeviceTrainer* trainer = nullptr;
  std::array<std::int8_t, 784> image{};
  std::uint8_t label = 0;
  std::uint32_t epoch = 0;
  mtl::Status status = mtl::Status::ok;
};
Job job;

void nothing() {}
void extract_one() {
  job.status = cache.add(*job.trainer, DeviceTrainer::model_input_view(job.image), job.label);
}
void train_one_epoch() {
  job.status = cache.train_epoch(*job.trainer, job.epoch);
}

// Every region is measured by this one function, so that the instructions around the markers
// (the counter's own, the calls) are the same for every region, the empty one included.
__attribute__((noinline)) std::uint64_t measured(Region region, void (*work)()) {
  board::InstructionCounter counter;
  cpi_region_begin(region);
  work();
  cpi_region_end(region);
  return counter.elapsed();
}

void report(Region region, std::uint64_t instructions) {
  std::printf("CPI region=%s instructions=%llu\n", kRegionNames[region],
              static_cast<unsigned long long>(instructions));
}

int run() {
  std::printf(
      "DEMO cpi_probe core=%s cache_samples=%u extraction_runs=%u head_epoch_runs=%u batch=%u "
      "learning_rate=%.4f hidden=%u\n",
      board::core_name(), static_cast<unsigned>(kCacheSamples),
      static_cast<unsigned>(kExtractionRuns), static_cast<unsigned>(kHeadEpochRuns),
      static_cast<unsigned>(kBatch), static_cast<double>(kLearningRate),
      static_cast<unsigned>(kHidden));
  DeviceTrainer trainer(model, head_optimizer(), training_arena, kBatch);
  if (configure(trainer, cache) != mtl::Status::ok) {
    return 1;
  }
  job.trainer = &trainer;

  for (int i = 0; i < kEmptyRuns; ++i) {
    report(empty, measured(empty, nothing));
  }

  // The cache fills as learning.hpp's collect() fills it: the first kPerClass images of each
  // class in the training set; the first kExtractionRuns of them are measured.
  SampleStream train("train");
  if (const mtl::Status s = train.open(); s != mtl::Status::ok) {
    std::printf("DEMO error=open status=%s\n", mtl::to_string(s));
    return 1;
  }
  std::array<std::size_t, kClasses> taken{};
  std::size_t runs = 0;
  while (train.more() && !cache.full()) {
    if (const mtl::Status s = train.next(job.image, job.label); s != mtl::Status::ok) {
      std::printf("DEMO error=read status=%s\n", mtl::to_string(s));
      return 1;
    }
    if (taken[job.label] == kPerClass) {
      continue;
    }
    if (runs < kExtractionRuns) {
      report(extraction, measured(extraction, extract_one));
      ++runs;
    } else {
      extract_one();
    }
    if (job.status != mtl::Status::ok) {
      std::printf("DEMO error=extract status=%s\n", mtl::to_string(job.status));
      return 1;
    }
    ++taken[job.label];
  }
  if (!cache.full()) {
    std::printf("DEMO error=cache samples=%u\n", static_cast<unsigned>(cache.size()));
    return 1;
  }

  // Epochs as the demo runs them: the epoch number seeds the shuffle.
  for (std::uint32_t epoch = 1; epoch <= kHeadEpochRuns; ++epoch) {
    job.epoch = epoch;
    report(head_epoch, measured(head_epoch, train_one_epoch));
    if (job.status != mtl::Status::ok) {
      std::printf("DEMO error=train status=%s\n", mtl::to_string(job.status));
      return 1;
    }
    std::printf("DEMO cpi_probe epoch=%u loss=%.4f\n", static_cast<unsigned>(epoch),
                static_cast<double>(cache.last_epoch_loss()));
  }
  return 0;
}

}  // namespace

int main() {
  return run();
}
