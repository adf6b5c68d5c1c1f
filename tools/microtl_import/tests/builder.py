"""A tiny FlatBuffers *builder* for the tests: it writes .tflite models with chosen tensors,
operators and options, so that the importer can be tested without TensorFlow.

Layout (front to back, which FlatBuffers allows: a uoffset only has to point forward): the
root offset and the file identifier "TFL3", then each table preceded by its vtable, its
referenced children (tables, vectors, strings) written after it and patched in.

A table is T(fields) with fields {field_id: value}; a value is
  ("b"|"B"|"h"|"i"|"I"|"f"|"q"|"Q", number)   a scalar
  T(...)                                      a table
  ("vec", fmt, [numbers])                     a vector of scalars
  ("tables", [T, ...])                        a vector of tables
  ("str", text) / ("bytes", b"...")           a string / a [ubyte] vector
"""
import struct


class T:
    def __init__(self, fields):
        self.fields = dict(fields)


class _Writer:
    def __init__(self):
        self.buf = bytearray()

    def align(self, n):
        while len(self.buf) % n:
            self.buf.append(0)

    def table(self, t):
        ids = sorted(t.fields)
        nfields = (ids[-1] + 1) if ids else 0
        # Inline layout: soffset, then each field (4 bytes for references, scalar size else).
        layout = []
        size = 4
        for fid in ids:
            v = t.fields[fid]
            if isinstance(v, tuple) and len(v) == 2 and len(v[0]) == 1:
                n = struct.calcsize("<" + v[0])
            else:
                n = 4
            layout.append((fid, size, n))
            size += n
        vt_len = 4 + 2 * nfields
        self.align(4)
        if (len(self.buf) + vt_len) % 4:
            self.buf += b"\0\0"
        vt_pos = len(self.buf)
        offsets = [0] * nfields
        for fid, off, _ in layout:
            offsets[fid] = off
        self.buf += struct.pack("<HH", vt_len, size) + struct.pack("<%dH" % nfields, *offsets)
        pos = len(self.buf)
        self.buf += struct.pack("<i", pos - vt_pos) + bytes(size - 4)
        refs = []
        for fid, off, n in layout:
            v = t.fields[fid]
            if isinstance(v, tuple) and len(v) == 2 and len(v[0]) == 1:
                struct.pack_into("<" + v[0], self.buf, pos + off, v[1])
            else:
                refs.append((pos + off, v))
        for at, v in refs:
            target = self.value(v)
            struct.pack_into("<I", self.buf, at, target - at)
        return pos

    def value(self, v):
        self.align(4)
        if isinstance(v, T):
            return self.table(v)
        kind = v[0]
        if kind == "vec":
            fmt, items = v[1], v[2]
            if struct.calcsize("<" + fmt) == 8 and (len(self.buf) + 4) % 8:
                self.buf += bytes(4)
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(items)) + struct.pack("<%d%s" % (len(items), fmt),
                                                                    *items)
            return pos
        if kind in ("str", "bytes"):
            data = v[1].encode() if kind == "str" else bytes(v[1])
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(data)) + data + (b"\0" if kind == "str" else b"")
            return pos
        if kind == "tables":
            items = v[1]
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(items)) + bytes(4 * len(items))
            for i, t in enumerate(items):
                at = pos + 4 + 4 * i
                target = self.value(t)
                struct.pack_into("<I", self.buf, at, target - at)
            return pos
        raise ValueError("unknown value %r" % (v,))


def finish(root, identifier=b"TFL3"):
    w = _Writer()
    w.buf += bytes(8)
    w.buf[4:8] = identifier
    pos = w.value(root)
    struct.pack_into("<I", w.buf, 0, pos)
    return bytes(w.buf)


# ---- TFLite models ----------------------------------------------------------------------

INT8, INT32, FLOAT32 = 9, 2, 0
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D = 3, 4, 9, 17
AVERAGE_POOL_2D, RESHAPE, SOFTMAX, MEAN, ADD, TANH, LOGISTIC = 1, 22, 25, 40, 0, 28, 14
RELU, QUANTIZE, DEQUANTIZE = 19, 114, 6


# BuiltinOptions union: the options table type of each op (TFLite reads options only with it).
OPTIONS_TYPE = {CONV_2D: 1, DEPTHWISE_CONV_2D: 2, MAX_POOL_2D: 5, AVERAGE_POOL_2D: 5,
                FULLY_CONNECTED: 8, SOFTMAX: 9, RESHAPE: 17, MEAN: 27}


class Model:
    """Collects tensors and operators of one subgraph, then serializes."""

    def __init__(self):
        self.tensors = []
        self.buffers = [None]   # buffer 0: the empty sentinel, as converters write it
        self.ops = []
        self.codes = []
        self.inputs = []
        self.outputs = []
        self.extra_subgraphs = 0

    def tensor(self, shape, type_=INT8, scale=None, zero_point=None, data=None, name=None,
               qdim=0):
        fields = {0: ("vec", "i", list(shape)), 1: ("b", type_),
                  3: ("str", name or "t%d" % len(self.tensors))}
        if data is not None:
            fmt = {INT8: "b", INT32: "i", FLOAT32: "f"}[type_]
            self.buffers.append(struct.pack("<%d%s" % (len(data), fmt), *data))
            fields[2] = ("I", len(self.buffers) - 1)
        if scale is not None:
            scales = scale if isinstance(scale, list) else [scale]
            zps = zero_point if isinstance(zero_point, list) else [zero_point or 0] * len(scales)
            fields[4] = T({2: ("vec", "f", scales), 3: ("vec", "q", zps), 6: ("i", qdim)})
        self.tensors.append(T(fields))
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, options=None):
        if code not in self.codes:
            self.codes.append(code)
        fields = {0: ("I", self.codes.index(code)), 1: ("vec", "i", list(inputs)),
                  2: ("vec", "i", list(outputs))}
        if options:
            fields[3] = ("B", OPTIONS_TYPE.get(code, 0))
            fields[4] = T(options)
        self.ops.append(T(fields))

    def build(self):
        codes = []
        for c in self.codes:
            codes.append(T({0: ("b", min(c, 127)), 3: ("i", c), 2: ("i", 1)}))
        buffers = [T({0: ("bytes", b)}) if b else T({}) for b in self.buffers]
        sg = T({0: ("tables", self.tensors), 1: ("vec", "i", self.inputs),
                2: ("vec", "i", self.outputs), 3: ("tables", self.ops)})
        subgraphs = [sg] + [T({0: ("tables", []), 3: ("tables", [])})
                            for _ in range(self.extra_subgraphs)]
        root = T({0: ("I", 3), 1: ("tables", codes), 2: ("tables", subgraphs),
                  4: ("tables", buffers)})
        return finish(root)


def conv_options(padding=0, stride=1, activation=0, dilation=1):
    return {0: ("b", padding), 1: ("i", stride), 2: ("i", stride), 3: ("b", activation),
            4: ("i", dilation), 5: ("i", dilation)}


def small_conv_model(activation=0, dilation=1, weight_zero_point=0, subgraphs=1,
                     weight_type=INT8, extra=None):
    """[1, 4, 4, 1] int8 -> Conv2D 2 filters 3x3 same -> [1, 4, 4, 2] -> MaxPool 2 ->
    Reshape [1, 8] -> FC 3 -> Softmax."""
    m = Model()
    x = m.tensor([1, 4, 4, 1], scale=0.02, zero_point=-5, name="input")
    wdata = [((i * 7) % 11) - 5 for i in range(18)]
    if weight_type == FLOAT32:
        w = m.tensor([2, 3, 3, 1], FLOAT32, data=[float(v) for v in wdata], name="w0")
    else:
        w = m.tensor([2, 3, 3, 1], scale=[0.01, 0.015], zero_point=[0, weight_zero_point],
                     data=wdata, name="w0")
    b = m.tensor([2], INT32, scale=[0.0002, 0.0003], data=[100, -40], name="b0")
    y = m.tensor([1, 4, 4, 2], scale=0.05, zero_point=3, name="conv")
    m.op(CONV_2D, [x, w, b], [y], conv_options(activation=activation, dilation=dilation))
    p = m.tensor([1, 2, 2, 2], scale=0.05, zero_point=3, name="pool")
    m.op(MAX_POOL_2D, [y], [p], {0: ("b", 1), 1: ("i", 2), 2: ("i", 2), 3: ("i", 2),
                                 4: ("i", 2)})
    s = m.tensor([2], INT32, data=[1, 8], name="shape")
    r = m.tensor([1, 8], scale=0.05, zero_point=3, name="flat")
    m.op(RESHAPE, [p, s], [r])
    fw = m.tensor([3, 8], scale=[0.04, 0.05, 0.06], data=[(i % 9) - 4 for i in range(24)],
                  name="fw")
    fb = m.tensor([3], INT32, data=[5, -7, 9], name="fb")
    f = m.tensor([1, 3], scale=0.02, zero_point=-2, name="logits")
    m.op(FULLY_CONNECTED, [r, fw, fb], [f], {0: ("b", 0)})
    out = m.tensor([1, 3], scale=1.0 / 256.0, zero_point=-128, name="probs")
    m.op(SOFTMAX, [f], [out], {0: ("f", 1.0)})
    m.inputs = [x]
    m.outputs = [out]
    m.extra_subgraphs = subgraphs - 1
    if extra:
        extra(m)
    return m
