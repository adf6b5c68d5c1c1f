// Host benchmark of the int8 kernels (Catch2 v2): the same eight cases as the on-target
// benchmark (bench/common/bench_cases.*), timed natively. Timing is not asserted (host
// timings are noisy), so this is not a CTest; run it with `scripts/bench host` or
// build/<preset>/bench/microtl_bench_host. Catch2's main is in catch_main.cpp;
// CATCH_CONFIG_ENABLE_BENCHMARKING comes from bench/CMakeLists.txt.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>

#include "bench_cases.hpp"
#include "train_cases.hpp"

namespace {

// One kernel call of case `index` (in bench_cases() order); the first output code is
// returned so that Catch2 keeps the call.
std::int8_t run(std::size_t index) {
  const microtl_bench::Case& c = microtl_bench::bench_cases()[index];
  c.run();
  return c.output[0];
}

}  // namespace

TEST_CASE("int8 kernels, one call each", "[benchmark]") {
  microtl_bench::bench_setup();
  const auto cases = microtl_bench::bench_cases();
  REQUIRE(cases.size() == 8);

  BENCHMARK("fc_256_64") {
    return run(0);
  };
  BENCHMARK("fc_784_128") {
    return run(1);
  };
  BENCHMARK("fc_128_10") {
    return run(2);
  };
  BENCHMARK("conv_28x28x1_8_3x3") {
    return run(3);
  };
  BENCHMARK("conv_14x14x8_16_3x3") {
    return run(4);
  };
  BENCHMARK("dwconv_14x14x16_3x3") {
    return run(5);
  };
  BENCHMARK("conv_7x7x16_16_3x3") {
    return run(6);
  };
  BENCHMARK("extractor_fashion_28x28") {
    return run(7);
  };

  // The same plausibility check as on the target: every case wrote varying codes.
  for (const microtl_bench::Case& c : cases) {
    INFO(c.name);
    CHECK(microtl_bench::output_varies(c));
  }
}

TEST_CASE("training steps, dense 64 -> 32 -> 10, batch 1", "[benchmark]") {
  microtl_bench::train_setup();
  const auto cases = microtl_bench::train_cases();
  REQUIRE(cases.size() == 7);
  BENCHMARK("train_mlp_64_32_10_full") {
    cases[0].step();
    return cases[0].loss();
  };
  BENCHMARK("train_mlp_64_32_10_last") {
    cases[1].step();
    return cases[1].loss();
  };
}

TEST_CASE("training steps, int8 CNN 16x16x1 with a float head, batch 1", "[benchmark]") {
  microtl_bench::train_setup();
  const auto cases = microtl_bench::train_cases();
  REQUIRE(cases.size() == 7);
  for (std::size_t k = 4; k < 7; ++k) {
    cases[k].step();
    const float first = cases[k].loss();
    cases[k].step();
    CHECK(cases[k].loss() < first);  // each way of training learns
  }
  BENCHMARK("train_cnn_int8_head") {
    cases[4].step();
    return cases[4].loss();
  };
  BENCHMARK("train_cnn_int8_biases") {
    cases[5].step();
    return cases[5].loss();
  };
  BENCHMARK("train_cnn_int8_conv2_weights") {
    cases[6].step();
    return cases[6].loss();
  };
}
