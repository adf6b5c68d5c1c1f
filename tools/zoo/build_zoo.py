#!/usr/bin/env python3
"""Builds microtl's model zoo: small Keras models, trained briefly, converted to full-integer
int8 TFLite, with reference outputs from the TFLite interpreter's reference kernels.

    $MICROTL_PYTHON tools/zoo/build_zoo.py --out build/zoo [--count N] [--only NAME...]

Per model NAME, in --out: NAME.tflite, NAME.inputs.bin, NAME.outputs.bin, NAME.json, NAME.keras;
and zoo.json listing the models. tools/zoo/README.md describes the contract.

Determinism (checked with TF 2.21.0 on Debian 12, 2 cores): two runs, in separate processes,
write byte-identical .tflite, .inputs.bin, .outputs.bin, .json and zoo.json files; a venv
without ai_edge_litert (tf.lite.Interpreter, the same runtime) writes the same .tflite and .bin
files; and `--only NAME` gives the same files for NAME as a full run. What makes it so: seeds
(tf.keras.utils.set_random_seed, and numpy generators for the data), one thread,
tf.config.experimental.enable_op_determinism(), oneDNN off, and a fresh Keras session per model
(layer names, which the .tflite stores, come from global counters). Only the .keras files
differ between runs: the same weights, but a save date and Python object ids in their config.
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Before TensorFlow loads: oneDNN's kernels may reorder float sums between runs, and TF's C++
# logging would drown the progress lines.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fashion_mnist import FASHION_DIR, read_idx  # noqa: E402,F401  (tools/fashion_mnist.py)

try:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    INTERPRETER = "ai_edge_litert"
except ImportError:  # the same runtime, as shipped inside TensorFlow
    Interpreter = tf.lite.Interpreter
    OpResolverType = tf.lite.experimental.OpResolverType
    INTERPRETER = "tf.lite"

layers = tf.keras.layers

SEED = 20161  # every model reseeds with this, so --only NAME builds the same bytes as a full run
REPRESENTATIVE_SAMPLES = 100
EVAL_SAMPLES = 1000  # held-out samples for the accuracies (more when --count needs more)


# ---------------------------------------------------------------------------------------------
# Data. Each loader returns (x_train, y_train, x_test, y_test) as float32 / int64 arrays, with
# at least n_test held-out samples. The synthetic ones draw from their own seeded generator.


def draw_held_out(draw, n):
    """n held-out samples drawn in blocks of 1000, so that the first ones are the same whatever
    n is (a larger --count only appends inputs)."""
    blocks = [draw(1000) for _ in range(-(-n // 1000))]
    return (np.concatenate([b[i] for b in blocks])[:n] for i in range(2))


def fashion_data(n_test):
    def images(name):
        return (read_idx(FASHION_DIR / name).astype(np.float32) / 255.0)[..., None]

    def labels(name):
        return read_idx(FASHION_DIR / name).astype(np.int64)

    x_test = images("t10k-images-idx3-ubyte.gz")
    if n_test > len(x_test):
        sys.exit(f"cnn_fashion: --count needs {n_test} held-out images, t10k has {len(x_test)}")
    n_train = 6000
    return (
        images("train-images-idx3-ubyte.gz")[:n_train],
        labels("train-labels-idx1-ubyte.gz")[:n_train],
        x_test[:n_test],
        labels("t10k-labels-idx1-ubyte.gz")[:n_test],
    )


def kws_data(n_test):
    """Keyword-spotting stand-in: 49 frames x 10 "MFCC" coefficients. Each class has a smooth
    time-frequency template; a sample is it shifted in time, scaled, plus noise."""
    rng = np.random.default_rng(SEED + 1)
    classes, frames, coeffs = 6, 49, 10
    coarse = rng.normal(0.0, 1.0, (classes, 7, 5))
    templates = np.kron(coarse, np.ones((1, 7, 2)))  # 49 x 10 blocks

    def draw(n):
        y = rng.integers(0, classes, n)
        shift = rng.integers(-8, 9, n)
        gain = rng.uniform(0.7, 1.3, (n, 1, 1))
        x = np.stack([np.roll(templates[c], s, axis=0) for c, s in zip(y, shift)])
        x = gain * x + rng.normal(0.0, 2.0, (n, frames, coeffs))
        return x[..., None].astype(np.float32), y.astype(np.int64)

    x_train, y_train = draw(3000)
    x_test, y_test = draw_held_out(draw, n_test)
    return x_train, y_train, x_test, y_test


def tabular_data(n_test):
    """32 features, 4 classes; each class is a mixture of two Gaussian clusters, so a linear
    model is not enough."""
    rng = np.random.default_rng(SEED + 2)
    classes, features = 4, 32
    centers = rng.normal(0.0, 0.6, (classes, 2, features))

    def draw(n):
        y = rng.integers(0, classes, n)
        which = rng.integers(0, 2, n)
        x = centers[y, which] + rng.normal(0.0, 1.0, (n, features))
        return x.astype(np.float32), y.astype(np.int64)

    x_train, y_train = draw(4000)
    x_test, y_test = draw_held_out(draw, n_test)
    return x_train, y_train, x_test, y_test


def accel_data(n_test):
    """Accelerometer windows, 128 samples x 3 axes: per class a sinusoid of its own period
    (64, 32, 16, 8, 5 samples) on each axis with random phase and amplitude, gravity on one
    axis, plus noise."""
    rng = np.random.default_rng(SEED + 3)
    periods = np.array([64.0, 32.0, 16.0, 8.0, 5.0])
    t = np.arange(128, dtype=np.float64)

    def draw(n):
        y = rng.integers(0, len(periods), n)
        phase = rng.uniform(0.0, 2 * np.pi, (n, 1, 3))
        amp = rng.uniform(0.6, 1.2, (n, 1, 3))
        omega = (2 * np.pi / periods[y])[:, None, None]
        x = amp * np.sin(omega * t[None, :, None] + phase)
        x[:, :, 2] += 1.0  # gravity
        x += rng.normal(0.0, 1.0, x.shape)
        return x.astype(np.float32), y.astype(np.int64)

    x_train, y_train = draw(2500)
    x_test, y_test = draw_held_out(draw, n_test)
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------------------------
# Models.


def cnn_fashion(batch_size=None):
    return tf.keras.Sequential(
        [
            tf.keras.Input((28, 28, 1), batch_size=batch_size),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10),
            layers.Softmax(),
        ],
        name="cnn_fashion",
    )


def ds_cnn_kws(batch_size=None):
    inputs = tf.keras.Input((49, 10, 1), batch_size=batch_size)
    x = layers.Conv2D(32, (10, 4), strides=2, padding="same", activation="relu")(inputs)
    # Two depthwise-separable blocks; the second one's depthwise clamps with relu6, so both
    # fused activations of DEPTHWISE_CONV_2D are covered.
    for act in ("relu", "relu6"):
        x = layers.DepthwiseConv2D(3, padding="same", activation=act)(x)
        x = layers.Conv2D(32, 1, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)  # TFLite: MEAN over H and W
    x = layers.Dense(6)(x)
    outputs = layers.Softmax()(x)
    return tf.keras.Model(inputs, outputs, name="ds_cnn_kws")


def mlp(batch_size=None):
    return tf.keras.Sequential(
        [
            tf.keras.Input((32,), batch_size=batch_size),
            layers.Dense(64, activation="relu"),
            layers.Dense(32, activation="relu6"),
            layers.Dense(4),  # raw logits: no softmax
        ],
        name="mlp",
    )


def conv1d_accel(batch_size=None):
    return tf.keras.Sequential(
        [
            tf.keras.Input((128, 3), batch_size=batch_size),
            layers.Conv1D(16, 5, activation="relu"),
            layers.MaxPooling1D(2),
            layers.Conv1D(32, 3, activation="relu"),
            layers.GlobalAveragePooling1D(),
            layers.Dense(5),
            layers.Softmax(),
        ],
        name="conv1d_accel",
    )


# name -> (model builder, data loader, epochs, whether the model ends in a softmax)
ZOO = {
    "cnn_fashion": (cnn_fashion, fashion_data, 2, True),
    "ds_cnn_kws": (ds_cnn_kws, kws_data, 4, True),
    "mlp": (mlp, tabular_data, 8, False),
    "conv1d_accel": (conv1d_accel, accel_data, 12, True),
}


# ---------------------------------------------------------------------------------------------
# Conversion and reference outputs.


@contextlib.contextmanager
def captured_output():
    """Sends the converter's chatter (Python prints and C++ logs, both on fds 1 and 2) to a
    temporary file, shown only if the block fails."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            log.seek(0)
            sys.stderr.write(log.read())
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def convert_int8(model, representative):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def samples():
        for x in representative:
            yield [x[None, ...]]

    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with captured_output():
        return converter.convert()


def reference_interpreter(tflite):
    """The interpreter with TFLite's reference kernels (not the optimized ones, whose rounding
    may differ): what microtl must match bit for bit."""
    interpreter = Interpreter(
        model_content=tflite,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        num_threads=1,
    )
    interpreter.allocate_tensors()
    return interpreter


def run_one_by_one(interpreter, inputs):
    """Runs each int8 input (batch 1) separately; returns the int8 outputs stacked."""
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    outputs = []
    for x in inputs:
        interpreter.set_tensor(inp["index"], x[None, ...])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(outputs)


def quantize(x, scale, zero_point):
    """Float to int8 as TFLite's QUANTIZE does it: round to nearest (numpy's, half to even),
    add the zero point, clamp."""
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def edge_inputs(shape, rng):
    """All -128, all 127, and two of int8 noise: saturating inputs the real data never hits."""
    return np.stack(
        [
            np.full(shape, -128, np.int8),
            np.full(shape, 127, np.int8),
            rng.integers(-128, 128, shape, dtype=np.int8),
            rng.integers(-128, 128, shape, dtype=np.int8),
        ]
    )


def build(name, out_dir, count):
    make_model, load_data, epochs, ends_in_softmax = ZOO[name]
    started = time.monotonic()
    # Keras names layers from global counters ("dense_3"), and the names end up in the
    # .tflite: a fresh session per model keeps its bytes the same whichever models run before.
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(SEED)

    n_edge = min(4, count)
    n_real = count - n_edge
    x_train, y_train, x_test, y_test = load_data(max(EVAL_SAMPLES, n_real))

    model = make_model()
    model.compile(
        optimizer=tf.keras.optimizers.Adam(2e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=not ends_in_softmax),
        metrics=["accuracy"],
    )
    # Keras' tf.data pipeline and tracing log harmless errors and warnings: kept out of sight.
    with captured_output():
        model.fit(x_train, y_train, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
        keras_pred = model.predict(x_test[:EVAL_SAMPLES], batch_size=256, verbose=0)
    keras_accuracy = float(np.mean(np.argmax(keras_pred, -1) == y_test[:EVAL_SAMPLES]))

    stem = out_dir / name
    model.save(f"{stem}.keras")
    weights = model.get_weights()

    # The converted model has a fixed batch of 1, as a microcontroller runs it: converted with a
    # dynamic batch, Flatten becomes SHAPE, STRIDED_SLICE, PACK and RESHAPE (a shape computed at
    # run time) instead of one RESHAPE to a constant shape.
    tf.keras.backend.clear_session()  # the twin gets the same layer names as the trained model
    inference_model = make_model(batch_size=1)
    inference_model.set_weights(weights)
    tflite = convert_int8(inference_model, x_train[:REPRESENTATIVE_SAMPLES])
    interpreter = reference_interpreter(tflite)
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    in_scale, in_zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    input_shape = [int(d) for d in inp["shape"][1:]]
    output_shape = [int(d) for d in out["shape"][1:]]

    # One pass over the held-out inputs gives both the accuracy and the reference outputs.
    q_test = quantize(x_test, in_scale, in_zp)
    n_run = max(EVAL_SAMPLES, n_real)
    edges = edge_inputs(input_shape, np.random.default_rng(SEED + 100))[:n_edge]
    q_all = np.concatenate([edges, q_test[:n_run]])
    y_all = run_one_by_one(interpreter, q_all)
    int8_pred = y_all[n_edge : n_edge + EVAL_SAMPLES]
    int8_accuracy = float(np.mean(np.argmax(int8_pred, -1) == y_test[:EVAL_SAMPLES]))

    Path(f"{stem}.tflite").write_bytes(tflite)
    q_all[:count].tofile(f"{stem}.inputs.bin")
    y_all[:count].tofile(f"{stem}.outputs.bin")
    meta = {
        "name": name,
        "tflite": f"{name}.tflite",
        "count": count,
        "edge_inputs": n_edge,  # the first ones: all -128, all 127, int8 noise, int8 noise
        "input_shape": input_shape,
        "output_shape": output_shape,
        "input_quant": {"scale": float(in_scale), "zero_point": int(in_zp)},
        "output_quant": {"scale": float(out_scale), "zero_point": int(out_zp)},
        "ops": [op["op_name"] for op in interpreter._get_ops_details()],
        "keras_accuracy": keras_accuracy,
        "int8_accuracy": int8_accuracy,
        "tensorflow": tf.__version__,
        "interpreter": INTERPRETER,
        "seed": SEED,
    }
    with open(f"{stem}.json", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(
        f"   {name}: keras {keras_accuracy:.3f}, int8 {int8_accuracy:.3f}, "
        f"{len(tflite)} B, {' '.join(meta['ops'])} ({time.monotonic() - started:.1f} s)",
        flush=True,
    )
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--count", type=int, default=300, help="reference inputs per model")
    parser.add_argument("--only", nargs="+", choices=list(ZOO), help="build only these models")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")

    # Single-threaded, deterministic kernels: the same run gives the same trained weights, so
    # the same .tflite and .bin files.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()

    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(ZOO)
    started = time.monotonic()
    print(f"   model zoo: {len(names)} model(s), {args.count} inputs each, into {args.out}",
          flush=True)
    metas = [build(name, args.out, args.count) for name in names]

    # zoo.json lists every model present in the folder, so an --only run keeps the others.
    index_path = args.out / "zoo.json"
    models = {}
    if index_path.exists():
        for entry in json.loads(index_path.read_text()).get("models", []):
            if (args.out / f"{entry['name']}.json").exists():
                models[entry["name"]] = entry
    for meta in metas:
        models[meta["name"]] = {"name": meta["name"], "json": f"{meta['name']}.json"}
    index = {
        "tensorflow": tf.__version__,
        "models": [models[n] for n in ZOO if n in models],
    }
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    print(f"   model zoo built in {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
