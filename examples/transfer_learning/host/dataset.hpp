// Fashion-MNIST on the host: the idx files read through microtl's validating idx reader,
// held in memory (host tools may allocate; the library never does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace demo {

struct Dataset {
  std::vector<std::uint8_t> pixels;  // count x 784
  std::vector<std::uint8_t> labels;  // count
  std::size_t size() const { return labels.size(); }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * 784; }
};

// Reads <dir>/<prefix>-images-idx3-ubyte and <dir>/<prefix>-labels-idx1-ubyte (prefix
// "train" or "t10k"). Returns false, with a message on stderr, when either file is missing,
// malformed or truncated, or the two disagree on the number of samples.
bool load_dataset(const std::string& dir, const std::string& prefix, Dataset& out);

// The indices of the samples whose label satisfies `keep`, at most `per_class` of each
// class (0: all), in file order.
template <class Keep>
std::vector<std::size_t> select(const Dataset& data, Keep keep, std::size_t per_class) {
  std::vector<std::size_t> taken(10, 0);
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::size_t label = data.labels[i];
    if (label < 10 && keep(label) && (per_class == 0 || taken[label] < per_class)) {
      ++taken[label];
      indices.push_back(i);
    }
  }
  return indices;
}

}  // namespace demo
