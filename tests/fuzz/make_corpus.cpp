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
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

template <class Region>
Bytes blob_input(std::uint8_t flags, const Region& region) {
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

  // A finite value beyond the guard's bound P (2^24): refused once load checks the invariant.
  Bytes beyond = blob_input(0x01, one);
  const std::array<std::uint8_t, 4> huge_bits = {0xF2, 0x60, 0x16, 0x72};  // 2.98e30
  std::memcpy(beyond.data() + last, huge_bits.data(), huge_bits.size());
  expect("beyond_parameter_bound", beyond, Status::out_of_range);

  // The int8 model (flag bit 2): a saved blob, and one whose int8 layer's bias (the first
  // value of the payload) is 1e6: within P, but 1e6 / (input scale * weight scale) is beyond
  // the accumulator bound B of the int32 bias.
  const auto expect_int8 = [&](const char* name, const Bytes& input, Status status) {
    auto region = blob::region_from<blob::Int8Store>(input);
    blob::Int8Model m = blob::make_int8_model();
    const Status loaded = blob::Int8Store::load(m, region);
    if (loaded != status) {
      std::fprintf(stderr, "seed %s: load answers %s, not %s\n", name, to_string(loaded),
                   to_string(status));
      ok = false;
    }
    seeds.push_back({"fuzz_parameter_blob", name, input});
  };
  blob::Int8Model int8 = blob::make_int8_model();
  io::RamStorage<blob::Int8Store::storage_bytes, blob::Int8Store::erase_unit> int8_region;
  ok = ok && blob::Int8Store::save(int8, int8_region) == Status::ok;
  expect_int8("int8_one_save", blob_input(blob::int8_model_flag, int8_region), Status::ok);
  Bytes int8_beyond = blob_input(blob::int8_model_flag | blob::fix_crc_slot0, int8_region);
  const std::array<std::uint8_t, 4> million_bits = {0x00, 0x24, 0x74, 0x49};  // 1e6
  std::memcpy(int8_beyond.data() + 1 + io::blob_format::header_bytes, million_bits.data(),
              million_bits.size());
  expect_int8("int8_bias_beyond_accumulator_bound", int8_beyond, Status::out_of_range);
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
// Training samples: config byte, two hyper-parameter sets (3 bytes each: 4-bit table
// indices), then records (op, label, 16 data bytes), little-endian.
// ---------------------------------------------------------------------------------------
namespace train = microtl_fuzz::train_step;

// Indices into the harness's tables (harness_train_step.hpp); 0 is the usual value.
struct Set {
  std::uint8_t learning_rate = 0, weight_decay = 0, momentum = 0, beta2 = 0, epsilon = 0, clip = 0;
};

enum class Opt : std::uint8_t { sgd_momentum = 0, sgd = 1, adam = 2 };

struct SampleWriter {
  Bytes bytes;
  SampleWriter(std::size_t batch, Opt optimizer, std::uint8_t epoch_seed, Set a, Set b) {
    bytes.push_back(static_cast<std::uint8_t>((batch - 1) |
                                              (static_cast<unsigned>(optimizer) << 2) |
                                              (static_cast<unsigned>(epoch_seed) << 4)));
    for (const Set& s : {a, b}) {
      bytes.push_back(static_cast<std::uint8_t>(s.learning_rate | (s.weight_decay << 4)));
      bytes.push_back(static_cast<std::uint8_t>(s.momentum | (s.beta2 << 4)));
      bytes.push_back(static_cast<std::uint8_t>(s.epsilon | (s.clip << 4)));
    }
  }
  void u32(std::uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) {
      bytes.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFFU));
    }
  }
  void record(std::uint32_t label, std::array<float, 4> input, std::uint8_t op = 0) {
    bytes.push_back(op);
    u32(label);
    for (const float v : input) {
      u32(std::bit_cast<std::uint32_t>(v));
    }
  }
  void codes(std::uint32_t label, std::int8_t code, std::uint8_t op = 0) {
    bytes.push_back(op);
    u32(label);
    for (int i = 0; i < 16; ++i) {
      bytes.push_back(static_cast<std::uint8_t>(code));
    }
  }
  void codes(std::uint32_t label, const std::array<std::int8_t, 16>& codes, std::uint8_t op = 0) {
    bytes.push_back(op);
    u32(label);
    for (const std::int8_t c : codes) {
      bytes.push_back(static_cast<std::uint8_t>(c));
    }
  }
};

// The index of `value` in `table` (bit for bit): the seeds name values, not indices.
std::uint8_t index_of(const std::array<float, 16>& table, float value) {
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(table[i]) == std::bit_cast<std::uint32_t>(value)) {
      return static_cast<std::uint8_t>(i);
    }
  }
  std::fprintf(stderr, "make_corpus: %g is in no hyper-parameter table\n",
               static_cast<double>(value));
  std::exit(1);
}

void train_seeds(std::vector<Seed>& seeds) {
  const float inf = std::bit_cast<float>(0x7F800000U);
  const float nan = std::bit_cast<float>(0x7FC00000U);
  const float subnormal = std::bit_cast<float>(0x00000001U);
  const float big = 16777216.0f;  // 2^24, the largest admissible input
  const auto lr = [](float v) { return index_of(train::learning_rates, v); };
  const auto wd = [](float v) { return index_of(train::weight_decays, v); };
  const auto momentum = [](float v) { return index_of(train::momenta, v); };
  const auto beta2 = [](float v) { return index_of(train::second_moments, v); };
  const auto eps = [](float v) { return index_of(train::epsilons, v); };
  const auto clip = [](float v) { return index_of(train::clip_norms, v); };
  const Set normal{};
  const Set adam_beta2_one{lr(0.001f), 0, momentum(0.0f), beta2(1.0f), eps(1e-45f), 0};
  const Set demo{lr(0.01f), wd(2e-4f), momentum(0.9f), 0, 0, 0};

  SampleWriter plain(1, Opt::sgd_momentum, 0, demo, demo);
  plain.record(0, {0.5f, -0.25f, 1.0f, 0.0f});
  plain.record(1, {-1.0f, 0.75f, 0.125f, 2.0f});
  plain.record(2, {0.3f, 0.3f, -0.6f, 1.5f});
  plain.record(1, {0.0f, 0.0f, 0.0f, 0.0f});
  seeds.push_back({"fuzz_train_step", "valid_batch1", plain.bytes});

  // SGD, learning rate 1, clipping at 1; an apply() mid-batch; epoch seed 1.
  const Set sgd1{lr(1.0f), 0, 0, 0, 0, clip(1.0f)};
  SampleWriter batched(4, Opt::sgd, 1, sgd1, sgd1);
  for (std::uint32_t n = 0; n < 6; ++n) {
    const float x = static_cast<float>(n) * 0.5f - 1.0f;
    batched.record(n % 3, {x, -x, 2.0f * x, 1.0f}, n == 2 ? train::op_apply : 0);
  }
  seeds.push_back({"fuzz_train_step", "valid_batch4_lr1", batched.bytes});

  // Adam, batch 3, switching to epsilon 0 (invalid) and back; apply() under both.
  SampleWriter adam(3, Opt::adam, 2, normal, Set{lr(0.01f), 0, 0, 0, eps(0.0f), 0});
  adam.record(0, {0.5f, 0.0f, 1.0f, 0.75f});
  adam.record(1, {0.25f, -0.5f, 0.0f, 1.0f}, train::op_switch);
  adam.record(1, {0.25f, -0.5f, 0.0f, 1.0f}, train::op_apply);
  adam.record(2, {1.0f, 1.0f, -1.0f, 0.5f}, train::op_switch | train::op_apply);
  adam.record(0, {-0.5f, 0.5f, 0.5f, -0.5f});
  adam.record(1, {0.0f, 0.0f, 0.0f, 0.0f});
  seeds.push_back({"fuzz_train_step", "adam_batch3_invalid_epsilon", adam.bytes});

  // Adam at learning rates 100 and 1 on extreme admissible inputs (+-2^24): the largest
  // gradients, and second moments, an admissible sample makes.
  SampleWriter adam_big(1, Opt::adam, 0, Set{lr(100.0f), 0, 0, 0, 0, 0},
                        Set{lr(1.0f), 0, 0, 0, 0, 0});
  adam_big.record(0, {big, big, big, big});
  adam_big.record(1, {-big, big, -big, big});
  adam_big.record(2, {big, -big, big, -big}, train::op_switch);
  adam_big.record(0, {0.5f, 0.5f, 0.5f, 0.5f});
  seeds.push_back({"fuzz_train_step", "adam_extreme_inputs", adam_big.bytes});

  // Adam with beta2 = 1 (invalid) against beta1 = 0 and a denormal epsilon (valid), batch 1.
  SampleWriter adam_edges(1, Opt::adam, 0, adam_beta2_one,
                          Set{lr(0.001f), 0, momentum(0.0f), 0, eps(1e-45f), 0});
  adam_edges.record(0, {0.5f, 0.0f, 1.0f, 0.75f});
  adam_edges.record(1, {0.5f, 0.0f, 1.0f, 0.75f}, train::op_switch);
  adam_edges.record(2, {0.0f, 0.0f, 0.0f, 0.0f});
  adam_edges.codes(1, 127, train::op_switch);
  adam_edges.codes(0, -128, train::op_switch);
  seeds.push_back({"fuzz_train_step", "adam_beta2_one_tiny_epsilon", adam_edges.bytes});

  SampleWriter refused(2, Opt::sgd_momentum, 0, normal, normal);
  refused.record(0, {1.0f, 2.0f, 3.0f, 4.0f});
  refused.record(3, {1.0f, 2.0f, 3.0f, 4.0f});
  refused.record(0xFFFFFFFFU, {1.0f, 2.0f, 3.0f, 4.0f});
  refused.record(1, {nan, 0.0f, 0.0f, 0.0f});
  refused.record(2, {0.0f, inf, 0.0f, 0.0f});
  refused.record(2, {0.0f, 0.0f, -inf, 0.0f});
  refused.record(1, {subnormal, -subnormal, -0.0f, 0.0f});
  refused.record(7, {nan, nan, nan, nan});
  refused.record(0, {std::nextafter(big, 1e30f), 0.0f, 0.0f, 0.0f});
  seeds.push_back({"fuzz_train_step", "refused_steps", refused.bytes});

  // Finite inputs beyond 2^24 (out_of_range) and exactly at it (admissible).
  SampleWriter huge(1, Opt::sgd_momentum, 0, normal, normal);
  huge.record(0, {3e38f, -3e38f, 3e38f, 1.0f});
  huge.record(1, {1e30f, 1e30f, -1e30f, 1e30f});
  huge.record(1, {big, -big, big, -big});
  huge.record(2, {0.5f, 0.5f, 0.5f, 0.5f});
  seeds.push_back({"fuzz_train_step", "huge_inputs", huge.bytes});

  // Invalid hyper-parameters: a NaN learning rate, then momentum 1 with a negative weight
  // decay; apply() under each; invalid and valid clipping norms.
  SampleWriter invalid(2, Opt::sgd_momentum, 3, Set{lr(nan), 0, 0, 0, 0, clip(-1.0f)},
                       Set{lr(0.1f), wd(-1e-4f), momentum(1.0f), 0, 0, clip(0.5f)});
  invalid.record(0, {0.5f, -0.25f, 1.0f, 0.0f});
  invalid.record(1, {0.5f, -0.25f, 1.0f, 0.0f}, train::op_switch | train::op_apply);
  invalid.record(2, {0.5f, -0.25f, 1.0f, 0.0f}, train::op_switch);
  seeds.push_back({"fuzz_train_step", "invalid_hyper_parameters", invalid.bytes});

  // Learning rates up to max_learning_rate on extreme int8 codes: the int8 biases run into
  // their accumulator bound (diverged); then 1e4 with weight decay, bias steps that drift.
  SampleWriter int8(1, Opt::sgd, 0, Set{lr(max_learning_rate), 0, 0, 0, 0, 0},
                    Set{lr(1e4f), wd(1e-4f), 0, 0, 0, 0});
  int8.codes(1, 127);
  int8.codes(0, -128);
  int8.codes(1, 127, train::op_switch);
  for (int n = 0; n < 8; ++n) {
    int8.codes(static_cast<std::uint32_t>(n % 2),
               n % 2 == 0 ? std::int8_t{-128} : std::int8_t{127});
  }
  seeds.push_back({"fuzz_train_step", "int8_bias_bound", int8.bytes});

  // Plain SGD at batch 1 without weight decay or clipping: the fused step, whose guard the
  // harness runs in both modes (GuardCheck::bounded and full) side by side. Each seed takes
  // the fused guard through all three of its decisions: proven by the bound, accepted by the
  // full check after the bound failed, refused (diverged).
  //
  // Inputs at and near the feature bound 2^24, learning rates 0.01 and 1: the bound proves
  // the first steps (the second layer's weights grow to about 7e4); then the first layer's
  // gradient on inputs near 2^24 would take its weights past 2^24 (refused), while the steps
  // on small inputs are still proven.
  const Set fused_small{lr(0.01f), 0, 0, 0, 0, 0};
  const Set fused_one{lr(1.0f), 0, 0, 0, 0, 0};
  SampleWriter near_limit(1, Opt::sgd, 0, fused_small, fused_one);
  const float half = big / 2.0f;
  near_limit.record(0, {big, -big, big, -big});
  near_limit.record(1, {half, half, -half, half});
  near_limit.record(2, {-big, big, big, big});
  near_limit.record(0, {big, big, big, big});
  near_limit.record(1, {0.5f, -0.25f, 1.0f, 0.75f});
  near_limit.record(2, {big, -big, -big, big}, train::op_switch);
  near_limit.record(0, {half, -half, half, -half});
  near_limit.record(1, {1.0f, 2.0f, -1.0f, 0.5f});
  near_limit.record(2, {big / 64.0f, big / 64.0f, -big / 64.0f, big / 64.0f});
  near_limit.record(0, {0.5f, -0.25f, 1.0f, 0.75f}, train::op_switch);
  near_limit.record(1, {big, big, -big, -big});
  near_limit.record(2, {0.5f, 0.5f, 0.5f, 0.5f});
  seeds.push_back({"fuzz_train_step", "fused_sgd_near_feature_bound", near_limit.bytes});

  // Huge learning rates (2^24 and 1e4) on small and normal inputs: the bound's lr G X alone
  // passes 2^24 unless the gradient G is tiny; the full check refuses most steps and
  // accepts those whose update stays small.
  SampleWriter huge_lr(1, Opt::sgd, 0, Set{lr(max_learning_rate), 0, 0, 0, 0, 0},
                       Set{lr(1e4f), 0, 0, 0, 0, 0});
  huge_lr.record(0, {0.5f, -0.25f, 1.0f, 0.75f});
  huge_lr.record(1, {1e-6f, 0.0f, -1e-6f, 0.0f});
  huge_lr.record(2, {0.0f, 0.0f, 0.0f, 0.0f});
  huge_lr.record(0, {1e-3f, 1e-3f, 1e-3f, 1e-3f}, train::op_switch);
  huge_lr.record(1, {0.5f, -0.25f, 1.0f, 0.75f});
  huge_lr.record(2, {1e-4f, 0.0f, 0.0f, 1e-4f});
  huge_lr.record(2, {1e-4f, 0.0f, 0.0f, 1e-4f});
  huge_lr.record(0, {subnormal, 0.0f, 0.0f, 0.0f}, train::op_switch);
  huge_lr.record(0, {0.25f, 0.25f, 0.25f, 0.25f});
  seeds.push_back({"fuzz_train_step", "fused_sgd_huge_learning_rates", huge_lr.bytes});

  // Parameters near the parameter bound 2^24: one step at learning rate 2^24 takes the
  // largest weight to about 1.07e7 (0.64 of the bound); then steps at learning rate 1 on
  // inputs from 0.5 to 2^24, whose updates stay under 2^24 (accepted: by the bound, or by
  // the full check where the bound fails) or would cross it (refused).
  SampleWriter near_p(1, Opt::sgd, 0, Set{lr(max_learning_rate), 0, 0, 0, 0, 0}, fused_one);
  near_p.record(0, {0.5f, -0.25f, 1.0f, 0.75f});
  near_p.record(0, {0.5f, -0.25f, 1.0f, 0.75f}, train::op_switch);
  near_p.record(1, {0.5f, -0.25f, 1.0f, 0.75f});
  near_p.record(2, {10.0f, -5.0f, 20.0f, 15.0f});
  near_p.record(1, {100.0f, -50.0f, 200.0f, 150.0f});
  near_p.record(2, {1e3f, -5e2f, 2e3f, 1.5e3f});
  near_p.record(0, {1e4f, -5e3f, 2e4f, 1.5e4f});
  near_p.record(1, {1e5f, -5e4f, 2e5f, 1.5e5f});
  near_p.record(2, {-1.0f, 2.0f, -1.0f, 2.0f});
  near_p.record(0, {1e6f, 1e6f, 1e6f, 1e6f});
  near_p.record(1, {-1e6f, -1e6f, -1e6f, -1e6f});
  near_p.record(2, {big, -big, big, -big});
  near_p.record(0, {-big, big, -big, big});
  near_p.record(1, {3e5f, 3e5f, 3e5f, 3e5f});
  near_p.record(2, {-3e5f, 3e5f, -3e5f, 3e5f});
  seeds.push_back({"fuzz_train_step", "fused_sgd_near_parameter_bound", near_p.bytes});

  // The int8 feature cache's fused epochs: replayed features are bounded by their
  // quantization (guard::replay_bound, 12.75 here), not by their sum. Epochs at learning rate
  // 1e6 on codes that make large features (found by a search against a bound that took the
  // replayed features for at most 1: these break its soundness).
  constexpr std::int8_t hi = 127;
  constexpr std::int8_t lo = -128;
  SampleWriter int8_cache(1, Opt::sgd, 15, Set{lr(1e6f), 0, 0, 0, 0, 0}, fused_one);
  int8_cache.codes(1, {-99, 80, -121, -52, -55, -88, 26, 57, -37, -97, 72, -37, 88, -97, -8, 108},
                   train::op_switch);
  int8_cache.codes(1, {hi, lo, hi, hi, hi, lo, lo, lo, lo, lo, lo, hi, lo, hi, hi, hi},
                   train::op_switch);
  int8_cache.codes(1,
                   {-90, -62, -91, 10, 38, 117, -117, -67, -25, -57, -110, -39, -63, -45, 73, 107});
  seeds.push_back({"fuzz_train_step", "fused_sgd_int8_cache", int8_cache.bytes});
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
