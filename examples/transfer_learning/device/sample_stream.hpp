// The firmware's source of Fashion-MNIST samples: a learning.hpp stream over the unpacked idx
// files on the host, read one sample at a time through semihosting (board::FileSource), as a
// device would read them from a sensor. Shared by the demo's firmware programs.
//
//   demo::SampleStream train("train");   // or "t10k": the test set
//   MICROTL_TRY(train.open());
//   while (train.more()) { MICROTL_TRY(train.next(image, label)); ... }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "board/file_source.hpp"
#include "microtl/io/idx.hpp"
#include "model.hpp"

#ifndef MICROTL_DEMO_DATA_DIR
#error "MICROTL_DEMO_DATA_DIR: the folder holding the unpacked Fashion-MNIST idx files"
#endif

namespace demo {

class SampleStream {
 public:
  // `prefix`: "train" or "t10k" (the idx files' names start with it).
  explicit SampleStream(const char* prefix) : prefix_(prefix) {}

  mtl::Status open() {
    char path[256];
    std::snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", MICROTL_DEMO_DATA_DIR, prefix_);
    MICROTL_TRY(images_file_.open(path));
    std::snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", MICROTL_DEMO_DATA_DIR, prefix_);
    MICROTL_TRY(labels_file_.open(path));
    images_ = mtl::io::IdxReader<board::FileSource, 28, 28>(images_file_);
    labels_ = mtl::io::IdxReader<board::FileSource>(labels_file_);
    MICROTL_TRY(images_.open());
    MICROTL_TRY(labels_.open());
    return images_.count() == labels_.count() ? mtl::Status::ok : mtl::Status::size_mismatch;
  }
  bool more() const { return images_.remaining() > 0; }
  // The next image as the int8 model sees it (pixel_to_int8) and its label.
  mtl::Status next(std::array<std::int8_t, 784>& image, std::uint8_t& label) {
    std::array<std::uint8_t, 784> pixels{};
    std::array<std::uint8_t, 1> l{};
    MICROTL_TRY(images_.read_next(pixels));
    MICROTL_TRY(labels_.read_next(l));
    for (std::size_t k = 0; k < 784; ++k) {
      image[k] = pixel_to_int8(pixels[k]);
    }
    label = l[0];
    return label < kClasses ? mtl::Status::ok : mtl::Status::label_out_of_range;
  }

 private:
  const char* prefix_;
  board::FileSource images_file_;
  board::FileSource labels_file_;
  mtl::io::IdxReader<board::FileSource, 28, 28> images_{images_file_};
  mtl::io::IdxReader<board::FileSource> labels_{labels_file_};
};

}  // namespace demo
