// Shape at run time (the same rules as tests/static, exercised through loops the compiler
// cannot fold away) and the multi-index <-> flat-offset round trip.
#include <doctest/doctest.h>

#include <cstddef>

#include "microtl/core/shape.hpp"

using microtl::Shape;

TEST_CASE("shape: offset enumerates every element once in row-major order") {
  using S = Shape<3, 4, 5>;
  std::size_t expected = 0;
  bool seen[S::size] = {};
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 4; ++j) {
      for (std::size_t k = 0; k < 5; ++k) {
        const std::size_t offset = S::offset(i, j, k);
        CHECK(offset == expected);  // row-major: the last index moves fastest
        CHECK_FALSE(seen[offset]);
        seen[offset] = true;
        ++expected;
      }
    }
  }
  CHECK(expected == S::size);
}

TEST_CASE("shape: offset round-trips through strides") {
  using S = Shape<2, 7, 3, 4>;
  for (std::size_t flat = 0; flat < S::size; ++flat) {
    // Decompose with the strides, then recompose.
    std::size_t rest = flat;
    std::size_t index[S::rank];
    for (std::size_t axis = 0; axis < S::rank; ++axis) {
      index[axis] = rest / S::stride(axis);
      rest %= S::stride(axis);
    }
    REQUIRE(S::contains(index[0], index[1], index[2], index[3]));
    CHECK(S::offset(index[0], index[1], index[2], index[3]) == flat);
  }
}

TEST_CASE("shape: contains rejects each axis out of range") {
  using S = Shape<2, 3>;
  CHECK(S::contains(1, 2));
  CHECK_FALSE(S::contains(2, 0));
  CHECK_FALSE(S::contains(0, 3));
  CHECK_FALSE(S::contains(-1, 0));  // negative indices wrap to huge unsigned values
}
