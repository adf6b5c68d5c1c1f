// Replays the fuzz harnesses' committed inputs as a unit test, on every host preset (any
// compiler, with ASan+UBSan in the sanitize preset): the seed corpus (tests/fuzz/corpus/
// <harness>/) and every input that once broke a property or crashed
// (tests/fuzz/regressions/<harness>/, see scripts/fuzz). Each file goes through the same
// function as the libFuzzer binary; a property it breaks fails the test with its message.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "harness_idx.hpp"
#include "harness_parameter_blob.hpp"
#include "harness_train_step.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Every regular file under tests/fuzz/<kind>/<harness>/, in name order (a missing folder
// has none). Returns how many were replayed.
template <class Harness>
std::size_t replay(const char* kind, const char* harness, Harness run) {
  const fs::path folder = fs::path(MICROTL_FUZZ_DIR) / kind / harness;
  std::vector<fs::path> files;
  if (fs::is_directory(folder)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
      if (entry.is_regular_file()) {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    const std::vector<std::uint8_t> bytes = read_file(path);
    const microtl_fuzz::Failure failure = run(std::span<const std::uint8_t>(bytes));
    const std::string what = path.string() + ": " + (failure != nullptr ? failure : "ok");
    CHECK_MESSAGE(failure == nullptr, what);
  }
  const std::string summary =
      std::string(harness) + ": " + std::to_string(files.size()) + " " + kind + " inputs replayed";
  MESSAGE(summary);
  return files.size();
}

}  // namespace

TEST_CASE("fuzz inputs: parameter blob") {
  CHECK(replay("corpus", "fuzz_parameter_blob", microtl_fuzz::parameter_blob::run) > 0);
  replay("regressions", "fuzz_parameter_blob", microtl_fuzz::parameter_blob::run);
}

TEST_CASE("fuzz inputs: idx") {
  CHECK(replay("corpus", "fuzz_idx", microtl_fuzz::idx::run) > 0);
  replay("regressions", "fuzz_idx", microtl_fuzz::idx::run);
}

TEST_CASE("fuzz inputs: train step") {
  namespace train_step = microtl_fuzz::train_step;
  train_step::guard_decisions = {};
  CHECK(replay("corpus", "fuzz_train_step", train_step::run) > 0);
  replay("regressions", "fuzz_train_step", train_step::run);
  // The committed inputs take the fused guard through each of its decisions, so that the
  // harness's comparison of its two modes (GuardCheck::bounded and full) covers them all.
  const train_step::GuardDecisions& d = train_step::guard_decisions;
  const std::string decisions =
      "fused steps: " + std::to_string(d.proven) + " proven by the bound, " +
      std::to_string(d.checked) + " accepted by the full check after the bound failed, " +
      std::to_string(d.refused) + " refused (diverged) by both modes; feature-cache epochs of " +
      "fused steps: " + std::to_string(d.cache_epochs_ok) + " ok, " +
      std::to_string(d.cache_epochs_diverged) + " diverged";
  MESSAGE(decisions);
  CHECK(d.proven > 0);
  CHECK(d.checked > 0);
  CHECK(d.refused > 0);
  CHECK(d.cache_epochs_ok > 0);
  CHECK(d.cache_epochs_diverged > 0);
}
