// model_signature<Model>(): a compile-time fingerprint of a model's structure. Equal for
// the same structure (however it is written), different when any layer, shape, fused
// activation, parameter extent or trainable-ness differs, and equal to golden values
// computed independently (in Python) from the documented byte encoding.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "microtl/io/model_signature.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;
using io::model_signature;

namespace {

// The reference model and one variant per fact the signature must see.
using Base = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using Relu6 = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU6, Trainable<Dense<3>>>;
using NoActivation = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, Trainable<Dense<3>>>;
using AllTrainable = Sequential<Input<Shape<6>>, Trainable<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using FirstFrozen = Sequential<Input<Shape<6>>, Dense<4>, ReLU, Trainable<Dense<3>>>;
using LastBiasOnly = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, BiasOnly<Dense<3>>>;
using WiderHidden = Sequential<Input<Shape<6>>, BiasOnly<Dense<5>>, ReLU, Trainable<Dense<3>>>;
using MoreOutputs = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<4>>>;
using WiderInput = Sequential<Input<Shape<7>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using ExtraLayer =
    Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>, Softmax>;
using Flattened =
    Sequential<Input<Shape<2, 3>>, Flatten, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
// FirstFrozen with an int8 front end (element types differ).
using Int8Front =
    Sequential<Input<Shape<6>, QInt8>, Dense<4>, Dequantize, ReLU, Trainable<Dense<3>>>;
// Two convolutions with the same shapes in and out but other kernels (and weight counts).
using Conv3 = Sequential<Input<Shape<4, 4, 1>>, Conv2D<2, Kernel<3, 3>, Padding::same>, Flatten,
                         Trainable<Dense<3>>>;
using Conv1 = Sequential<Input<Shape<4, 4, 1>>, Conv2D<2, Kernel<1, 1>, Padding::same>, Flatten,
                         Trainable<Dense<3>>>;
using MaxPool = Sequential<Input<Shape<4, 4, 2>>, MaxPool2D<2>, Flatten, Trainable<Dense<3>>>;
using AvgPool = Sequential<Input<Shape<4, 4, 2>>, AvgPool2D<2>, Flatten, Trainable<Dense<3>>>;

// The same models written differently: the signature must agree. Each is a different C++
// type from the model it is compared with (static_asserted below: spellings that only
// differ by a default template argument, such as Input<Shape<6>, float> for
// Input<Shape<6>>, name the very same type and could not make the comparison fail).
// Base as an extractor followed by a head (the nested chain is spliced, its ReLU fused).
using BaseExtractor = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU>;
using BaseNested = Sequential<BaseExtractor, Trainable<Dense<3>>>;
// Base cut before its ReLU: the ReLU that follows the nested chain fuses into its Dense.
using BaseSplitAtRelu =
    Sequential<Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>>, ReLU, Trainable<Dense<3>>>;
// Conv3 with its convolution in a nested chain.
using Conv3Nested =
    Sequential<Sequential<Input<Shape<4, 4, 1>>, Conv2D<2, Kernel<3>, Padding::same>>, Flatten,
               Trainable<Dense<3>>>;
// MaxPool cut into an extractor, a Flatten and a head.
using MaxPoolNested = Sequential<Sequential<Input<Shape<4, 4, 2>>, MaxPool2D<2>>, Flatten,
                                 Sequential<Input<Shape<8>>, Trainable<Dense<3>>>>;
static_assert(!std::is_same_v<BaseNested, Base> && !std::is_same_v<BaseSplitAtRelu, Base> &&
              !std::is_same_v<Conv3Nested, Conv3> && !std::is_same_v<MaxPoolNested, MaxPool>);

// Golden values, computed independently of the library from the encoding documented in
// model_signature.hpp, with this Python script (prints 0x745B3B5C and 0x0F1DD5E0):
//
//   def fnv1a(data):
//       h = 2166136261
//       for b in data:
//           h = ((h ^ b) * 16777619) & 0xFFFFFFFF
//       return h
//   def u32(v): return list(v.to_bytes(4, "little"))
//   def text(s): return list(s.encode()) + [0]
//   FLOAT, QINT8 = 1, 2
//   NONE, RELU, RELU6 = 0, 1, 2
//   def shape(dims): return u32(len(dims)) + sum((u32(d) for d in dims), [])
//   def layer(name, in_e, in_s, out_e, out_s, act=None, params=None, trains=None):
//       b = [ord("L")] + text(name) + [in_e] + shape(in_s) + [out_e] + shape(out_s)
//       if act is not None: b += [ord("A"), act]
//       if params is not None: b += [ord("P")] + u32(params[0]) + u32(params[1])
//       if trains is not None:
//           b += [ord("T"), 1 if trains[0] else 0] + u32(trains[1]) + u32(trains[2])
//       return b
//   def model(*layers): return u32(len(layers)) + sum(layers, [])
//   # Sequential<Input<Shape<2>>, Trainable<Dense<3>>>
//   g1 = model(layer("Dense", FLOAT, [2], FLOAT, [3], NONE, (6, 3), (True, 6, 3)))
//   # Sequential<Input<Shape<2, 2>, QInt8>, Flatten, BiasOnly<Dense<3>>, ReLU, Dequantize>
//   g2 = model(layer("Flatten", QINT8, [2, 2], QINT8, [4]),
//              layer("Dense", QINT8, [4], QINT8, [3], RELU, (12, 3), (False, 12, 3)),
//              layer("Dequantize", QINT8, [3], FLOAT, [3]))
//   print("0x%08X 0x%08X" % (fnv1a(g1), fnv1a(g2)))
//
// A change of these values changes every stored parameter blob's signature: parameters saved
// by an earlier build would no longer load. It must be deliberate.
using GoldenFloat = Sequential<Input<Shape<2>>, Trainable<Dense<3>>>;
using GoldenInt8 =
    Sequential<Input<Shape<2, 2>, QInt8>, Flatten, BiasOnly<Dense<3>>, ReLU, Dequantize>;
constexpr std::uint32_t kGoldenFloat = 0x745B3B5CU;
constexpr std::uint32_t kGoldenInt8 = 0x0F1DD5E0U;

constexpr std::array<std::uint32_t, 16> variants = {
    model_signature<Base>(),         model_signature<Relu6>(),
    model_signature<NoActivation>(), model_signature<AllTrainable>(),
    model_signature<FirstFrozen>(),  model_signature<LastBiasOnly>(),
    model_signature<WiderHidden>(),  model_signature<MoreOutputs>(),
    model_signature<WiderInput>(),   model_signature<ExtraLayer>(),
    model_signature<Flattened>(),    model_signature<Int8Front>(),
    model_signature<Conv3>(),        model_signature<Conv1>(),
    model_signature<MaxPool>(),      model_signature<AvgPool>(),
};

constexpr bool all_distinct() {
  for (std::size_t i = 0; i < variants.size(); ++i) {
    for (std::size_t j = i + 1; j < variants.size(); ++j) {
      if (variants[i] == variants[j]) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

// Computed by the compiler: the golden values. (Distinctness is checked at run time
// instead, where a failure names the two variants; a runtime repeat of a static_assert
// could never fail.)
static_assert(model_signature<GoldenFloat>() == kGoldenFloat);
static_assert(model_signature<GoldenInt8>() == kGoldenInt8);

TEST_CASE("model signature: every variant differs from every other") {
  CHECK(all_distinct());
  for (std::size_t i = 0; i < variants.size(); ++i) {
    for (std::size_t j = i + 1; j < variants.size(); ++j) {
      INFO("variants " << i << " and " << j);
      CHECK(variants[i] != variants[j]);
    }
  }
}

TEST_CASE("model signature: the same model written differently has the same signature") {
  CHECK(model_signature<BaseNested>() == model_signature<Base>());
  CHECK(model_signature<BaseSplitAtRelu>() == model_signature<Base>());
  CHECK(model_signature<Conv3Nested>() == model_signature<Conv3>());
  CHECK(model_signature<MaxPoolNested>() == model_signature<MaxPool>());
  // And the nested spellings are not confused with a variant: the split one with the model
  // that has no activation (which it would equal if the ReLU were dropped at the seam).
  CHECK(model_signature<BaseSplitAtRelu>() != model_signature<NoActivation>());
}

TEST_CASE("model signature: the golden models differ from every variant") {
  // (Their values are static_asserted above.)
  for (const std::uint32_t v : variants) {
    CHECK(v != kGoldenFloat);
    CHECK(v != kGoldenInt8);
  }
}

TEST_CASE("model signature: FNV-1a over the documented encoding") {
  // An empty encoding hashes to the FNV offset basis; "a" to FNV-1a's published value.
  io::detail::Fnv1a32 h;
  CHECK(h.value() == 2166136261U);
  h.byte('a');
  CHECK(h.value() == 0xE40C292CU);
}
