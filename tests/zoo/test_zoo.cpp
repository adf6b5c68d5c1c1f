// Every imported model of MICROTL_ZOO_DIR (tests/zoo/CMakeLists.txt) against TFLite: each
// input of NAME.inputs.bin runs through the model scripts/import made of NAME.tflite, and
// every output byte must equal TFLite's (NAME.outputs.bin, from its reference kernels). No
// tolerance. The files are read one sample at a time with fopen (on a Cortex-M target:
// through semihosting), so a model's samples need not fit in RAM.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <doctest/doctest.h>
#include <microtl/microtl.hpp>

namespace {

struct ZooFile {
  std::FILE* file = nullptr;
  explicit ZooFile(const std::string& path) : file(std::fopen(path.c_str(), "rb")) {}
  ZooFile(const ZooFile&) = delete;
  ZooFile& operator=(const ZooFile&) = delete;
  ~ZooFile() {
    if (file != nullptr) {
      std::fclose(file);
    }
  }
};

struct ZooResult {
  std::size_t inputs = 0;
  std::size_t mismatching_outputs = 0;  // samples with at least one differing byte
  std::size_t mismatching_bytes = 0;
};

// Runs every sample of NAME.inputs.bin through `model` and compares with NAME.outputs.bin.
template <class Model>
ZooResult run_zoo_model(const Model& model, const char* name) {
  using In = typename Model::input_shape;
  using Out = typename Model::output_shape;
  static_assert(std::is_same_v<typename Model::input_element, microtl::QInt8> &&
                    std::is_same_v<typename Model::output_element, microtl::QInt8>,
                "the zoo's models have int8 inputs and outputs");
  const std::string base = std::string(MICROTL_ZOO_DIR) + "/" + name;
  ZooFile inputs(base + ".inputs.bin");
  ZooFile outputs(base + ".outputs.bin");
  REQUIRE_MESSAGE(inputs.file != nullptr, "cannot open ", base, ".inputs.bin");
  REQUIRE_MESSAGE(outputs.file != nullptr, "cannot open ", base, ".outputs.bin");

  static typename Model::InferenceArena arena;
  static std::array<std::int8_t, In::size> x{};
  static std::array<std::int8_t, Out::size> expected{};
  ZooResult result;
  while (std::fread(x.data(), 1, x.size(), inputs.file) == x.size()) {
    REQUIRE(std::fread(expected.data(), 1, expected.size(), outputs.file) == expected.size());
    const auto y = model.forward(typename Model::input_view(x), arena);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < Out::size; ++i) {
      if (y.values.data()[i] != expected[i]) {
        if (differing == 0) {
          MESSAGE(name, " sample ", result.inputs, " byte ", i, ": microtl ",
                  int{y.values.data()[i]}, ", TFLite ", int{expected[i]});
        }
        ++differing;
      }
    }
    result.mismatching_bytes += differing;
    result.mismatching_outputs += differing != 0 ? 1 : 0;
    ++result.inputs;
  }
  CHECK_MESSAGE(std::fgetc(outputs.file) == EOF, name, ".outputs.bin has more samples");
  return result;
}

}  // namespace

#define MICROTL_ZOO_MODEL(NAME)                                                     \
  TEST_CASE("zoo model " #NAME ": every output byte equals TFLite's") {             \
    static const NAME::Model model = NAME::make_model();                            \
    const ZooResult r = run_zoo_model(model, #NAME);                                \
    std::printf("zoo %s: %lu inputs, %lu mismatching outputs (%lu bytes)\n", #NAME, \
                static_cast<unsigned long>(r.inputs),                               \
                static_cast<unsigned long>(r.mismatching_outputs),                  \
                static_cast<unsigned long>(r.mismatching_bytes));                   \
    CHECK(r.inputs > 0);                                                            \
    CHECK(r.mismatching_outputs == 0);                                              \
    CHECK(model.input_quant().scale == NAME::input_quant.scale);                    \
  }

#include "zoo_models.inc"
