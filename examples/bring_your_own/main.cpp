// Bring your own model (README): the Keras CNN of train_keras.py, imported by
// `scripts/import model.tflite -o model.hpp --cut 7`, learns 3 new Fashion-MNIST classes on the
// device. The int8 extractor (operators 0-6) stays in flash; the two Dense layers (operators 7
// and 8) are a float head that trains. The same program runs on the host and, built by the
// Makefile next to it, on a Cortex-M4F in QEMU. Static memory only.
//
// Prints the accuracy on held-out images of the old classes (0-6) and of the new ones (7-9)
// before and after learning; returns nonzero when the new classes are not learnt (80 % at
// least) or the old ones lose more than 10 points.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "model.hpp"    // scripts/import's output
#include "samples.hpp"  // train_keras.py's images

namespace mtl = microtl;

// [readme]
using Trainer = mtl::Trainer<model::Model, mtl::SoftmaxCrossEntropy, mtl::SGD>;
using Cache = mtl::FeatureCache<Trainer, std::size(samples::learn_labels)>;
static_assert(mtl::is_trainable_v<model::Model::layer<8>>);   // the head: Dense<32>, Dense<10>
static_assert(!mtl::is_trainable_v<model::Model::layer<4>>);  // the int8 extractor: frozen

model::Model net = model::make_model();  // int8 parameters in flash, the head's in RAM
model::Model::InferenceArena inference_arena;
Trainer::TrainingArena training_arena;
Cache cache;  // the extractor's int8 output per training image, 144 bytes each
// [/readme]

namespace {

struct Accuracy {
  unsigned old_right = 0, old_total = 0, new_right = 0, new_total = 0;
};

std::span<const std::int8_t, 784> image(const std::int8_t (&pixels)[784]) {
  return pixels;
}

Accuracy evaluate() {
  Accuracy a;
  for (std::size_t i = 0; i < std::size(samples::test_labels); ++i) {
    const auto logits = net.forward(image(samples::test_images[i]), inference_arena).values;
    std::size_t best = 0;
    for (std::size_t c = 1; c < 10; ++c) {
      best = logits[c] > logits[best] ? c : best;
    }
    const bool right = best == samples::test_labels[i];
    if (samples::test_labels[i] < 7) {
      a.old_right += right ? 1U : 0U;
      ++a.old_total;
    } else {
      a.new_right += right ? 1U : 0U;
      ++a.new_total;
    }
  }
  return a;
}

unsigned percent(unsigned right, unsigned total) {
  return (200U * right + total) / (2U * total);
}

void print(const char* when, const Accuracy& a) {
  std::printf("%s: old classes 0-6 %u/%u (%u %%), new classes 7-9 %u/%u (%u %%)\n", when,
              a.old_right, a.old_total, percent(a.old_right, a.old_total), a.new_right, a.new_total,
              percent(a.new_right, a.new_total));
}

}  // namespace

int main() {
  const Accuracy before = evaluate();
  print("before", before);

  // [readme]
  Trainer trainer(net, mtl::SGD{0.01f}, training_arena);
  for (std::size_t i = 0; i < std::size(samples::learn_labels); ++i) {  // extractor: once each
    if (cache.add(trainer, image(samples::learn_images[i]), samples::learn_labels[i]) !=
        mtl::Status::ok) {
      return 1;
    }
  }
  std::uint32_t epochs = 0;
  if (cache.train(trainer, mtl::EarlyStopping{.max_epochs = 30}, epochs) != mtl::Status::ok) {
    return 1;
  }
  // [/readme]

  const Accuracy after = evaluate();
  print("after", after);
  const bool learnt = 100U * after.new_right >= 80U * after.new_total;
  const bool kept = percent(after.old_right, after.old_total) + 10U >=
                    percent(before.old_right, before.old_total);
  std::printf("%u images, %u epochs: %s\n", static_cast<unsigned>(cache.size()),
              static_cast<unsigned>(epochs), learnt && kept ? "ok" : "FAILED");
  return learnt && kept ? 0 : 1;
}
