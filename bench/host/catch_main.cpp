// Catch2's main and runner, compiled once in a translation unit of their own (the
// benchmarks in bench_host.cpp only include the header). CATCH_CONFIG_ENABLE_BENCHMARKING is
// set for both files by bench/CMakeLists.txt.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
