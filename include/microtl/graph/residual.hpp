// Residual<Layers...>: a residual block, y = act(x + F(x)), where F is the chain of Layers
// bound like a nested Sequential (fused activations inside it fuse as usual). F's output must
// have the block's input shape and element type. A ReLU / ReLU6 after the block fuses into its
// add, as TFLite's ADD fuses activations.
//
//   using Block = Residual<Conv2D<8, Kernel<3, 3>, Padding::same>, ReLU,
//                          Conv2D<8, Kernel<3, 3>, Padding::same>>;
//   using Model = Sequential<Input<Shape<16, 16, 8>, QInt8>, Block, ReLU, ...>;
//
// float: y = act(x + F(x)), kernels::add_f32.
// int8:  TFLite's int8 ADD of x (with its quantization) and F(x) (with the quantization F's
//        last layer produced), bit-exact (kernels/portable/add.hpp), into the output
//        quantization given with the block's parameters (TFLite's ADD has its own output
//        tensor). Its scales must meet kernels::add_scales_supported (TFLite's Prepare
//        requires the same): s_out > 2 max(s_x, s_F) / 2^20.
//
// Parameters: one ResidualParams per block, made by residual_params(inner...) (float) or
// residual_params_int8(output_quant, inner...) (int8), where inner... are the parameters of
// F's layers that have parameters, in chain order. The ResidualParams keeps pointers to them
// (lvalues only: a temporary does not compile) and the model keeps a pointer to it: all of
// them must outlive the model (const data). The int8 add's multipliers are derived from the
// three quantizations once per forward call (as Sigmoid's are), not per element.
//
// Memory (inference). x must stay alive while F runs, and the block's output must not
// overwrite it. The block is one layer of the outer chain with placement `separate`, so the
// outer plan keeps its input and output side by side; F runs entirely in the block's kernel
// scratch, planned by graph::plan_inference over F's layers (F's input is the block's input:
// "external" to that plan, never written). So
//
//   scratch_bytes = F's inference arena = max over F's layers j of
//                     align(in_j) + align(scratch_j) + align(out_j)    (in_0 counts 0)
//   the block needs align(in) + align(scratch_bytes) + align(out) while it runs
//
// (align: up to MICROTL_ALIGNMENT), all constexpr.
//
// Training. The block runs backward (the input gradient, so that layers before it train):
//
//   dL/dx = g + J_F(x)^T g,   g = dL/dy * act'(y)    (int8: g passes where y is not clamped)
//
// F's layers must be BackwardLayers (or views) and must not train: Trainable<...> / BiasOnly
// inside a Residual is refused at compile time (the trainer keeps one gradient sink and one
// trained-tensor list per layer of the outer chain). For backward the block saves, in its
// backward_saved_bytes (ForwardRecord::saved), F's intermediate outputs, their quantization,
// each inner layer's own saved bytes and a workspace (two gradient buffers of F's largest
// gradient, also used as F's kernel scratch when save_for_backward runs F again to keep its
// outputs):
//
//   backward_saved_bytes = align(quant table) + sum over non-view j of align(out_j)
//                          + sum over j of align(saved_j)
//                          + max(2 align(largest gradient of F in float), max_j align(scratch_j))
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#include "microtl/config.hpp"
#include "microtl/core/arena.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/graph/memory_plan.hpp"
#include "microtl/graph/sequential.hpp"
#include "microtl/graph/walk.hpp"
#include "microtl/kernels/portable/add.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/quant_info.hpp"

namespace microtl {

// The parameters of one Residual block: the output quantization of its add (int8; NoQuant
// for float) and pointers to the parameters of F's layers that have them, in chain order.
template <class OutQuant, class... Inner>
struct ResidualParams {
  [[no_unique_address]] OutQuant output{};
  std::tuple<const Inner*...> inner{};
};

// A float block's parameters: those of F's layers with parameters, in chain order. They are
// referenced: each must be an lvalue that outlives the model (a temporary does not compile).
template <class... Inner>
  requires(std::is_lvalue_reference_v<Inner> && ...)
constexpr ResidualParams<NoQuant, std::remove_cvref_t<Inner>...> residual_params(
    Inner&&... inner) noexcept {
  return {NoQuant{}, {&inner...}};
}

// An int8 block's parameters: the add's output quantization, then F's layers' parameters.
template <class... Inner>
  requires(std::is_lvalue_reference_v<Inner> && ...)
constexpr ResidualParams<quant::QuantParams, std::remove_cvref_t<Inner>...> residual_params_int8(
    quant::QuantParams output, Inner&&... inner) noexcept {
  return {output, {&inner...}};
}

namespace graph {

namespace residual_detail {

template <class OutQuant, class List>
struct ParamsOf;
template <class OutQuant, class... L>
struct ParamsOf<OutQuant, std::tuple<L...>> {
  using type = decltype(std::tuple_cat(
      std::declval<
          std::conditional_t<has_params_v<L>, std::tuple<typename L::Params>, std::tuple<>>>()...));
};
template <class OutQuant, class Tuple>
struct ParamsFromTuple;
template <class OutQuant, class... P>
struct ParamsFromTuple<OutQuant, std::tuple<P...>> {
  using type = ResidualParams<OutQuant, P...>;
};

template <class L>
constexpr std::size_t saved_bytes_of() noexcept {
  if constexpr (requires { L::backward_saved_bytes; }) {
    return L::backward_saved_bytes;
  } else {
    return 0;
  }
}

template <class L>
constexpr bool runs_backward() noexcept {
  return L::placement == OutputPlacement::view || BackwardLayer<L>;
}

// Where the block's backward bytes go (see the header comment), offsets into
// ForwardRecord::saved.
template <std::size_t N>
struct SavedLayout {
  std::array<std::size_t, N> activation{};  // output of inner layer j (views: their input's)
  std::array<bool, N> is_block_input{};     // a view over the block's own input
  std::array<std::size_t, N> own{};         // inner layer j's own saved bytes
  std::size_t workspace = 0;
  std::size_t gradient_floats = 0;  // floats of each of the two gradient buffers
  std::size_t bytes = 0;
};

}  // namespace residual_detail

template <ShapeType S, ActivationElement E, quant::Activation A, class... Specs>
struct ResidualLayer : LayerBase<S, E> {
  static_assert(sizeof...(Specs) > 0, "microtl::Residual: the block needs at least one layer");
  // F, bound and planned as a model of its own: its input (the block's) is external to its
  // plan, everything else lives in the block's scratch.
  using F = Sequential<Input<S, E>, Specs...>;
  using chain = typename F::layer_list;
  static constexpr std::size_t inner_count = F::layer_count;
  template <std::size_t J>
  using inner = typename F::template layer<J>;
  using last = inner<inner_count - 1>;
  static_assert(std::is_same_v<typename last::output_shape, S>,
                "microtl::Residual: the output shape of the block's layers F differs from the "
                "block's input shape (y = x + F(x) needs them equal)");
  static_assert(std::is_same_v<typename last::output_element, E>,
                "microtl::Residual: the element type (float / QInt8) of the block's layers' "
                "output differs from the block's input's");
  static_assert(
      []<std::size_t... J>(std::index_sequence<J...>) {
        return (!is_trainable_v<inner<J>> && ...);
      }(std::make_index_sequence<inner_count>{}),
      "microtl::Residual: layers inside a Residual cannot train (no Trainable<...> "
      "or BiasOnly<...> inside the block); the block passes gradients to trainable "
      "layers before it");

  using output_shape = S;
  using Params = typename residual_detail::ParamsFromTuple<
      quant_info_t<E>, typename residual_detail::ParamsOf<quant_info_t<E>, chain>::type>::type;
  static constexpr const char* name = "Residual";
  static constexpr quant::Activation activation = A;

  static constexpr const InferencePlan<inner_count>& inner_plan = F::plan;
  static constexpr std::size_t scratch_bytes = F::inference_arena_bytes;

  // Index of inner layer J's parameters in Params::inner.
  template <std::size_t J>
  static constexpr std::size_t param_slot = [] {
    std::size_t slot = 0;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((slot += has_params_v<inner<K>> ? 1 : 0), ...);
    }(std::make_index_sequence<J>{});
    return slot;
  }();

  // F as a model for graph::walk.
  struct InnerModel {
    const Params& p;
    template <std::size_t J>
    using layer = inner<J>;
    template <std::size_t J>
    decltype(auto) parameters() const noexcept {
      if constexpr (has_params_v<inner<J>>) {
        return *std::get<param_slot<J>>(p.inner);
      } else {
        return NoParams{};
      }
    }
  };

  struct ScratchPolicy {
    std::byte* arena;
    template <std::size_t J>
    auto* output() const noexcept {
      using Out = storage_t<typename inner<J>::output_element>;
      return static_cast<Out*>(static_cast<void*>(arena + inner_plan.output_offset[J]));
    }
    template <std::size_t J>
    std::span<std::byte> scratch() const noexcept {
      return {arena + inner_plan.scratch_offset[J], inner<J>::scratch_bytes};
    }
    template <std::size_t J, class InQuant, class Out, class OutQuant>
    void after(const void*, InQuant, const Out*, OutQuant) const noexcept {}
  };

  using storage = storage_t<E>;

  // y = act(x + f): float, or TFLite's int8 ADD into p.output.
  static quant_info_t<E> add(const Params& p, const storage* x, quant_info_t<E> x_quant,
                             const storage* f, quant_info_t<E> f_quant, storage* y) noexcept {
    constexpr std::size_t n = S::size;
    if constexpr (std::is_same_v<E, float>) {
      kernels::add_f32<n>(std::span<const float, n>(x, n), std::span<const float, n>(f, n),
                          std::span<float, n>(y, n), A);
      return {};
    } else {
      kernels::add_s8<n>(std::span<const std::int8_t, n>(x, n),
                         std::span<const std::int8_t, n>(f, n), std::span<std::int8_t, n>(y, n),
                         kernels::prepare_add_s8(x_quant, f_quant, p.output, A));
      return p.output;
    }
  }

  static quant_info_t<E> forward(const Params& p, input_view_t<ResidualLayer> in,
                                 quant_info_t<E> in_quant, output_view_t<ResidualLayer> out,
                                 std::span<std::byte> scratch) noexcept {
    const InnerModel model{p};
    ScratchPolicy policy{scratch.data()};
    const auto f = walk<0, inner_count>(model, in.data(), in_quant, policy);
    return add(p, in.data(), in_quant, static_cast<const storage*>(f.output), f.quant, out.data());
  }

  // ---------------------------------------------------------------------------------------
  // Backward.
  // ---------------------------------------------------------------------------------------
  // A quantization per inner output when any is int8 (F may change element types inside).
  static constexpr bool int8_inside = []<std::size_t... J>(std::index_sequence<J...>) {
    return (std::is_same_v<typename inner<J>::output_element, QInt8> || ...);
  }(std::make_index_sequence<inner_count>{});
  static constexpr std::size_t quant_table_bytes =
      int8_inside ? align_up(inner_count * sizeof(quant::QuantParams), MICROTL_ALIGNMENT) : 0;

  static constexpr residual_detail::SavedLayout<inner_count> saved_layout = [] {
    constexpr std::size_t a = MICROTL_ALIGNMENT;
    residual_detail::SavedLayout<inner_count> s{};
    std::size_t cursor = quant_table_bytes;
    std::size_t largest_grad = 0;
    std::size_t largest_scratch = 0;
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (([&] {
         using L = inner<J>;
         if (L::placement == OutputPlacement::view) {
           s.is_block_input[J] = J == 0 || s.is_block_input[J == 0 ? 0 : J - 1];
           s.activation[J] = J == 0 ? 0 : s.activation[J == 0 ? 0 : J - 1];
         } else {
           s.activation[J] = cursor;
           cursor +=
               align_up(L::output_shape::size * sizeof(storage_t<typename L::output_element>), a);
         }
         largest_grad = std::max({largest_grad, L::input_shape::size, L::output_shape::size});
         largest_scratch = std::max(largest_scratch, align_up(L::scratch_bytes, a));
       }()),
       ...);
      ((s.own[J] = cursor, cursor += align_up(residual_detail::saved_bytes_of<inner<J>>(), a)),
       ...);
    }(std::make_index_sequence<inner_count>{});
    s.workspace = cursor;
    s.gradient_floats = align_up(largest_grad * sizeof(float), a) / sizeof(float);
    cursor += std::max(2 * s.gradient_floats * sizeof(float), largest_scratch);
    s.bytes = cursor;
    return s;
  }();
  static constexpr std::size_t backward_saved_bytes = saved_layout.bytes;

  // What inner layer J's forward left, within the block's record.
  template <std::size_t J>
  static const void* inner_output(const ForwardRecord<ResidualLayer>& r) noexcept {
    if (saved_layout.is_block_input[J]) {
      return r.x.data();
    }
    return r.saved.data() + saved_layout.activation[J];
  }
  static quant::QuantParams* quant_table(const ForwardRecord<ResidualLayer>& r) noexcept {
    return static_cast<quant::QuantParams*>(static_cast<void*>(r.saved.data()));
  }
  template <std::size_t J>
  static ForwardRecord<inner<J>> inner_record(const ForwardRecord<ResidualLayer>& r) noexcept {
    using L = inner<J>;
    using In = storage_t<typename L::input_element>;
    using Out = storage_t<typename L::output_element>;
    const void* x = r.x.data();
    quant_info_t<typename L::input_element> x_quant{};
    quant_info_t<typename L::output_element> y_quant{};
    if constexpr (J > 0) {
      x = inner_output<J - 1>(r);
    }
    if constexpr (std::is_same_v<typename L::input_element, QInt8>) {
      if constexpr (J == 0) {
        x_quant = r.x_quant;
      } else {
        x_quant = quant_table(r)[J - 1];
      }
    }
    if constexpr (std::is_same_v<typename L::output_element, QInt8>) {
      y_quant = quant_table(r)[J];
    }
    return {TensorView<const In, typename L::input_shape>::unchecked(static_cast<const In*>(x)),
            x_quant,
            TensorView<const Out, typename L::output_shape>::unchecked(
                static_cast<const Out*>(inner_output<J>(r))),
            y_quant, r.saved.subspan(saved_layout.own[J], residual_detail::saved_bytes_of<L>())};
  }

  // Runs F again, keeping every output (and its quantization) for backward.
  struct SavePolicy {
    const Params& p;
    const ForwardRecord<ResidualLayer>& r;
    template <std::size_t J>
    auto* output() const noexcept {
      using Out = storage_t<typename inner<J>::output_element>;
      return static_cast<Out*>(static_cast<void*>(r.saved.data() + saved_layout.activation[J]));
    }
    template <std::size_t J>
    std::span<std::byte> scratch() const noexcept {
      return {r.saved.data() + saved_layout.workspace, inner<J>::scratch_bytes};
    }
    template <std::size_t J, class InQuant, class Out, class OutQuant>
    void after(const void*, InQuant, const Out*, OutQuant out_quant) const noexcept {
      if constexpr (std::is_same_v<OutQuant, quant::QuantParams>) {
        quant_table(r)[J] = out_quant;
      }
      if constexpr (SavesForBackward<inner<J>>) {
        inner<J>::save_for_backward(InnerModel{p}.template parameters<J>(), inner_record<J>(r));
      }
    }
  };

  static void save_for_backward(const Params& p,
                                const ForwardRecord<ResidualLayer>& forward) noexcept {
    const InnerModel model{p};
    SavePolicy policy{p, forward};
    (void)walk<0, inner_count>(model, forward.x.data(), forward.x_quant, policy);
  }

  template <std::size_t J>
  static void inner_backward(const Params& p, const ForwardRecord<ResidualLayer>& r, float* g,
                             float* spare, float* dx) noexcept {
    using L = inner<J>;
    float* target = J == 0 ? dx : spare;
    if constexpr (L::placement == OutputPlacement::view) {
      if constexpr (J == 0) {
        std::copy(g, g + S::size, dx);
      } else {
        inner_backward<J - 1>(p, r, g, spare, dx);
      }
    } else {
      L::template backward<true>(InnerModel{p}.template parameters<J>(), inner_record<J>(r),
                                 TensorView<float, typename L::output_shape>::unchecked(g),
                                 TensorView<float, typename L::input_shape>::unchecked(target),
                                 NoGradients{});
      if constexpr (J > 0) {
        inner_backward<J - 1>(p, r, target, g, dx);
      }
    }
  }

  //   g = dy * act'(y);   dx = g + J_F^T g
  template <bool InputGrad, GradientSink Sink>
  static void backward(const Params& p, const ForwardRecord<ResidualLayer>& forward,
                       TensorView<float, S> dy, TensorView<float, S> dx, const Sink&) noexcept {
    static_assert(
        []<std::size_t... J>(std::index_sequence<J...>) {
          return (residual_detail::runs_backward<inner<J>>() && ...);
        }(std::make_index_sequence<inner_count>{}),
        "microtl::Residual: a layer inside this Residual has no backward pass, so the "
        "trainer cannot pass gradients through the block (see layers/contract.hpp, "
        "BackwardLayer)");
    if constexpr (InputGrad) {
      apply_output_activation_grad<ResidualLayer, A>(forward, dy);
      float* g =
          static_cast<float*>(static_cast<void*>(forward.saved.data() + saved_layout.workspace));
      float* spare = g + saved_layout.gradient_floats;
      std::copy(dy.data(), dy.data() + S::size, g);
      inner_backward<inner_count - 1>(p, forward, g, spare, dx.data());
      for (std::size_t i = 0; i < S::size; ++i) {
        dx[i] += dy[i];
      }
    }
  }
};

}  // namespace graph

// The residual block spec: y = x + F(x), F = Layers... (see the top of this header).
template <class... Layers>
struct Residual {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = graph::ResidualLayer<S, E, A, Layers...>;
};

}  // namespace microtl
