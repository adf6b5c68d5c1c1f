"""Development helper (needs TensorFlow; not used by the importer or its tests).

Builds small Keras models, converts them to full-integer int8 .tflite files (per-channel
weights, int8 input and output) and writes, in the zoo's format:
  OUT/NAME.tflite, NAME.inputs.bin, NAME.outputs.bin (N int8 samples, NHWC, concatenated),
  NAME.json (count, input_shape, output_shape, input_quant, output_quant, ops)
The outputs come from TFLite's interpreter with the reference kernels (BUILTIN_REF).

  python make_models.py OUT_DIR [NAME...]
"""
import json
import os
import sys
import zlib

import numpy as np
import tensorflow as tf

K = tf.keras
L = K.layers
COUNT = 64


def models():
    yield "cnn_fashion", (28, 28, 1), lambda: K.Sequential([
        K.Input((28, 28, 1)),
        L.Conv2D(8, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(12, 3, padding="valid", activation="relu6"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(24, activation="relu"), L.Dense(10), L.Softmax()])
    yield "ds_cnn_avg", (20, 12, 1), lambda: K.Sequential([
        K.Input((20, 12, 1)),
        L.Conv2D(16, (3, 3), strides=2, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.Conv2D(16, 1, activation="relu"),
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu6"),
        L.AveragePooling2D(2, padding="same"),
        L.Flatten(), L.Dense(6), L.Softmax()])
    yield "ds_cnn_kws", (20, 12, 1), lambda: K.Sequential([
        K.Input((20, 12, 1)),
        L.Conv2D(16, (3, 3), strides=2, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.Conv2D(16, 1, activation="relu"),
        L.GlobalAveragePooling2D(), L.Dense(6), L.Softmax()])
    yield "mlp", (20,), lambda: K.Sequential([
        K.Input((20,)), L.Dense(32, activation="relu"), L.Dense(16, activation="relu6"),
        L.Dense(4)])
    yield "conv1d_flat", (32, 3), lambda: K.Sequential([
        K.Input((32, 3)),
        L.Conv1D(8, 5, padding="same", activation="relu"), L.MaxPooling1D(2),
        L.Conv1D(8, 3, strides=2, activation="relu"), L.AveragePooling1D(2),
        L.Flatten(), L.Dense(5), L.Softmax()])
    yield "conv1d_accel", (32, 3), lambda: K.Sequential([
        K.Input((32, 3)),
        L.Conv1D(8, 5, padding="same", activation="relu"), L.MaxPooling1D(2),
        L.GlobalAveragePooling1D(), L.Dense(5), L.Softmax()])
    yield "pool_same", (9, 9, 2), lambda: K.Sequential([
        K.Input((9, 9, 2)),
        L.Conv2D(4, 3, padding="same", activation="relu"),
        L.AveragePooling2D(3, strides=2, padding="same"),
        L.MaxPooling2D(3, strides=2, padding="same"),
        L.Conv2D(6, 2, strides=2, padding="same", activation="relu6"),
        L.Flatten(), L.Dense(5)])
    yield "tanh_sigmoid", (12,), lambda: K.Sequential([
        K.Input((12,)), L.Dense(10), L.Activation("tanh"), L.Dense(6),
        L.Activation("sigmoid")])


def main():
    out = sys.argv[1]
    wanted = sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for name, shape, build in models():
        if wanted and name not in wanted:
            continue
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        tf.random.set_seed(7)
        model = build()
        # Nonzero biases, so that they matter.
        for layer in model.layers:
            ws = layer.get_weights()
            if len(ws) == 2:
                ws[1] = rng.normal(0, 0.2, ws[1].shape).astype(np.float32)
                layer.set_weights(ws)
        calib = rng.normal(0.3, 1.0, (200,) + shape).astype(np.float32)

        def rep():
            for i in range(200):
                yield [calib[i:i + 1]]

        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        blob = conv.convert()
        with open(os.path.join(out, name + ".tflite"), "wb") as f:
            f.write(blob)
        interp = tf.lite.Interpreter(
            model_content=blob,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
        ind = interp.get_input_details()[0]
        outd = interp.get_output_details()[0]
        xs = rng.integers(-128, 128, (COUNT,) + tuple(ind["shape"][1:]), dtype=np.int8)
        # Half the samples: the quantized calibration distribution (realistic activations).
        s, z = ind["quantization"]
        q = np.clip(np.round(calib[:COUNT // 2] / s) + z, -128, 127).astype(np.int8)
        xs[:COUNT // 2] = q.reshape(xs[:COUNT // 2].shape)
        ys = []
        for x in xs:
            interp.set_tensor(ind["index"], x[None])
            interp.invoke()
            ys.append(interp.get_tensor(outd["index"])[0].copy())
        ys = np.stack(ys).astype(np.int8)
        xs.tofile(os.path.join(out, name + ".inputs.bin"))
        ys.tofile(os.path.join(out, name + ".outputs.bin"))
        ops = [d["op_name"] for d in interp._get_ops_details()]
        meta = {"count": COUNT, "input_shape": [int(v) for v in ind["shape"]],
                "output_shape": [int(v) for v in outd["shape"]],
                "input_quant": [float(s), int(z)],
                "output_quant": [float(outd["quantization"][0]), int(outd["quantization"][1])],
                "ops": ops}
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(name, ops, flush=True)


if __name__ == "__main__":
    main()
