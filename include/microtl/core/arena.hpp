// Arena<Bytes>: one block of working memory whose size is a compile-time constant, and the
// compile-time plan that says where each buffer lives inside it.
//
// No heap: an Arena is an ordinary object (put it in .bss, in a named section for a
// particular RAM bank, or on the stack). It never hands out memory at run time; it hands
// out typed views at offsets that the compiler planned and checked:
//
//   using Plan = microtl::ArenaPlan<microtl::Buffer<std::int8_t, microtl::Shape<28, 28, 1>>,
//                                   microtl::Buffer<float, microtl::Shape<10>>>;
//   microtl::Arena<Plan::bytes> arena;                 // sizeof known before the program runs
//   auto image  = arena.view<Plan, 0>();               // TensorView<int8_t, Shape<28, 28, 1>>
//   auto logits = arena.view<Plan, 1>();               // TensorView<float, Shape<10>>
//   static_assert(Plan::bytes <= 8 * 1024);           // a budget the build enforces
//
// A buffer that does not fit, or a misaligned offset, is a compile error.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <new>
#include <span>
#include <tuple>

#include "microtl/config.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"

namespace microtl {

// Rounds `value` up to a multiple of `alignment` (a power of two).
constexpr std::size_t align_up(std::size_t value, std::size_t alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);
}

// A request for one typed buffer: S::size elements of T.
template <Element T, ShapeType S>
struct Buffer {
  using element_type = T;
  using shape_type = S;
  static constexpr std::size_t bytes = sizeof(T) * S::size;
  static constexpr std::size_t alignment = MICROTL_ALIGNMENT;
};

template <class B>
concept BufferType = requires {
  typename B::element_type;
  typename B::shape_type;
  { B::bytes } -> std::convertible_to<std::size_t>;
  { B::alignment } -> std::convertible_to<std::size_t>;
};

// Buffers placed one after another, each aligned; no two overlap. (Plans in which buffers
// whose lifetimes do not overlap share memory are made by the graph planner on top of this.)
template <BufferType... Buffers>
struct ArenaPlan {
  static constexpr std::size_t count = sizeof...(Buffers);

  // offsets[i]: where buffer i starts; bytes: the total, rounded to MICROTL_ALIGNMENT.
  static constexpr std::array<std::size_t, count> offsets = [] {
    std::array<std::size_t, count> result{};
    std::size_t cursor = 0;
    std::size_t i = 0;
    ((result[i++] = (cursor = align_up(cursor, Buffers::alignment)), cursor += Buffers::bytes),
     ...);
    return result;
  }();
  static constexpr std::size_t bytes = [] {
    std::size_t cursor = 0;
    ((cursor = align_up(cursor, Buffers::alignment) + Buffers::bytes), ...);
    return align_up(cursor, MICROTL_ALIGNMENT);
  }();

  template <std::size_t I>
  using buffer = std::tuple_element_t<I, std::tuple<Buffers...>>;
};

template <std::size_t Bytes, std::size_t Alignment = MICROTL_ALIGNMENT>
class Arena {
  static_assert(Alignment > 0 && (Alignment & (Alignment - 1)) == 0,
                "microtl::Arena: the alignment must be a power of two");

 public:
  static constexpr std::size_t capacity = Bytes;
  static constexpr std::size_t alignment = Alignment;

  // A view of S::size elements of T starting `Offset` bytes into the arena.
  template <Element T, ShapeType S, std::size_t Offset>
  TensorView<T, S> view_at() noexcept {
    static_assert(Offset % alignof(T) == 0,
                  "microtl::Arena::view_at: the offset is not aligned for this element type");
    static_assert(Offset + sizeof(T) * S::size <= Bytes,
                  "microtl::Arena::view_at: the buffer does not fit in the arena");
    // The byte array provides storage; objects of implicit-lifetime types (all Elements)
    // begin to exist in it, and launder makes the pointer to them usable.
    return TensorView<T, S>::unchecked(
        std::launder(static_cast<T*>(static_cast<void*>(storage_ + Offset))));
  }

  // Buffer I of a plan; the plan must fit this arena.
  template <class Plan, std::size_t I>
  auto view() noexcept {
    static_assert(Plan::bytes <= Bytes,
                  "microtl::Arena::view: the plan needs more bytes than this arena has");
    using B = typename Plan::template buffer<I>;
    return view_at<typename B::element_type, typename B::shape_type, Plan::offsets[I]>();
  }

  std::span<std::byte, Bytes> bytes() noexcept {
    return std::span<std::byte, Bytes>(storage_, Bytes);
  }

 private:
  // Bytes == 0 (a model that needs no scratch) still gets a valid, tiny object.
  alignas(Alignment) std::byte storage_[Bytes > 0 ? Bytes : 1];
};

}  // namespace microtl
