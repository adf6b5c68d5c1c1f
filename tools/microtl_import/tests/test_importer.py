"""Unit tests of the importer (standard library only): the FlatBuffers reader against
buffers built by tests/builder.py, the multiplier against hand-worked values, the header,
and the refusals.

  cd tools && python3 -m unittest discover -s microtl_import/tests -t .
"""
import contextlib
import hashlib
import io
import os
import struct
import tempfile
import unittest

from microtl_import import __main__ as cli
from microtl_import import convert, flatbuf, tflite
from microtl_import.multiplier import channel_multiplier, f32, mean_multiplier, quantize_multiplier
from microtl_import.tests import builder as B


def run_cli(blob, *extra):
    """Runs scripts/import on `blob`: (exit status, stderr, header text or None)."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "model.tflite")
        dst = os.path.join(d, "model.hpp")
        with open(src, "wb") as f:
            f.write(blob)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = cli.main([src, "-o", dst] + list(extra))
        text = None
        if os.path.exists(dst):
            with open(dst) as f:
                text = f.read()
        return status, err.getvalue(), text


class FlatBufferReader(unittest.TestCase):
    def test_scalars_vectors_strings_tables(self):
        root = B.T({0: ("i", -7), 1: ("vec", "f", [0.5, -2.0]), 2: ("str", "hello"),
                    3: B.T({1: ("q", -(2 ** 40))}), 5: ("tables", [B.T({0: ("B", 200)}),
                                                               B.T({})]),
                    6: ("bytes", b"\x01\xff")})
        buf = B.finish(root)
        t = flatbuf.root(buf)
        self.assertEqual(t.scalar(0, "i"), -7)
        self.assertEqual(t.vector(1, "f"), (0.5, -2.0))
        self.assertEqual(t.string(2), "hello")
        self.assertEqual(t.table(3).scalar(1, "q"), -(2 ** 40))
        self.assertEqual(t.table(3).scalar(0, "i", 42), 42)   # absent: the default
        self.assertIsNone(t.table(4))
        self.assertEqual(t.scalar(9, "i", 5), 5)                # beyond the vtable: default
        tabs = t.tables(5)
        self.assertEqual(len(tabs), 2)
        self.assertEqual(tabs[0].scalar(0, "B"), 200)
        self.assertFalse(tabs[1].has(0))
        self.assertEqual(t.bytes_vector(6), b"\x01\xff")

    def test_truncated_buffer_is_an_error(self):
        buf = B.finish(B.T({0: ("vec", "i", list(range(100)))}))
        with self.assertRaises(flatbuf.FlatBufferError):
            flatbuf.root(buf[:60]).vector(0, "i")
        with self.assertRaises(flatbuf.FlatBufferError):
            flatbuf.root(b"\x01\x02")

    def test_tflite_model_fields(self):
        g = tflite.read(B.small_conv_model().build())
        self.assertEqual(g.subgraph_count, 1)
        self.assertEqual([op.name for op in g.operators],
                         ["CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"])
        x = g.tensors[g.inputs[0]]
        self.assertEqual((x.name, x.shape, x.type), ("input", [1, 4, 4, 1], tflite.INT8))
        self.assertEqual((x.quant.scale[0], x.quant.zero_point[0]), (f32(0.02), -5))
        conv = g.operators[0]
        self.assertEqual(conv.options, {"padding": 0, "stride_w": 1, "stride_h": 1,
                                        "activation": 0, "dilation_w": 1, "dilation_h": 1})
        w = g.tensors[conv.inputs[1]]
        self.assertEqual(w.quant.scale, [f32(0.01), f32(0.015)])
        self.assertEqual(tflite.values(w, "b")[:3], [-5, 2, -2])
        self.assertEqual(g.operators[1].options["filter_w"], 2)
        self.assertEqual(g.operators[4].options["beta"], 1.0)

    def test_extended_builtin_code(self):
        # Codes above 127 are in builtin_code; deprecated_builtin_code holds 127.
        m = B.small_conv_model()
        m.op(150, [m.outputs[0]], [m.tensor([1, 3], scale=0.1)])
        g = tflite.read(m.build())
        self.assertEqual(g.operators[-1].code, 150)
        self.assertEqual(g.operators[-1].name, "BUILTIN_150")

    def test_wrong_identifier(self):
        blob = bytearray(B.small_conv_model().build())
        blob[4:8] = b"XXXX"
        status, err, _ = run_cli(bytes(blob))
        self.assertEqual(status, 1)
        self.assertIn("not a TFLite model", err)


class Multiplier(unittest.TestCase):
    def test_hand_worked(self):
        self.assertEqual(quantize_multiplier(0.0), (0, 0))
        self.assertEqual(quantize_multiplier(0.5), (1 << 30, 0))
        self.assertEqual(quantize_multiplier(1.0), (1 << 30, 1))
        self.assertEqual(quantize_multiplier(0.25), (1 << 30, -1))
        self.assertEqual(quantize_multiplier(0.75), (3 << 29, 0))
        # 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4 -> 1717986918
        self.assertEqual(quantize_multiplier(0.1), (1717986918, -3))
        # A tie: (2^30 + 0.5) / 2^31 rounds away from zero to 2^30 + 1.
        self.assertEqual(quantize_multiplier((2 ** 30 + 0.5) / 2 ** 31), ((1 << 30) + 1, 0))
        # Rounding up to 2^31: the mantissa is halved and the shift grows.
        self.assertEqual(quantize_multiplier(1.0 - 2.0 ** -33), (1 << 30, 1))
        # Below 2^-32: zero.
        self.assertEqual(quantize_multiplier(2.0 ** -40), (0, 0))
        self.assertEqual(quantize_multiplier(2.0 ** -32), (1 << 30, -31))

    def test_channel_multiplier_in_double(self):
        # 0.02f * 0.01f / 0.05f computed in double from the float32 values: 0.004000000...
        si, sw, so = f32(0.02), f32(0.01), f32(0.05)
        real = si * sw / so
        self.assertEqual(channel_multiplier(si, sw, so), quantize_multiplier(real))
        m, s = channel_multiplier(si, sw, so)
        self.assertEqual(s, -7)    # 0.004 = 0.512 * 2^-7
        self.assertAlmostEqual(m / 2.0 ** 31 * 2.0 ** s, 0.004, places=9)


    def test_mean_multiplier(self):
        # s_in / s_out = 1: (2^30, 1); N = 60: k = 5, (2^30 * 32) // 60 = 572662306, shift -4.
        self.assertEqual(mean_multiplier(0.5, 0.5, 60), (572662306, -4))
        # N a power of two: an exact division by N (2^30 * 16 / 16), shift 1 - 4.
        self.assertEqual(mean_multiplier(0.5, 0.5, 16), (1 << 30, -3))
        # k is limited by 31 + e: s_in / s_out = 2^-30 gives e = -29, k <= 2.
        self.assertEqual(mean_multiplier(2.0 ** -30, 1.0, 60), ((1 << 30) * 4 // 60, -31))


class Header(unittest.TestCase):
    def test_generated_header(self):
        blob = B.small_conv_model(activation=1).build()
        status, err, text = run_cli(blob, "--namespace", "tiny")
        self.assertEqual(status, 0, err)
        self.assertIn("// Generated by scripts/import. Do not edit.", text)
        self.assertIn("// Source: model.tflite", text)
        self.assertIn("// SHA-256: " + hashlib.sha256(blob).hexdigest(), text)
        self.assertIn("//   0: CONV_2D -> mtl::Conv2D<2, mtl::Kernel<3, 3>, mtl::Padding::same, "
                      "1>, mtl::ReLU", text)
        self.assertIn("//   3: FULLY_CONNECTED -> mtl::Dense<3, mtl::quant::Rounding::once>",
                      text)
        self.assertIn("mtl::Input<mtl::Shape<4, 4, 1>, mtl::QInt8>", text)
        self.assertIn("inline constexpr mtl::quant::QuantParams input_quant{0.0199999996f, -5};",
                      text)
        self.assertIn("inline constexpr mtl::LinearParams<mtl::QInt8, 18, 2> conv0{", text)
        self.assertIn("return Model(input_quant, conv0, dense0, softmax0);", text)
        m0 = channel_multiplier(f32(0.02), f32(0.01), f32(0.05))
        self.assertIn("{%d, %d}" % m0, text)
        # OHWI weights, unchanged.
        self.assertIn("-5, 2, -2, 5, 1, -3, 4, 0, -4, 3, -1, -5", text)

    def test_reference_micro_rounds_twice(self):
        status, err, text = run_cli(B.small_conv_model().build(), "--namespace", "t",
                                    "--reference", "tflite-micro")
        self.assertEqual(status, 0, err)
        self.assertIn("mtl::Dense<3>,", text)


class Refusals(unittest.TestCase):
    """Each refusal: exit status 2, no header, one message naming the operator, its index
    and what is unsupported."""

    def refused(self, blob, *needles):
        status, err, text = run_cli(blob)
        self.assertEqual(status, 2, err)
        self.assertIsNone(text)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        for n in needles:
            self.assertIn(n, err)
        return err

    def test_unknown_op(self):
        def add(m):
            t = m.tensor([1, 3], scale=1.0 / 256.0, zero_point=-128)
            m.op(B.ADD, [m.outputs[0], m.outputs[0]], [t])
            m.outputs = [t]
        self.refused(B.small_conv_model(extra=add).build(), "operator 5 (ADD)",
                     "operator not supported")

    def test_dilation(self):
        self.refused(B.small_conv_model(dilation=2).build(), "operator 0 (CONV_2D)",
                     "dilation 2x2")

    def test_weight_zero_point(self):
        self.refused(B.small_conv_model(weight_zero_point=3).build(), "operator 0 (CONV_2D)",
                     "nonzero zero point (3)")

    def test_fused_tanh(self):
        self.refused(B.small_conv_model(activation=4).build(), "operator 0 (CONV_2D)",
                     "fused activation TANH")

    def test_two_subgraphs(self):
        self.refused(B.small_conv_model(subgraphs=2).build(), "model:", "2 subgraphs")

    def test_float32_weights(self):
        self.refused(B.small_conv_model(weight_type=B.FLOAT32).build(),
                     "operator 0 (CONV_2D)", "is float32 where int8 is needed")

    def test_float32_activation(self):
        def dequant_then_fc(m):
            t = m.tensor([1, 3], B.FLOAT32)
            m.op(B.DEQUANTIZE, [m.outputs[0]], [t])
            u = m.tensor([1, 3], B.FLOAT32)
            m.op(B.TANH, [t], [u])
            m.outputs = [u]
        self.refused(B.small_conv_model(extra=dequant_then_fc).build(),
                     "operator 6 (TANH)", "is float32 where int8 is needed")

    def test_mean(self):
        def mean(m):
            m.ops.pop()   # drop the softmax: MEAN over [1, 3] instead
            axes = m.tensor([1], B.INT32, data=[1])
            t = m.tensor([1, 1], scale=0.1, zero_point=-2)
            m.op(B.MEAN, [m.outputs[0] - 1, axes], [t], {0: ("B", 1)})
            m.outputs = [t]
        self.refused(B.small_conv_model(extra=mean).build(), "operator 4 (MEAN)",
                     "mean over axes [1] of a rank-2 input")

    def test_non_sequential(self):
        def branch(m):
            t = m.tensor([1, 2, 2, 1], scale=0.02, zero_point=-5)
            m.op(B.MAX_POOL_2D, [m.inputs[0]], [t], {0: ("b", 1), 1: ("i", 2), 2: ("i", 2),
                                                    3: ("i", 2), 4: ("i", 2)})
        self.refused(B.small_conv_model(extra=branch).build(), "operator 5 (MAX_POOL_2D)",
                     "non-sequential graph")

    def test_unequal_strides(self):
        m = B.Model()
        x = m.tensor([1, 4, 4, 1], scale=0.02, zero_point=0)
        w = m.tensor([1, 1, 1, 1], scale=[0.01], data=[3])
        y = m.tensor([1, 2, 4, 1], scale=0.05)
        opts = B.conv_options()
        opts[2] = ("i", 2)   # stride_h 2, stride_w 1
        m.op(B.CONV_2D, [x, w, -1], [y], opts)
        m.inputs, m.outputs = [x], [y]
        self.refused(m.build(), "operator 0 (CONV_2D)", "strides 2x1")

    def test_softmax_output_quantization(self):
        def requant(m):
            pass
        m = B.small_conv_model(extra=requant)
        # The softmax's output tensor is the last one: give it another scale.
        m.tensors[-1].fields[4] = B.T({2: ("vec", "f", [0.01]), 3: ("vec", "q", [0])})
        self.refused(m.build(), "operator 4 (SOFTMAX)", "1/256")

    def test_pool_requantizes(self):
        m = B.small_conv_model()
        m.tensors[m.ops[1].fields[2][2][0]].fields[4] = B.T({2: ("vec", "f", [0.07]),
                                                             3: ("vec", "q", [3])})
        self.refused(m.build(), "operator 1 (MAX_POOL_2D)", "output quantization")


class Conversion(unittest.TestCase):
    def mean_model(self, rank, axes, keep_dims):
        m = B.Model()
        shape = [1, 3, 5, 4] if rank == 4 else [1, 15, 4]
        x = m.tensor(shape, scale=0.02, zero_point=-5)
        a = m.tensor([len(axes)], B.INT32, data=axes)
        out = [1, 1, 1, 4] if keep_dims and rank == 4 else ([1, 1, 4] if keep_dims else [1, 4])
        y = m.tensor(out, scale=0.01, zero_point=7)
        m.op(B.MEAN, [x, a], [y], {0: ("B", 1 if keep_dims else 0)})
        m.inputs, m.outputs = [x], [y]
        return tflite.read(m.build())

    def test_mean(self):
        c = convert.convert(self.mean_model(4, [1, 2], False))
        self.assertEqual([l.spec for l in c.layers], ["mtl::Mean"])
        self.assertEqual(c.layers[0].params["count"], 15)
        self.assertEqual(c.layers[0].params["multiplier"], mean_multiplier(f32(0.02), f32(0.01),
                                                                           15))
        c = convert.convert(self.mean_model(4, [-2, -3], True))
        self.assertEqual([l.spec for l in c.layers],
                         ["mtl::Mean", "mtl::Reshape<mtl::Shape<1, 1, 4>>"])
        c = convert.convert(self.mean_model(3, [1], False))
        self.assertEqual([l.spec for l in c.layers],
                         ["mtl::Reshape<mtl::Shape<1, 15, 4>>", "mtl::Mean"])
        with self.assertRaises(convert.Unsupported) as e:
            convert.convert(self.mean_model(4, [3], False))
        self.assertIn("operator 0 (MEAN): mean over axes [3]", str(e.exception))

    def test_layers_and_fusion(self):
        g = tflite.read(B.small_conv_model(activation=3).build())
        c = convert.convert(g)
        self.assertEqual([l.spec for l in c.layers],
                         ["mtl::Conv2D<2, mtl::Kernel<3, 3>, mtl::Padding::same, 1>",
                          "mtl::ReLU6", "mtl::MaxPool2D<2, 2, mtl::Padding::valid>",
                          "mtl::Reshape<mtl::Shape<8>>",
                          "mtl::Dense<3, mtl::quant::Rounding::once>", "mtl::Softmax"])
        self.assertEqual(c.input_quant, (f32(0.02), -5))
        self.assertEqual(c.output_quant, (1.0 / 256.0, -128))

    def test_cut(self):
        g = tflite.read(B.small_conv_model(activation=1).build())
        for cut in (3, "flat"):   # the FULLY_CONNECTED, or the tensor it reads
            c = convert.convert(g, cut=cut)
            self.assertEqual([l.spec for l in c.layers],
                             ["mtl::Conv2D<2, mtl::Kernel<3, 3>, mtl::Padding::same, 1>",
                              "mtl::ReLU", "mtl::MaxPool2D<2, 2, mtl::Padding::valid>",
                              "mtl::Reshape<mtl::Shape<8>>", "mtl::Dequantize",
                              "mtl::Trainable<mtl::Dense<3>>"])
            head = c.layers[-1].params
            # Row 0, input 0: scale 0.04 * q -4; bias 0: (0.05 * 0.04) * 5.
            self.assertEqual(head["weights"][0], f32(f32(0.04) * -4))
            self.assertEqual(head["bias"][0], f32(f32(f32(0.05) * f32(0.04)) * 5))
            self.assertEqual(c.output_element, "float")
        c = convert.convert(g, cut=0 + 1)    # from the pool on: conv stays int8
        self.assertEqual(c.layers[2].spec, "mtl::Dequantize")
        self.assertEqual(c.layers[-1].spec, "mtl::Trainable<mtl::Dense<3>>")

    def test_cut_refusals(self):
        g = tflite.read(B.small_conv_model().build())
        for cut, what in ((0, "the int8 front would be empty"), (9, "no such operator"),
                          ("nope", "no tensor has that name")):
            with self.assertRaises(convert.Unsupported) as e:
                convert.convert(g, cut=cut)
            self.assertIn(what, str(e.exception))
        status, err, _ = run_cli(B.small_conv_model().build(), "--cut", "0")
        self.assertEqual(status, 2)
        self.assertIn("--cut 0", err)

    def test_float_input_and_output(self):
        # float32 in -> QUANTIZE -> FC -> DEQUANTIZE -> float32 out (TFLite's default
        # full-integer conversion without inference_input_type = int8).
        m = B.Model()
        x = m.tensor([1, 4], B.FLOAT32, name="x")
        q = m.tensor([1, 4], scale=0.03, zero_point=1)
        m.op(B.QUANTIZE, [x], [q])
        w = m.tensor([2, 4], scale=[0.01, 0.02], data=[1, -2, 3, -4, 5, -6, 7, -8])
        f = m.tensor([1, 2], scale=0.05, zero_point=-3)
        m.op(B.FULLY_CONNECTED, [q, w, -1], [f], {0: ("b", 3)})
        y = m.tensor([1, 2], B.FLOAT32)
        m.op(B.DEQUANTIZE, [f], [y])
        m.inputs, m.outputs = [x], [y]
        status, err, text = run_cli(m.build(), "--namespace", "fq")
        self.assertEqual(status, 0, err)
        self.assertIn("mtl::Input<mtl::Shape<4>, float>,\n    mtl::Quantize,\n"
                      "    mtl::Dense<2, mtl::quant::Rounding::once>,\n    mtl::ReLU6,\n"
                      "    mtl::Dequantize>;", text)
        self.assertIn("inline constexpr mtl::quant::QuantParams quantize0{0.0299999993f, 1};",
                      text)
        self.assertIn("return Model(quantize0, dense0);", text)
        self.assertIn("dense0_bias = {{\n    0, 0,", text)   # no bias tensor: zeros

    def test_fc_flattens_a_4d_input(self):
        g = tflite.read(B.small_conv_model().build())
        g.operators = [g.operators[i] for i in (0, 1, 3, 4)]
        g.operators[2].inputs[0] = g.operators[1].outputs[0]
        c = convert.convert(g)
        self.assertIn("mtl::Flatten", [l.spec for l in c.layers])


if __name__ == "__main__":
    unittest.main()
