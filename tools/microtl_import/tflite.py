"""The parts of TFLite's schema (tensorflow/compiler/mlir/lite/schema/schema.fbs) the importer
reads, decoded into plain objects. Field ids are the schema's (a table's fields are numbered
in declaration order).

  Model                   1 operator_codes, 2 subgraphs, 4 buffers
  OperatorCode            0 deprecated_builtin_code (i8), 1 custom_code, 3 builtin_code (i32)
                          (the op is max(deprecated, builtin): 127 means "see builtin_code")
  SubGraph                0 tensors, 1 inputs, 2 outputs, 3 operators
  Tensor                  0 shape, 1 type (u8), 2 buffer (u32), 3 name, 4 quantization
  QuantizationParameters  2 scale [f32], 3 zero_point [i64], 6 quantized_dimension (i32)
  Operator                0 opcode_index (u32), 1 inputs, 2 outputs, 4 builtin_options
  Buffer                  0 data [u8], 1 offset (u64), 2 size (u64)
  Options tables: see OPTIONS below.
"""
import struct

from . import flatbuf

# TensorType
FLOAT32, INT32, INT8, INT64 = 0, 2, 9, 4
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string",
              6: "bool", 7: "int16", 8: "complex64", 9: "int8", 10: "float64",
              11: "complex128", 12: "uint64", 13: "resource", 14: "variant", 15: "uint32",
              16: "uint16", 17: "int4", 18: "bfloat16"}

# BuiltinOperator (the ones named in messages; others print as BUILTIN_<code>)
OP_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 8: "FLOOR", 9: "FULLY_CONNECTED",
    11: "L2_NORMALIZATION", 12: "L2_POOL_2D", 14: "LOGISTIC", 16: "LSTM", 17: "MAX_POOL_2D",
    18: "MUL", 19: "RELU", 20: "RELU_N1_TO_1", 21: "RELU6", 22: "RESHAPE",
    23: "RESIZE_BILINEAR", 25: "SOFTMAX", 26: "SPACE_TO_DEPTH", 28: "TANH", 32: "CUSTOM",
    34: "PAD", 36: "GATHER", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 42: "DIV", 43: "SQUEEZE",
    45: "STRIDED_SLICE", 47: "EXP", 49: "SPLIT", 50: "LOG_SOFTMAX", 53: "CAST", 54: "PRELU",
    55: "MAXIMUM", 56: "ARG_MAX", 57: "MINIMUM", 60: "PADV2", 65: "SLICE",
    67: "TRANSPOSE_CONV", 70: "EXPAND_DIMS", 74: "SUM", 77: "SHAPE", 82: "REDUCE_MAX", 83: "PACK",
    88: "UNPACK", 97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU", 102: "SPLIT_V",
    114: "QUANTIZE", 117: "HARD_SWISH", 126: "BATCH_MATMUL"}
OPS = {v: k for k, v in OP_NAMES.items()}

# Padding, ActivationFunctionType
SAME, VALID = 0, 1
ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}

# Options tables: field name -> (id, struct format, default)
OPTIONS = {
    "CONV_2D": {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
                "activation": (3, "b", 0), "dilation_w": (4, "i", 1), "dilation_h": (5, "i", 1)},
    "DEPTHWISE_CONV_2D": {"padding": (0, "b", 0), "stride_w": (1, "i", 0),
                          "stride_h": (2, "i", 0), "depth_multiplier": (3, "i", 0),
                          "activation": (4, "b", 0), "dilation_w": (5, "i", 1),
                          "dilation_h": (6, "i", 1)},
    "MAX_POOL_2D": {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
                    "filter_w": (3, "i", 0), "filter_h": (4, "i", 0),
                    "activation": (5, "b", 0)},
    "FULLY_CONNECTED": {"activation": (0, "b", 0), "weights_format": (1, "b", 0),
                        "keep_num_dims": (2, "B", 0)},
    "SOFTMAX": {"beta": (0, "f", 0.0)},
    "MEAN": {"keep_dims": (0, "B", 0)},
}
OPTIONS["AVERAGE_POOL_2D"] = OPTIONS["MAX_POOL_2D"]


def op_name(code):
    return OP_NAMES.get(code, "BUILTIN_%d" % code)


class Quant:
    def __init__(self, scale, zero_point, dim):
        self.scale = list(scale)        # float32 values (as Python floats, exact)
        self.zero_point = list(zero_point)
        self.dim = dim


class Tensor:
    def __init__(self, index, name, shape, type_, data, quant):
        self.index = index
        self.name = name
        self.shape = list(shape)
        self.type = type_
        self.data = data                # bytes of a constant tensor, or None
        self.quant = quant              # Quant or None

    @property
    def type_name(self):
        return TYPE_NAMES.get(self.type, "type %d" % self.type)


class Operator:
    def __init__(self, index, code, custom, inputs, outputs, options):
        self.index = index
        self.code = code
        self.custom = custom
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.options = options          # dict (the op's OPTIONS fields), {} when none known

    @property
    def name(self):
        if self.code == OPS["CUSTOM"]:
            return "CUSTOM(%s)" % self.custom
        return op_name(self.code)


class Graph:
    def __init__(self, subgraph_count, tensors, inputs, outputs, operators):
        self.subgraph_count = subgraph_count
        self.tensors = tensors
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.operators = operators


def read(blob):
    """Decodes a .tflite file (bytes) into a Graph of its first subgraph."""
    model = flatbuf.root(blob)
    if len(blob) >= 8 and blob[4:8] != b"TFL3":
        raise flatbuf.FlatBufferError("not a TFLite model (file identifier %r, not 'TFL3')"
                                      % bytes(blob[4:8]))
    codes = []
    for oc in model.tables(1):
        dep = oc.scalar(0, "b", 0)
        code = max(dep, oc.scalar(3, "i", 0))
        codes.append((code, oc.string(1)))
    buffers = []
    for b in model.tables(4):
        data = b.bytes_vector(0)
        offset = b.scalar(1, "Q", 0)
        size = b.scalar(2, "Q", 0)
        if offset > 1:   # data stored after the FlatBuffer (models over 2 GB)
            if offset + size > len(blob):
                raise flatbuf.FlatBufferError("buffer data outside the file")
            data = bytes(blob[offset:offset + size])
        buffers.append(data if data else None)
    subgraphs = model.tables(2)
    if not subgraphs:
        raise flatbuf.FlatBufferError("the model has no subgraph")
    sg = subgraphs[0]
    tensors = []
    for i, t in enumerate(sg.tables(0)):
        q = t.table(4)
        quant = None
        if q is not None:
            scale = q.vector(2, "f") or ()
            zp = q.vector(3, "q") or ()
            if scale:
                quant = Quant(scale, zp or (0,) * len(scale), q.scalar(6, "i", 0))
        bi = t.scalar(2, "I", 0)
        data = buffers[bi] if bi < len(buffers) else None
        tensors.append(Tensor(i, t.string(3), t.vector(0, "i") or (), t.scalar(1, "b", 0), data,
                              quant))
    operators = []
    for i, o in enumerate(sg.tables(3)):
        idx = o.scalar(0, "I", 0)
        if idx >= len(codes):
            raise flatbuf.FlatBufferError("operator %d: opcode index %d out of range" % (i, idx))
        code, custom = codes[idx]
        fields = OPTIONS.get(op_name(code), {})
        opts = {}
        tab = o.table(4)
        for key, (fid, fmt, default) in fields.items():
            opts[key] = tab.scalar(fid, fmt, default) if tab is not None else default
        operators.append(Operator(i, code, custom, o.vector(1, "i") or (), o.vector(2, "i") or (),
                                  opts))
    return Graph(len(subgraphs), tensors, sg.vector(1, "i") or (), sg.vector(2, "i") or (),
                 operators)


def values(tensor, fmt):
    """The elements of a constant tensor (fmt: 'b' int8, 'i' int32, 'f' float32, 'q' int64)."""
    size = struct.calcsize("<" + fmt)
    n = len(tensor.data) // size
    return list(struct.unpack_from("<%d%s" % (n, fmt), tensor.data, 0))
