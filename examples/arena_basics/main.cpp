// arena_basics: the core of microtl in one screen. A model's working memory is planned at
// compile time, checked against a budget by static_assert, and used through typed views.
// Here: y = W x + b for a 64 -> 16 float layer, with x and y in a planned arena and W, b as
// const data (they stay in flash). On a Cortex-M preset it runs in QEMU and prints the
// instructions the product took.
#include <microtl/microtl.hpp>

#include <cstdio>

#include "board/board.hpp"

namespace mtl = microtl;

namespace {

constexpr std::size_t in = 64;
constexpr std::size_t out = 16;

// Working memory: the input and output activations.
using Plan =
    mtl::ArenaPlan<mtl::Buffer<float, mtl::Shape<in>>, mtl::Buffer<float, mtl::Shape<out>>>;
static_assert(Plan::bytes == (in + out) * sizeof(float), "two float buffers, no padding needed");
static_assert(Plan::bytes <= 1024, "the budget this firmware allows for activations");

// Parameters as const data: generated here by a constexpr function, as a code generator
// would emit them. W(o, i) = ((o * 7 + i * 3) % 11 - 5) / 8.
constexpr auto make_weights() {
  mtl::Tensor<float, mtl::Shape<out, in>> w{};
  for (std::size_t o = 0; o < out; ++o) {
    for (std::size_t i = 0; i < in; ++i) {
      w(o, i) = static_cast<float>(static_cast<int>((o * 7 + i * 3) % 11) - 5) / 8.0f;
    }
  }
  return w;
}
constexpr auto weights = make_weights();
constexpr mtl::Tensor<float, mtl::Shape<out>> bias{
    {0.5f, -0.5f, 0.25f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

mtl::Arena<Plan::bytes> arena;

// y(o) = b(o) + sum_i W(o, i) x(i)
void dense(mtl::TensorView<const float, mtl::Shape<out, in>> w,
           mtl::TensorView<const float, mtl::Shape<out>> b,
           mtl::TensorView<const float, mtl::Shape<in>> x,
           mtl::TensorView<float, mtl::Shape<out>> y) {
  for (std::size_t o = 0; o < out; ++o) {
    float acc = b[o];
    for (std::size_t i = 0; i < in; ++i) {
      acc += w(o, i) * x[i];
    }
    y[o] = acc;
  }
}

}  // namespace

int main() {
  auto x = arena.view<Plan, 0>();
  auto y = arena.view<Plan, 1>();
  for (std::size_t i = 0; i < in; ++i) {
    x[i] = static_cast<float>(i % 4) - 1.5f;  // -1.5, -0.5, 0.5, 1.5, ...
  }

  board::InstructionCounter counter;
  dense(weights, bias, x, y);
  const auto instructions = counter.elapsed();

  std::printf("arena_basics on %s: y = W x + b, %u -> %u\n", board::core_name(),
              static_cast<unsigned>(in), static_cast<unsigned>(out));
  std::printf("  y[0..3] = %.4f %.4f %.4f %.4f\n", static_cast<double>(y[0]),
              static_cast<double>(y[1]), static_cast<double>(y[2]), static_cast<double>(y[3]));
  // (newlib's printf has no %zu: sizes are printed as unsigned.)
  std::printf("  arena: %u bytes (constexpr), parameters: %u bytes of const data\n",
              static_cast<unsigned>(Plan::bytes),
              static_cast<unsigned>(sizeof(weights) + sizeof(bias)));
  if (board::counts_instructions()) {
    std::printf("  instructions for the product: %llu (QEMU -icount; instructions, not cycles)\n",
                static_cast<unsigned long long>(instructions));
  }
  return 0;
}
