// Tensor and TensorView: storage, indexing, views sharing memory, reshape.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <span>

#include "microtl/core/tensor.hpp"
#include "microtl/core/tensor_view.hpp"

using microtl::Shape;
using microtl::Tensor;
using microtl::TensorView;

namespace {
// Sums a view: a function that accepts only this exact shape.
float sum(TensorView<const float, Shape<2, 3>> v) {
  float total = 0.0f;
  for (float x : v) {
    total += x;
  }
  return total;
}
}  // namespace

TEST_CASE("tensor: storage is inline and aligned") {
  Tensor<std::int8_t, Shape<5>> a{};
  Tensor<std::int8_t, Shape<5>> b{};
  CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % MICROTL_ALIGNMENT == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % MICROTL_ALIGNMENT == 0);
  // The elements are inside the object itself.
  const auto* object = reinterpret_cast<const std::byte*>(&a);
  const auto* first = reinterpret_cast<const std::byte*>(a.data());
  CHECK(first >= object);
  CHECK(first + a.bytes <= object + sizeof(a));
}

TEST_CASE("tensor: value-initialised tensors are zero, brace lists fill row-major") {
  Tensor<float, Shape<2, 3>> zeros{};
  for (float x : zeros) {
    CHECK(x == 0.0f);
  }
  Tensor<float, Shape<2, 3>> t{{1, 2, 3, 4, 5, 6}};
  CHECK(t(0, 0) == 1.0f);
  CHECK(t(0, 2) == 3.0f);
  CHECK(t(1, 0) == 4.0f);
  CHECK(t(1, 2) == 6.0f);
  CHECK(t[4] == 5.0f);
  CHECK(static_cast<double>(sum(t)) == doctest::Approx(21.0));
}

TEST_CASE("tensor: a view writes through to the tensor") {
  Tensor<std::int32_t, Shape<3, 3>> t{};
  TensorView<std::int32_t, Shape<3, 3>> v = t.view();
  for (std::size_t i = 0; i < 3; ++i) {
    v(i, i) = static_cast<std::int32_t>(i + 1);  // diagonal 1, 2, 3
  }
  CHECK(t(0, 0) == 1);
  CHECK(t(1, 1) == 2);
  CHECK(t(2, 2) == 3);
  CHECK(t(0, 1) == 0);
  CHECK(v.data() == t.data());
}

TEST_CASE("tensor view: reshape keeps the memory, changes the indexing") {
  Tensor<std::int16_t, Shape<2, 6>> t{};
  for (std::size_t i = 0; i < t.size; ++i) {
    t[i] = static_cast<std::int16_t>(i);
  }
  auto cube = t.view().reshape<Shape<3, 2, 2>>();
  // Flat element 2*4 + 1*2 + 1 = 11.
  CHECK(cube(2, 1, 1) == 11);
  cube(1, 0, 1) = -7;  // flat 4 + 0 + 1 = 5 = t(0, 5)
  CHECK(t(0, 5) == -7);
}

TEST_CASE("tensor view: over a caller's span, and read-only views of const data") {
  static const float weights[6] = {0.5f, -1.0f, 2.0f, 0.25f, 0.0f, 4.0f};
  const TensorView<const float, Shape<2, 3>> w = microtl::view_as<Shape<2, 3>>(std::span(weights));
  CHECK(w(1, 0) == 0.25f);
  CHECK(w.data() == weights);  // no copy: a view of flash data stays in flash
  CHECK(static_cast<double>(sum(w)) == doctest::Approx(5.75));

  float buffer[4] = {};
  TensorView<float, Shape<4>> out{std::span<float, 4>(buffer)};
  out[3] = 9.0f;
  CHECK(buffer[3] == 9.0f);
  TensorView<const float, Shape<4>> read_only = out;  // T -> const T converts
  CHECK(read_only[3] == 9.0f);
}

TEST_CASE("tensor: equality and fill") {
  Tensor<std::int8_t, Shape<4>> a{{1, 2, 3, 4}};
  Tensor<std::int8_t, Shape<4>> b = a;
  CHECK(a == b);
  b(2) = 0;
  CHECK_FALSE(a == b);
  b.fill(-3);
  for (auto x : b) {
    CHECK(x == -3);
  }
}
