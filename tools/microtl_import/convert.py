"""The op chain of a TFLite model -> microtl layers, or a refusal.

convert(graph) returns a Conversion: the input (shape, element, quantization), the list of
Layer entries in Sequential order, and the output quantization. Anything microtl cannot run
bit-exactly raises Unsupported(op_index, op_name, what): nothing is approximated.

A Layer is one written spec of the Sequential (ReLU / ReLU6 after a layer that fuses them
included), with the op it comes from and, for layers with parameters, what to emit.
"""
from . import tflite
from .multiplier import channel_multiplier, f32, mean_multiplier
from .tflite import OPS, INT8, FLOAT32, INT32

SOFTMAX_OUTPUT = (1.0 / 256.0, -128)
SIGMOID_OUTPUT = (1.0 / 256.0, -128)
TANH_OUTPUT = (1.0 / 128.0, 0)


class Unsupported(Exception):
    def __init__(self, op_index, op_name, what):
        self.op_index = op_index
        self.op_name = op_name
        self.what = what
        where = "model" if op_index is None else "operator %d (%s)" % (op_index, op_name)
        super().__init__("%s: %s" % (where, what))


class Layer:
    def __init__(self, spec, op, kind="plain", fuses=False, params=None, bound=True):
        self.spec = spec        # C++ spec, as written in the Sequential
        self.op = op            # source operator index (None: inserted, e.g. Flatten)
        self.kind = kind        # plain | linear | softmax | quantize
        self.fuses = fuses      # a following ReLU / ReLU6 fuses into it
        self.params = params    # dict for linear / softmax / quantize
        self.bound = bound      # False for a ReLU fused into the layer before it
        self.name = None        # C++ name of its parameter object


class Conversion:
    def __init__(self):
        self.input_shape = None
        self.input_element = None   # "int8" | "float"
        self.input_quant = None     # (scale, zero_point) or None
        self.output_quant = None
        self.output_element = None
        self.output_shape = None
        self.layers = []
        self.op_lines = []          # "index: OPNAME -> microtl layer"
        self.notes = {}             # op index -> why it has no layer


def _padding(p):
    return "mtl::Padding::same" if p == tflite.SAME else "mtl::Padding::valid"


def _out_size(n, k, s, pad):
    return (n + s - 1) // s if pad == tflite.SAME else ((n - k) // s + 1 if n >= k else 0)


def _shape_only_ops(graph):
    """Ops that only compute the shape operand of a RESHAPE (Keras' Flatten with a dynamic
    batch: SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE): the RESHAPE's output shape is static,
    so they are folded away."""
    consumers = {}
    for op in graph.operators:
        for pos, t in enumerate(op.inputs):
            if t >= 0:
                consumers.setdefault(t, []).append((op, pos))
    shape_only = set()
    reshapes = (OPS["RESHAPE"], OPS["SQUEEZE"], OPS["EXPAND_DIMS"])
    changed = True
    while changed:
        changed = False
        for op in graph.operators:
            if op.index in shape_only or not op.outputs:
                continue
            ok = True
            for t in op.outputs:
                users = consumers.get(t, [])
                if t in graph.outputs or not users:
                    ok = False
                    break
                if all(u.index in shape_only for u, _ in users) and op.code in reshapes:
                    continue    # a reshape read only for its shape (by SHAPE)
                if graph.tensors[t].type not in (INT32, tflite.INT64) or op.code == OPS["RESHAPE"]:
                    ok = False
                    break
                for u, pos in users:
                    if not ((u.code == OPS["RESHAPE"] and pos == 1) or u.index in shape_only):
                        ok = False
            if ok:
                shape_only.add(op.index)
                changed = True
    return shape_only


def _add_reshape(c, op_index, from_shape, to_shape):
    """Appends Reshape<to_shape>, merged with a Reshape right before it (consecutive reshapes
    are one), and none at all when the shape does not change."""
    if c.layers and c.layers[-1].spec.startswith("mtl::Reshape<"):
        from_shape = c.layers.pop().from_shape
    if list(to_shape) == list(from_shape):
        return
    lay = Layer("mtl::Reshape<mtl::Shape<%s>>" % ", ".join(map(str, to_shape)), op_index)
    lay.from_shape = list(from_shape)
    c.layers.append(lay)


def _quant(t):
    return (t.quant.scale[0], t.quant.zero_point[0])


def convert(graph, reference="tflite", cut=None):
    """reference: whose int8 arithmetic to reproduce. "tflite": TFLite 2.x, whose
    FULLY_CONNECTED rounds its requantization once; "tflite-micro": TFLite Micro, which
    rounds twice everywhere (microtl's default).

    cut: None, an operator index or a tensor name (transfer learning, issue 16 item 2). The
    operators from the cut on (from the operator that reads the named tensor) become a float
    head that trains: a Dequantize, then mtl::Trainable<...> linear layers initialised from
    the dequantized int8 weights and biases they replace (float pools, reshapes, Mean and
    activations as they are). A SOFTMAX at the very end is left out of the head: training
    uses the logits (mtl::SoftmaxCrossEntropy applies the softmax itself). The front before
    the cut stays int8, bit-exact."""
    c = Conversion()
    c.fc_rounding_once = reference == "tflite"
    c.cut = None
    if graph.subgraph_count != 1:
        raise Unsupported(None, None, "%d subgraphs: only a single-subgraph model can be "
                          "imported (control flow / multiple signatures are not supported)"
                          % graph.subgraph_count)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise Unsupported(None, None, "%d inputs and %d outputs: a Sequential model has one of "
                          "each" % (len(graph.inputs), len(graph.outputs)))
    if not graph.operators:
        raise Unsupported(None, None, "no operators")
    T = graph.tensors
    tin = T[graph.inputs[0]]
    if not tin.shape or tin.shape[0] != 1 or len(tin.shape) < 2:
        raise Unsupported(None, None, "input tensor '%s' has shape %s: expected [1, ...] (batch "
                          "1)" % (tin.name, tin.shape))
    c.input_shape = tin.shape[1:]
    if tin.type == INT8:
        if tin.quant is None or len(tin.quant.scale) != 1:
            raise Unsupported(None, None, "input tensor '%s' is int8 without per-tensor "
                              "quantization" % tin.name)
        c.input_element = "int8"
        c.input_quant = _quant(tin)
    elif tin.type == FLOAT32:
        c.input_element = "float"
    else:
        raise Unsupported(None, None, "input tensor '%s' is %s: only int8 (or float32 followed "
                          "by QUANTIZE) can be imported" % (tin.name, tin.type_name))

    skip = _shape_only_ops(graph)
    if cut is not None:
        c.cut = _resolve_cut(graph, cut, skip)
    state = {"tensor": tin.index, "shape": list(c.input_shape), "elem": c.input_element}
    for op in graph.operators:
        if op.index in skip:
            c.op_lines.append("%d: %s -> (shape computation of a RESHAPE, folded)"
                              % (op.index, op.name))
            continue
        if c.cut is not None and op.index == c.cut:
            if state["elem"] != "int8":
                raise Unsupported(op.index, op.name, "the cut must be where the data is int8")
            c.layers.append(Layer("mtl::Dequantize", op.index))
            state["elem"] = "head"
        _convert_op(c, graph, op, state)
        c.op_lines.append(op)
    if state["tensor"] != graph.outputs[0]:
        raise Unsupported(None, None, "non-sequential graph: the model's output is tensor '%s', "
                          "not the output of the last operator"
                          % T[graph.outputs[0]].name)
    for i, op in enumerate(c.op_lines):
        if isinstance(op, str):
            continue
        made = [l.spec for l in c.layers if l.op == op.index]
        c.op_lines[i] = "%d: %s -> %s" % (op.index, op.name, ", ".join(made) or c.notes.get(
            op.index, "(no layer: a reshape merged into the next one)"))
    tout = T[graph.outputs[0]]
    c.output_element = state["elem"]
    c.output_shape = state["shape"]
    c.output_quant = _quant(tout) if state["elem"] == "int8" else None
    if state["elem"] == "head":
        c.output_element = "float"
    return c


def _resolve_cut(graph, cut, skip):
    """The index of the first operator of the float head."""
    ops = [op for op in graph.operators if op.index not in skip]
    if isinstance(cut, int) or str(cut).isdigit():
        index = int(cut)
        if index not in [op.index for op in ops]:
            raise Unsupported(None, None, "--cut %s: no such operator (the data operators are "
                              "%s)" % (cut, ", ".join(str(op.index) for op in ops)))
        if index == ops[0].index:
            raise Unsupported(None, None, "--cut %s: the int8 front would be empty" % cut)
        return index
    names = [t.index for t in graph.tensors if t.name == cut]
    if len(names) != 1:
        raise Unsupported(None, None, "--cut %s: %s tensor has that name"
                          % (cut, "no" if not names else "more than one"))
    readers = [op.index for op in ops if op.inputs and op.inputs[0] == names[0]]
    if len(readers) != 1:
        raise Unsupported(None, None, "--cut %s: the tensor is not read by exactly one operator "
                          "of the chain" % cut)
    return _resolve_cut(graph, readers[0], skip)


def _convert_op(c, graph, op, state):
    T = graph.tensors
    name = op.name

    def refuse(what):
        raise Unsupported(op.index, name, what)

    data_inputs = [t for t in op.inputs]
    if not data_inputs or data_inputs[0] != state["tensor"]:
        got = T[data_inputs[0]].name if data_inputs and data_inputs[0] >= 0 else "nothing"
        refuse("non-sequential graph: reads tensor '%s', not the output of the operator before "
               "it ('%s')" % (got, T[state["tensor"]].name))
    if len(op.outputs) != 1:
        refuse("%d outputs: only single-output operators can be imported" % len(op.outputs))
    x = T[op.inputs[0]]
    y = T[op.outputs[0]]
    if not y.shape or y.shape[0] != 1:
        refuse("output tensor '%s' has shape %s: expected batch 1" % (y.name, y.shape))
    out_shape = y.shape[1:]

    def need_int8(t, role):
        if t.type != INT8:
            refuse("%s tensor '%s' is %s where int8 is needed" % (role, t.name, t.type_name))
        if t.quant is None or len(t.quant.scale) != 1:
            refuse("%s tensor '%s' is not quantized per tensor" % (role, t.name))

    def finish(elem="int8"):
        state["tensor"] = y.index
        state["shape"] = list(out_shape)
        state["elem"] = "head" if state["elem"] == "head" else elem

    code = op.code
    if code == OPS["QUANTIZE"] and state["elem"] != "head":
        if x.type == FLOAT32 and y.type == INT8 and state["elem"] == "float":
            need_int8(y, "output")
            lay = Layer("mtl::Quantize", op.index, kind="quantize",
                        params={"output": _quant(y)})
            c.layers.append(lay)
            return finish()
        refuse("QUANTIZE from %s to %s: only float32 -> int8 at the input is supported "
               "(requantizing int8 -> int8 is not)" % (x.type_name, y.type_name))
    if code == OPS["DEQUANTIZE"] and state["elem"] != "head":
        need_int8(x, "input")
        if y.type != FLOAT32:
            refuse("DEQUANTIZE to %s: only int8 -> float32" % y.type_name)
        c.layers.append(Layer("mtl::Dequantize", op.index))
        return finish("float")

    if state["elem"] == "head":
        return _head_op(c, graph, op, state, x, y, out_shape, refuse, finish)

    # Every other op computes on int8.
    need_int8(x, "input")
    need_int8(y, "output")
    if list(x.shape[1:]) != state["shape"] or x.shape[0] != 1:
        refuse("input shape %s differs from the previous output [1, %s]"
               % (x.shape, ", ".join(map(str, state["shape"]))))
    xq, yq = _quant(x), _quant(y)

    def activation(layer):
        act = op.options.get("activation", 0)
        if act == 0:
            return
        if act not in (1, 3):
            refuse("fused activation %s: microtl fuses only RELU and RELU6"
                   % tflite.ACT_NAMES.get(act, str(act)))
        if not layer.fuses:
            refuse("fused activation %s on a layer that cannot fuse it"
                   % tflite.ACT_NAMES[act])
        c.layers.append(Layer("mtl::ReLU" if act == 1 else "mtl::ReLU6", op.index, bound=False))

    def same_quant(what):
        if xq != yq:
            refuse("%s with output quantization (scale %r, zero point %d) different from its "
                   "input's (scale %r, zero point %d): microtl keeps the input's"
                   % (what, yq[0], yq[1], xq[0], xq[1]))

    def check_shape(expected):
        if list(expected) != list(out_shape):
            refuse("output shape %s, but microtl's layer would give %s"
                   % (out_shape, list(expected)))

    if code in (OPS["CONV_2D"], OPS["DEPTHWISE_CONV_2D"], OPS["FULLY_CONNECTED"]):
        return _linear(c, graph, op, state, x, y, xq, yq, out_shape, refuse, activation,
                       check_shape, finish)

    if code in (OPS["MAX_POOL_2D"], OPS["AVERAGE_POOL_2D"]):
        if len(x.shape) != 4:
            refuse("input of rank %d: a 2-D pool needs [1, H, W, C]" % len(x.shape))
        same_quant(name)
        o = op.options
        H, W, C = x.shape[1:]
        fh, fw, sh, sw, pad = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"], o["padding"]
        if min(fh, fw, sh, sw) < 1:
            refuse("filter %dx%d / stride %dx%d: must be at least 1" % (fh, fw, sh, sw))
        kind = "Max" if code == OPS["MAX_POOL_2D"] else "Avg"
        if fh == fw and sh == sw:
            check_shape([_out_size(H, fh, sh, pad), _out_size(W, fw, sw, pad), C])
            lay = Layer("mtl::%sPool2D<%d, %d, %s>" % (kind, fh, sh, _padding(pad)), op.index,
                        fuses=True)
            c.layers.append(lay)
            activation(lay)
            return finish()
        if H == 1 and fh == 1:
            # A pool over a one-row image (Keras' MaxPooling1D / AveragePooling1D): the
            # row's stride and padding change nothing (one output row, no padding rows).
            ow = _out_size(W, fw, sw, pad)
            check_shape([1, ow, C])
            _add_reshape(c, op.index, [1, W, C], [W, C])
            lay = Layer("mtl::%sPool1D<%d, %d, %s>" % (kind, fw, sw, _padding(pad)), op.index,
                        fuses=True)
            c.layers.append(lay)
            activation(lay)
            _add_reshape(c, op.index, [ow, C], [1, ow, C])
            return finish()
        refuse("window %dx%d with strides %dx%d: microtl pools square windows with one stride "
               "(or a 1 x K window over a one-row image)" % (fh, fw, sh, sw))

    if code in (OPS["RESHAPE"], OPS["SQUEEZE"], OPS["EXPAND_DIMS"]):
        same_quant(name)
        if len(out_shape) < 1:
            refuse("output shape %s: expected [1, ...]" % y.shape)
        _add_reshape(c, op.index, state["shape"], out_shape)
        return finish()

    if code == OPS["SOFTMAX"]:
        if len(x.shape) - 1 != 1:
            c.layers.append(Layer("mtl::Flatten", op.index))
            if any(d != 1 for d in x.shape[1:-1]):
                refuse("softmax over the last axis of shape %s: microtl's Softmax takes one "
                       "vector" % x.shape)
        if (yq[0], yq[1]) != SOFTMAX_OUTPUT:
            refuse("output quantization (scale %r, zero point %d): int8 softmax needs scale "
                   "1/256, zero point -128" % yq)
        c.layers.append(Layer("mtl::Softmax", op.index, kind="softmax",
                              params={"beta": op.options["beta"], "input_scale": xq[0]}))
        if len(x.shape) - 1 != 1:
            _add_reshape(c, op.index, [out_shape[-1]], out_shape)
        return finish()

    if code in (OPS["LOGISTIC"], OPS["TANH"]):
        want = SIGMOID_OUTPUT if code == OPS["LOGISTIC"] else TANH_OUTPUT
        if yq != want:
            refuse("output quantization (scale %r, zero point %d): microtl's int8 %s has "
                   "TFLite's fixed (%r, %d)" % (yq + (name,) + want))
        c.layers.append(Layer("mtl::Sigmoid" if code == OPS["LOGISTIC"] else "mtl::Tanh",
                              op.index))
        return finish()

    if code in (OPS["RELU"], OPS["RELU6"]):
        same_quant(name)
        prev = c.layers[-1] if c.layers else None
        if prev is None or not prev.fuses or prev.op is None:
            refuse("standalone %s after a layer that cannot fuse it" % name)
        c.layers.append(Layer("mtl::ReLU" if code == OPS["RELU"] else "mtl::ReLU6", op.index,
                              bound=False))
        prev.fuses = False
        return finish()

    if code == OPS["MEAN"]:
        # TFLite's int8 MEAN over H and W (Keras' GlobalAveragePooling2D / 1D): mtl::Mean,
        # bit-exact with TFLite 2.x's reference QuantizedMeanOrSum (layers/mean.hpp).
        if len(op.inputs) < 2 or T[op.inputs[1]].data is None:
            refuse("the axes are not a constant tensor")
        rank = len(x.shape)
        axes = sorted(set(a % rank for a in tflite.values(T[op.inputs[1]], "i")))
        if rank == 4 and axes == [1, 2]:
            H, W, C = x.shape[1:]
        elif rank == 3 and axes == [1]:
            H, W, C = 1, x.shape[1], x.shape[2]
            _add_reshape(c, op.index, state["shape"], [1, W, C])
        else:
            refuse("mean over axes %s of a rank-%d input: microtl's Mean averages the height "
                   "and width of [1, H, W, C] (axes 1, 2) or the length of [1, L, C] (axis 1)"
                   % (axes, rank))
        mult = mean_multiplier(xq[0], yq[0], H * W)
        c.layers.append(Layer("mtl::Mean", op.index, kind="mean",
                              params={"input_scale": xq[0], "output": yq, "count": H * W,
                                      "multiplier": mult}))
        if out_shape != [C]:
            expected = [1] * (rank - 2) + [C]
            if out_shape != expected:
                refuse("output shape %s, expected [1, %s]" % (y.shape, C))
            _add_reshape(c, op.index, [C], out_shape)
        return finish()
    refuse("operator not supported by microtl (supported: CONV_2D, DEPTHWISE_CONV_2D, "
           "FULLY_CONNECTED, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN, RESHAPE, SQUEEZE, EXPAND_DIMS, "
           "SOFTMAX, LOGISTIC, TANH, RELU, RELU6, QUANTIZE, DEQUANTIZE)")


def _linear(c, graph, op, state, x, y, xq, yq, out_shape, refuse, activation, check_shape,
            finish):
    T = graph.tensors
    code = op.code
    o = op.options
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        refuse("no weights tensor")
    w = T[op.inputs[1]]
    if w.data is None:
        refuse("weights tensor '%s' is not constant" % w.name)
    if w.type != INT8:
        refuse("weights tensor '%s' is %s where int8 is needed" % (w.name, w.type_name))
    if w.quant is None:
        refuse("weights tensor '%s' has no quantization" % w.name)
    channels = w.shape[3] if code == OPS["DEPTHWISE_CONV_2D"] else w.shape[0]
    dim = 3 if code == OPS["DEPTHWISE_CONV_2D"] else 0
    nscale = len(w.quant.scale)
    if nscale not in (1, channels):
        refuse("weights tensor '%s' has %d scales for %d channels" % (w.name, nscale, channels))
    if nscale > 1 and w.quant.dim != dim:
        refuse("weights quantized along dimension %d: microtl's per-channel weights are along "
               "dimension %d (the output channel)" % (w.quant.dim, dim))
    if any(z != 0 for z in w.quant.zero_point):
        refuse("weights tensor '%s' has a nonzero zero point (%s): microtl's int8 weights are "
               "symmetric" % (w.name, [z for z in w.quant.zero_point if z != 0][0]))
    scales = w.quant.scale if nscale > 1 else w.quant.scale * channels
    weights = tflite.values(w, "b")
    count = 1
    for d in w.shape:
        count *= d
    if len(weights) != count:
        refuse("weights tensor '%s' holds %d values for shape %s" % (w.name, len(weights),
                                                                      w.shape))
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = T[op.inputs[2]]
        if b.data is None:
            refuse("bias tensor '%s' is not constant" % b.name)
        if b.type != INT32:
            refuse("bias tensor '%s' is %s where int32 is needed" % (b.name, b.type_name))
        if b.quant is not None and any(z != 0 for z in b.quant.zero_point):
            refuse("bias tensor '%s' has a nonzero zero point" % b.name)
        bias = tflite.values(b, "i")
        if len(bias) != channels:
            refuse("bias tensor '%s' holds %d values for %d channels" % (b.name, len(bias),
                                                                         channels))
    else:
        bias = [0] * channels
    mult = [channel_multiplier(xq[0], s, yq[0]) for s in scales]
    for s, (m, sh) in zip(scales, mult):
        if sh > 30:
            refuse("a requantization factor %r is too large (shift %d)" % (s, sh))
    params = {"weights": weights, "bias": bias, "multipliers": mult, "weight_scales": scales,
              "input": xq, "output": yq, "channels": channels}

    if code == OPS["FULLY_CONNECTED"]:
        if o["weights_format"] != 0:
            refuse("shuffled weights format: only DEFAULT")
        if len(w.shape) != 2:
            refuse("weights of rank %d: expected [out, in]" % len(w.shape))
        units, inputs = w.shape
        xs = x.shape[1:]
        total = 1
        for d in xs:
            total *= d
        if total != inputs:
            refuse("input %s holds %d values per sample, the weights expect %d (a batch other "
                   "than 1?)" % (x.shape, total, inputs))
        if o["keep_num_dims"] and len(x.shape) > 2:
            refuse("keep_num_dims on an input of rank %d" % len(x.shape))
        if list(out_shape) != [units]:
            refuse("output shape %s, expected [1, %d]" % (y.shape, units))
        if len(xs) > 1:
            # TFLite flattens the input row-major (NHWC), as microtl's Flatten does.
            c.layers.append(Layer("mtl::Flatten", op.index))
        spec = "mtl::Dense<%d>" % units
        if c.fc_rounding_once:
            spec = "mtl::Dense<%d, mtl::quant::Rounding::once>" % units
        lay = Layer(spec, op.index, kind="linear", fuses=True,
                    params=params)
        c.layers.append(lay)
        activation(lay)
        return finish()

    if len(x.shape) != 4:
        refuse("input of rank %d: expected [1, H, W, C]" % len(x.shape))
    if o["dilation_w"] != 1 or o["dilation_h"] != 1:
        refuse("dilation %dx%d: microtl convolves with dilation 1 only"
               % (o["dilation_h"], o["dilation_w"]))
    H, W, C = x.shape[1:]
    sh, sw, pad = o["stride_h"], o["stride_w"], o["padding"]
    if code == OPS["CONV_2D"]:
        F, KH, KW, CI = w.shape
        if CI != C:
            refuse("filter has %d input channels, the input %d (grouped convolution)" % (CI, C))
    else:
        one, KH, KW, F = w.shape
        if one != 1:
            refuse("depthwise filter shape %s: expected [1, KH, KW, C*M]" % w.shape)
        if F % C:
            refuse("%d output channels for %d input channels" % (F, C))
    if min(sh, sw) < 1:
        refuse("stride %dx%d" % (sh, sw))
    if sh == sw:
        stride = sh
    elif H == 1 and KH == 1:
        stride = sw   # one row, 1 x K kernel: the row's stride changes nothing
    else:
        refuse("strides %dx%d: microtl uses one stride for both axes" % (sh, sw))
    check_shape([_out_size(H, KH, stride, pad), _out_size(W, KW, stride, pad), F])
    if code == OPS["CONV_2D"]:
        spec = "mtl::Conv2D<%d, mtl::Kernel<%d, %d>, %s, %d>" % (F, KH, KW, _padding(pad), stride)
    else:
        m = F // C
        if o["depth_multiplier"] not in (0, m):
            refuse("depth_multiplier %d but %d output channels for %d inputs"
                   % (o["depth_multiplier"], F, C))
        spec = "mtl::DepthwiseConv2D<mtl::Kernel<%d, %d>, %s, %d, %d>" % (KH, KW, _padding(pad),
                                                                         stride, m)
    lay = Layer(spec, op.index, kind="linear", fuses=True, params=params)
    c.layers.append(lay)
    activation(lay)
    return finish()


def _head_op(c, graph, op, state, x, y, out_shape, refuse, finish):
    """One operator of the float head (--cut): the int8 layer it would be, in float, with
    trainable linear layers. The int8-only checks (quantization equality, fixed output
    quantization) do not apply; the structural ones (dilation, strides, shapes) do."""
    code = op.code
    last = op.index == max(o.index for o in graph.operators)
    if code == OPS["SOFTMAX"] and last:
        c.notes[op.index] = "(left out of the float head: SoftmaxCrossEntropy applies it)"
        return finish()
    if code == OPS["DEQUANTIZE"] and last:
        c.notes[op.index] = "(no layer: the float head's output is float already)"
        return finish()
    if code in (OPS["QUANTIZE"], OPS["DEQUANTIZE"], OPS["SOFTMAX"]):
        refuse("%s inside the float head (only a SOFTMAX or DEQUANTIZE at the very end is "
               "allowed, and left out)" % op.name)
    before = len(c.layers)
    # Convert as int8 (every check), then turn the new layers into float ones.
    saved = state["elem"]
    state["elem"] = "int8"
    _convert_op(c, graph, op, state)
    state["elem"] = saved
    for lay in c.layers[before:]:
        if lay.kind == "linear":
            p = lay.params
            C = p["channels"]
            depthwise = lay.spec.startswith("mtl::DepthwiseConv2D")
            weights = []
            for i, q in enumerate(p["weights"]):
                ch = i % C if depthwise else i // (len(p["weights"]) // C)
                weights.append(f32(p["weight_scales"][ch] * q))
            bias = [f32(f32(p["input"][0] * p["weight_scales"][ch]) * b)
                    for ch, b in enumerate(p["bias"])]
            spec = lay.spec.replace(", mtl::quant::Rounding::once", "")
            lay.spec = "mtl::Trainable<%s>" % spec
            lay.kind = "float_linear"
            lay.params = {"weights": weights, "bias": bias, "channels": C,
                          "source": (p["weight_scales"], p["input"][0])}
        elif lay.kind == "mean":
            lay.kind = "plain"
            lay.params = None
        elif lay.kind != "plain":
            refuse("no float form for %s in the head" % lay.spec)
