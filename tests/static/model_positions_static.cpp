// Positions as written (params_for, written_layer) against the bound chain, and what views
// and parameter spans accept: static_assert only.
#include <array>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/microtl.hpp"

namespace mtl = microtl;

// The README's model: the extractor's ReLUs fuse into its convolutions, the head's into its
// first Dense. Bound: 0 conv1, 1 pool, 2 conv2, 3 pool, 4 flatten, 5 dequantize, 6 dense,
// 7 dense.
using Extractor =
    mtl::Sequential<mtl::Input<mtl::Shape<28, 28, 1>, mtl::QInt8>,
                    mtl::Conv2D<8, mtl::Kernel<3>, mtl::Padding::same>, mtl::ReLU,
                    mtl::MaxPool2D<2>, mtl::Conv2D<16, mtl::Kernel<3>, mtl::Padding::same>,
                    mtl::ReLU, mtl::MaxPool2D<2>, mtl::Flatten>;
using Model = mtl::Sequential<Extractor, mtl::Dequantize, mtl::Trainable<mtl::Dense<32>>, mtl::ReLU,
                              mtl::Trainable<mtl::Dense<10>>>;

static_assert(Model::written_count == 11);
static_assert(Model::layer_count == 8);
// written: 0 conv1, 1 relu, 2 pool, 3 conv2, 4 relu, 5 pool, 6 flatten, 7 dequantize,
//          8 dense32, 9 relu, 10 dense10
static_assert(Model::bound_index<0> == 0 && Model::bound_index<1> == 0);
static_assert(Model::bound_index<2> == 1);
static_assert(Model::bound_index<3> == 2 && Model::bound_index<4> == 2);
static_assert(Model::bound_index<5> == 3 && Model::bound_index<6> == 4);
static_assert(Model::bound_index<7> == 5);
static_assert(Model::bound_index<8> == 6 && Model::bound_index<9> == 6);
static_assert(Model::bound_index<10> == 7);
static_assert(std::is_same_v<Model::written_layer<3>, Model::layer<2>>);
static_assert(std::is_same_v<Model::params_for<0>, mtl::LinearParams<mtl::QInt8, 72, 8>>);
static_assert(std::is_same_v<Model::params_for<3>, mtl::LinearParams<mtl::QInt8, 1152, 16>>);
static_assert(std::is_same_v<Model::params_for<8>, mtl::LinearParams<float, 784 * 32, 32>>);
static_assert(std::is_same_v<Model::params_for<10>, mtl::LinearParams<float, 320, 10>>);
static_assert(Model::parameter_count == 4);

// A ReLU that does not follow a fusing layer stays a layer of its own; two ReLUs in a row
// fuse only the first.
using Loose = mtl::Sequential<mtl::Input<mtl::Shape<4>>, mtl::ReLU, mtl::Dense<3>, mtl::ReLU,
                              mtl::ReLU, mtl::Dense<2>>;
static_assert(Loose::layer_count == 4);
static_assert(Loose::bound_index<0> == 0 && Loose::bound_index<1> == 1 &&
              Loose::bound_index<2> == 1 && Loose::bound_index<3> == 2 &&
              Loose::bound_index<4> == 3);
static_assert(std::is_same_v<Loose::params_for<4>, mtl::LinearParams<float, 6, 2>>);

// Views: from arrays and spans of exactly the shape's size, const from non-const, and
// nothing else (the refusals are compile-fail tests).
using View = mtl::TensorView<const std::int8_t, mtl::Shape<128, 3>>;
static_assert(std::is_constructible_v<View, std::array<std::int8_t, 384>&>);
static_assert(std::is_constructible_v<View, const std::array<std::int8_t, 384>&>);
static_assert(std::is_constructible_v<View, const std::int8_t (&)[384]>);
static_assert(std::is_constructible_v<View, std::span<const std::int8_t, 384>>);
static_assert(!std::is_constructible_v<View, const std::int8_t*>);
static_assert(!std::is_constructible_v<View, std::array<float, 384>&>);
static_assert(!std::is_constructible_v<mtl::TensorView<std::int8_t, mtl::Shape<384>>,
                                       mtl::TensorView<const std::int8_t, mtl::Shape<384>>>);

// Parameter spans: named arrays and spans of the right size.
static_assert(std::is_constructible_v<mtl::BorrowedSpan<float, 12>, const std::array<float, 12>&>);
static_assert(std::is_constructible_v<mtl::BorrowedSpan<float, 12>, std::array<float, 12>&>);
static_assert(std::is_constructible_v<mtl::BorrowedSpan<float, 12>, std::span<const float, 12>>);
static_assert(std::is_constructible_v<mtl::BorrowedSpan<float, 12>, std::span<float, 12>>);
static_assert(!std::is_constructible_v<mtl::BorrowedSpan<float, 12>, std::span<const float>>);
