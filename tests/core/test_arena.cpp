// Arena: planned buffers are aligned, disjoint, inside the arena, and typed.
#include <doctest/doctest.h>

#include <cstdint>

#include "microtl/core/arena.hpp"

using microtl::ArenaPlan;
using microtl::Buffer;
using microtl::Shape;

namespace {
using Plan = ArenaPlan<Buffer<std::int8_t, Shape<7>>, Buffer<float, Shape<3, 2>>,
                       Buffer<std::int16_t, Shape<5>>, Buffer<std::int32_t, Shape<1>>>;
}

TEST_CASE("arena: every planned buffer is aligned and inside the arena") {
  microtl::Arena<Plan::bytes> arena;
  auto* base = arena.bytes().data();
  auto check = [&](const void* p, std::size_t bytes) {
    const auto* b = static_cast<const std::byte*>(p);
    CHECK(reinterpret_cast<std::uintptr_t>(b) % MICROTL_ALIGNMENT == 0);
    CHECK(b >= base);
    CHECK(b + bytes <= base + Plan::bytes);
  };
  check(arena.view<Plan, 0>().data(), 7);
  check(arena.view<Plan, 1>().data(), 24);
  check(arena.view<Plan, 2>().data(), 10);
  check(arena.view<Plan, 3>().data(), 4);
}

TEST_CASE("arena: buffers do not overlap (writing one leaves the others intact)") {
  microtl::Arena<Plan::bytes> arena;
  auto a = arena.view<Plan, 0>();
  auto b = arena.view<Plan, 1>();
  auto c = arena.view<Plan, 2>();
  auto d = arena.view<Plan, 3>();
  for (auto& x : a)
    x = 0x11;
  for (auto& x : b)
    x = 2.5f;
  for (auto& x : c)
    x = -1234;
  d[0] = 0x7EADBEEF;
  for (auto x : a)
    CHECK(x == 0x11);
  for (auto x : b)
    CHECK(x == 2.5f);
  for (auto x : c)
    CHECK(x == -1234);
  CHECK(d[0] == 0x7EADBEEF);
}

TEST_CASE("arena: view_at gives the same memory as the plan's offsets") {
  microtl::Arena<Plan::bytes> arena;
  auto planned = arena.view<Plan, 1>();
  auto direct = arena.view_at<float, Shape<6>, Plan::offsets[1]>();
  planned(2, 1) = 42.0f;  // flat index 5
  CHECK(direct[5] == 42.0f);
  CHECK(static_cast<void*>(direct.data()) ==
        static_cast<void*>(arena.bytes().data() + Plan::offsets[1]));
}
