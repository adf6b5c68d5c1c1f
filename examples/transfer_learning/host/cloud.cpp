// cloud: the baseline of the demo's comparison. The "cloud" receives the device's samples
// and trains the new head itself: here the host runs the very same learning session as the
// device (learning.hpp, same model, same samples, same recipe) and measures its wall time.
//
// The strategy (config.hpp) is a compile-time choice: demo_cloud runs the default, and
// demo_cloud_<strategy> (host/CMakeLists.txt) each of the others, as the firmware does.
//
//   demo_cloud --data DIR [--store FILE]
//
// --store: after learning, the parameter storage image, as the device's parameter flash holds
// it after its own session (ParameterStore over storage of the same geometry): scripts/demo
// compares the two files byte for byte.
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"

#include "../config.hpp"
#include "../learning.hpp"
#include "../model.hpp"
#include "dataset.hpp"
#include "deployed.hpp"
#include "reference.hpp"

namespace {

using namespace demo;
namespace gen = demo::generated;

// A learning.hpp stream over a loaded dataset.
class DatasetStream {
 public:
  explicit DatasetStream(const Dataset& data) : data_(data) {}
  mtl::Status open() {
    next_ = 0;
    return mtl::Status::ok;
  }
  bool more() const { return next_ < data_.size(); }
  mtl::Status next(std::array<std::int8_t, 784>& image, std::uint8_t& label) {
    const std::uint8_t* p = data_.image(next_);
    for (std::size_t k = 0; k < 784; ++k)
      image[k] = pixel_to_int8(p[k]);
    label = data_.labels[next_++];
    return label < kClasses ? mtl::Status::ok : mtl::Status::label_out_of_range;
  }

 private:
  const Dataset& data_;
  std::size_t next_ = 0;
};

struct WallClock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  void restart() { start = std::chrono::steady_clock::now(); }
  std::uint64_t elapsed() const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count());
  }
};

using namespace demo::deployed;

using Cache = mtl::FeatureCache<DeviceTrainer, kSamplesPerClass * kClasses>;

// After an epoch: the test set's accuracy with the head as it is now (the report's chart of
// accuracy per epoch; this replays the device's session, the same code on the same samples:
// the same floats too, so its last line is the device's result, which the report checks).
// Evaluating touches nothing the next
// epoch uses, and the time it takes is
// moved out of the given clocks, so the measured session stays the learning alone.
void print_epoch(DeviceTrainer& trainer, DatasetStream& test, const Cache& cache, int epoch,
                 std::initializer_list<WallClock*> clocks) {
  const WallClock pause;
  Accuracy accuracy;
  if (evaluate(trainer, test, kTestPerClass, accuracy, NoReference{}) == mtl::Status::ok) {
    std::printf("CLOUD epoch=%d loss=%.4f accuracy=%.2f old_classes=%.2f new_classes=%.2f\n", epoch,
                static_cast<double>(cache.last_epoch_loss()), accuracy.over(-1), accuracy.over(0),
                accuracy.over(1));
  }
  const auto spent = std::chrono::nanoseconds(pause.elapsed());
  for (WallClock* clock : clocks)
    clock->start += spent;
}

// The parameter storage image after one save of the learned parameters into erased storage:
// what the device's parameter flash file holds after its session (board::FileStorage: 256-byte
// sectors, byte writes, erased to 0xFF).
bool write_store(const DeviceModel& model, const std::string& path) {
  using Store = mtl::io::ParameterStore<DeviceModel, mtl::io::Geometry<256, 1>>;
  using Storage = mtl::io::RamStorage<Store::storage_bytes, 256, 1>;
  static Storage storage;
  if (Store::save(model, storage) != mtl::Status::ok)
    return false;
  static std::array<std::byte, Store::storage_bytes> image;
  if (storage.read(0, image) != mtl::Status::ok)
    return false;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr)
    return false;
  const bool written = std::fwrite(image.data(), 1, image.size(), f) == image.size();
  return std::fclose(f) == 0 && written;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string store_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--data")
      data_dir = argv[i + 1];
    if (std::string(argv[i]) == "--store")
      store_file = argv[i + 1];
  }
  Dataset train;
  Dataset test;
  if (!load_dataset(data_dir, "train", train) || !load_dataset(data_dir, "t10k", test)) {
    return 1;
  }
  static DeviceModel model(kInputQuant, conv1_argument, conv2_argument, conv3_argument, head1,
                           head2);
  static DeviceTrainer::TrainingArena arena;
  static Cache cache;
  DeviceTrainer trainer(model, head_optimizer(), arena, kBatch);
  if (configure(trainer, cache) != mtl::Status::ok)
    return 1;

  DatasetStream train_stream(train);
  DatasetStream test_stream(test);
  Accuracy before;
  Accuracy after;
  WallClock session;
  WallClock meter;
  std::uint64_t extraction_ns = 0;
  if (evaluate(trainer, test_stream, kTestPerClass, before, GeneratedReference{}) !=
      mtl::Status::ok)
    return 1;
  print_accuracy("CLOUD", "before", before);
  session.restart();
  if (collect(trainer, cache, train_stream, kSamplesPerClass, meter, extraction_ns) !=
      mtl::Status::ok)
    return 1;
  WallClock training;
  std::uint32_t epochs = 0;
  if (cache.train(trainer, kStopping, epochs, [&](std::uint32_t epoch) {
        print_epoch(trainer, test_stream, cache, static_cast<int>(epoch), {&session, &training});
      }) != mtl::Status::ok)
    return 1;
  const std::uint64_t training_ns = training.elapsed();
  const std::uint64_t session_ns = session.elapsed();
  std::printf(
      "CLOUD learning samples=%zu extraction_ns=%llu training_ns=%llu session_ns=%llu "
      "final_loss=%.4f\n",
      cache.size(), static_cast<unsigned long long>(extraction_ns),
      static_cast<unsigned long long>(training_ns), static_cast<unsigned long long>(session_ns),
      static_cast<double>(cache.last_epoch_loss()));
  if (evaluate(trainer, test_stream, kTestPerClass, after, GeneratedReference{}) != mtl::Status::ok)
    return 1;
  print_accuracy("CLOUD", "after", after);
  if (!store_file.empty() && !write_store(model, store_file))
    return 1;
  // The extractor computed other int8 features than the header's reference (printed above).
  return before.reference_mismatches == 0 && after.reference_mismatches == 0 ? 0 : 1;
}
