// Writes the fuzz harnesses' seed corpus: small valid inputs made by the library itself
// (a parameter blob saved by io::ParameterStore, tiny idx files, training samples), plus a
// few near-misses, each in its harness's input format (harness_*.hpp).
//
//   fuzz_make_corpus <dir>           writes <dir>/fuzz_<harness>/<name>
//   fuzz_make_corpus --check <dir>   exits 1 when a file in <dir> differs from what it would
//                                    write (CTest: fuzz_corpus_current)
//
// The committed corpus (tests/fuzz/corpus) is this program's output: regenerate it with
// `build/host/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus` after a change to the blob
// format, the model signature or a harness's input format.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "harness_idx.hpp"
#include "harness_parameter_blob.hpp"
#include "harness_train_step.hpp"

namespace {

namespace fs = std::filesystem;
using namespace microtl;
using Bytes = std::vector<std::uint8_t>;

struct Seed {
  std::string harness;
  std::string name;
  Bytes bytes;
};

// ---------------------------------------------------------------------------------------
// Parameter blobs: flags byte, then the region without its trailing erased bytes (the
// harness erases what the input does not give).
// ---------------------------------------------------------------------------------------
namespace blob = microtl_fuzz::parameter_blob;

// Same slot size as blob::Model (43 values: 196 bytes, one 256-byte unit), another model.
using OtherModel = Sequential<Input<Shape<6>>, Trainable<Dense<4>>, ReLU, Trainable<Dense<3>>>;
static_assert(io::ParameterStore<OtherModel>::storage_bytes == blob::Store::storage_bytes);

Bytes blob_input(std::uint8_t flags, const blob::Region& region) {
  Bytes bytes{flags};
  std::size_t end = region.size();
  while (end > 0 && region.raw()[end - 1] == std::byte{0xFF}) {
    --end;
  }
  for (std::size_t i = 0; i < end; ++i) {
    bytes.push_back(static_cast<std::uint8_t>(region.raw()[i]));
  }
  return bytes;
}

bool blob_seeds(std::vector<Seed>& seeds) {
  bool ok = true;
  const auto expect = [&](const char* name, const Bytes& input, Status status) {
    blob::Region region = blob::region_from(input);
    blob::Model model = blob::make_model();
    const Status loaded = blob::Store::load(model, region);
    if (loaded != status) {
      std::fprintf(stderr, "seed %s: load answers %s, not %s\n", name, to_string(loaded),
                   to_string(status));
      ok = false;
    }
    seeds.push_back({"fuzz_parameter_blob", name, input});
  };

  expect("erased", Bytes{0x00}, Status::not_found);

  blob::Model model = blob::make_model();
  blob::set_values(model, 1);
  blob::Region one;
  ok = ok && blob::Store::save(model, one) == Status::ok;
  expect("one_save", blob_input(0x00, one), Status::ok);

  blob::Region two = one;
  blob::set_values(model, 2);
  ok = ok && blob::Store::save(model, two) == Status::ok;
  expect("two_saves", blob_input(0x00, two), Status::ok);

  OtherModel other(blob::initial_p1, blob::initial_p2);
  blob::Region foreign;
  ok = ok && io::ParameterStore<OtherModel>::save(other, foreign) == Status::ok;
  expect("other_model", blob_input(0x00, foreign), Status::model_mismatch);
  ok = ok && blob::Store::save(model, foreign) == Status::ok;
  expect("other_model_then_ours", blob_input(0x03, foreign), Status::ok);

  // Version 2 in slot 0, its CRC fixed by the harness (flag bit 0).
  Bytes future = blob_input(0x01, one);
  future[1 + io::blob_format::version_at] = 2;
  expect("future_version", future, Status::version_mismatch);

  // A non-finite value in a whole blob of this model.
  Bytes infinite = blob_input(0x01, one);
  const std::size_t last = 1 + io::blob_format::header_bytes + blob::Store::payload_bytes - 4;
  const std::array<std::uint8_t, 4> inf_bits = {0x00, 0x00, 0x80, 0x7F};
  std::memcpy(infinite.data() + last, inf_bits.data(), inf_bits.size());
  expect("not_finite", infinite, Status::not_finite);
  return ok;
}

// ---------------------------------------------------------------------------------------
// idx files.
// ---------------------------------------------------------------------------------------
Bytes idx_file(std::initializer_list<std::uint32_t> dims, std::size_t data_bytes) {
  Bytes bytes{0x00, 0x00, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (const std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      bytes.push_back(static_cast<std::uint8_t>((d >> shift) & 0xFFU));
    }
  }
  for (std::size_t i = 0; i < data_bytes; ++i) {
    bytes.push_back(static_cast<std::uint8_t>((i * 37U + 11U) & 0xFFU));
  }
  return bytes;
}

void idx_seeds(std::vector<Seed>& seeds) {
  seeds.push_back({"fuzz_idx", "images_2x28x28", idx_file({2, 28, 28}, 2 * 784)});
  seeds.push_back({"fuzz_idx", "labels_5", idx_file({5}, 5)});
  seeds.push_back({"fuzz_idx", "samples_3x2x3", idx_file({3, 2, 3}, 3 * 6)});
  seeds.push_back({"fuzz_idx", "images_truncated", idx_file({3, 28, 28}, 784 + 392)});
}

// ---------------------------------------------------------------------------------------
// Training samples: config byte, then records (label, 4 floats), little-endian.
// ---------------------------------------------------------------------------------------
struct SampleWriter {
  Bytes bytes;
  explicit SampleWriter(std::uint8_t config) : bytes{config} {}
  void u32(std::uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) {
      bytes.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFFU));
    }
  }
  void record(std::uint32_t label, std::array<float, 4> input) {
    u32(label);
    for (const float v : input) {
      u32(std::bit_cast<std::uint32_t>(v));
    }
  }
};

void train_seeds(std::vector<Seed>& seeds) {
  const float inf = std::bit_cast<float>(0x7F800000U);
  const float nan = std::bit_cast<float>(0x7FC00000U);
  const float subnormal = std::bit_cast<float>(0x00000001U);

  SampleWriter plain(0x00);  // batch 1, learning rate 0.01
  plain.record(0, {0.5f, -0.25f, 1.0f, 0.0f});
  plain.record(1, {-1.0f, 0.75f, 0.125f, 2.0f});
  plain.record(2, {0.3f, 0.3f, -0.6f, 1.5f});
  plain.record(1, {0.0f, 0.0f, 0.0f, 0.0f});
  seeds.push_back({"fuzz_train_step", "valid_batch1", plain.bytes});

  SampleWriter batched(0x1B);  // batch 4, learning rate 1, epoch seed 1
  for (std::uint32_t n = 0; n < 6; ++n) {
    const float x = static_cast<float>(n) * 0.5f - 1.0f;
    batched.record(n % 3, {x, -x, 2.0f * x, 1.0f});
  }
  seeds.push_back({"fuzz_train_step", "valid_batch4_lr1", batched.bytes});

  SampleWriter refused(0x01);  // batch 2
  refused.record(0, {1.0f, 2.0f, 3.0f, 4.0f});
  refused.record(3, {1.0f, 2.0f, 3.0f, 4.0f});
  refused.record(0xFFFFFFFFU, {1.0f, 2.0f, 3.0f, 4.0f});
  refused.record(1, {nan, 0.0f, 0.0f, 0.0f});
  refused.record(2, {0.0f, inf, 0.0f, 0.0f});
  refused.record(2, {0.0f, 0.0f, -inf, 0.0f});
  refused.record(1, {subnormal, -subnormal, -0.0f, 0.0f});
  refused.record(7, {nan, nan, nan, nan});
  seeds.push_back({"fuzz_train_step", "refused_steps", refused.bytes});

  SampleWriter huge(0x00);
  huge.record(0, {3e38f, -3e38f, 3e38f, 1.0f});
  huge.record(1, {1e30f, 1e30f, -1e30f, 1e30f});
  huge.record(2, {0.5f, 0.5f, 0.5f, 0.5f});
  seeds.push_back({"fuzz_train_step", "huge_inputs", huge.bytes});
}

Bytes read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc == 3 && std::string(argv[1]) == "--check";
  if (!(argc == 2 || check)) {
    std::fprintf(stderr, "usage: %s <dir> | --check <dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[argc - 1];

  std::vector<Seed> seeds;
  bool ok = blob_seeds(seeds);
  idx_seeds(seeds);
  train_seeds(seeds);

  int differing = 0;
  for (const Seed& seed : seeds) {
    const fs::path path = root / seed.harness / seed.name;
    if (check) {
      if (!fs::exists(path) || read_file(path) != seed.bytes) {
        std::fprintf(stderr, "%s: missing or out of date\n", path.string().c_str());
        ++differing;
      }
      continue;
    }
    fs::create_directories(path.parent_path());
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(seed.bytes.data()),
               static_cast<std::streamsize>(seed.bytes.size()));
    ok = ok && static_cast<bool>(file);
  }
  if (differing > 0) {
    std::fprintf(stderr,
                 "%d seed file(s) differ from what the library writes now; regenerate with\n"
                 "  build/host/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus\n",
                 differing);
    return 1;
  }
  std::printf("%zu seed files %s %s\n", seeds.size(), check ? "checked in" : "written to",
              root.string().c_str());
  return ok ? 0 : 1;
}
