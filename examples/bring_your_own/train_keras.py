#!/usr/bin/env python3
"""Bring your own model, step 1: a small Keras CNN trained on 7 of Fashion-MNIST's 10 classes
(0-6: T-shirt, trouser, pullover, dress, coat, sandal, shirt), converted to a full-integer int8
.tflite. The device later learns the 3 others (7-9: sneaker, bag, ankle boot).

    $MICROTL_PYTHON examples/bring_your_own/train_keras.py --out build/byom

Writes, in --out: model.tflite, and samples.hpp (int8 images for main.cpp: a held-out test set
of every class, and the few training images of the new classes the device learns from).
Reads Debian's Fashion-MNIST files (/usr/share/datasets/fashion-mnist, package
dataset-fashion-mnist); downloads nothing. Fixed seeds, one thread: the same bytes on every
run (two runs here gave the same model.tflite).
"""

import argparse
import contextlib
import gzip
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic float sums
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")
OLD_CLASSES = 7  # Keras sees classes 0-6; the output layer still has 10 units
TEST_PER_CLASS = 20  # held-out images per class, for the accuracies main.cpp prints
NEW_PER_CLASS = 30  # training images per new class the device learns from
OLD_PER_CLASS = 10  # training images per old class replayed with them


def read_idx(name):
    """An idx file: big-endian magic (its 4th byte the number of dims), dims, uint8 data."""
    with gzip.open(DATA / name, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def make_model(batch_size=None):
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input((28, 28, 1), batch_size=batch_size),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),  # 3 x 3 x 16 = 144 features
            layers.Dense(32, activation="relu"),
            layers.Dense(10),  # logits
        ]
    )


def pick(labels, classes, per_class, rng):
    """per_class indices of each class, drawn without replacement."""
    return np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in classes]
    )


@contextlib.contextmanager
def output_to(path):
    """Sends what TensorFlow prints (Python and C++, file descriptors 1 and 2) to a file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def c_array(name, rows):
    lines = [f"inline constexpr std::int8_t {name}[{len(rows)}][{rows.shape[1]}] = {{"]
    lines += ["    {" + ",".join(str(int(v)) for v in row) + "}," for row in rows]
    return "\n".join(lines + ["};"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    tf.keras.utils.set_random_seed(1)
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)

    x_train = read_idx("train-images-idx3-ubyte.gz")[..., None].astype(np.float32) / 255.0
    y_train = read_idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    x_test = read_idx("t10k-images-idx3-ubyte.gz")
    y_test = read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    old = y_train < OLD_CLASSES

    model = make_model()
    model.compile(
        optimizer=tf.keras.optimizers.Adam(2e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    log = args.out / "train_keras.log"
    x_old, y_old = x_test[y_test < OLD_CLASSES], y_test[y_test < OLD_CLASSES]
    with output_to(log):  # the epochs, and TensorFlow's warnings
        model.fit(x_train[old], y_train[old], batch_size=64, epochs=args.epochs, verbose=2)
        logits = model.predict(x_old[..., None].astype(np.float32) / 255.0, verbose=0)
    print(
        f"Keras, float: {np.mean(np.argmax(logits, -1) == y_old):.3f} of the {len(y_old)} "
        f"held-out images of classes 0-6 right ({args.epochs} epochs; log: {log})"
    )

    # Converted with a batch of 1, as a microcontroller runs it: Flatten is then one RESHAPE
    # to a constant shape (with a dynamic batch it is SHAPE, STRIDED_SLICE, PACK, RESHAPE).
    device_model = make_model(batch_size=1)
    device_model.set_weights(model.get_weights())
    converter = tf.lite.TFLiteConverter.from_keras_model(device_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in x_train[old][:200])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with output_to(args.out / "convert.log"):
        tflite = converter.convert()
    (args.out / "model.tflite").write_bytes(tflite)

    # The int8 input of the converted model: TFLite picks scale 1/255, zero point -128 for
    # pixels in [0, 1], so a pixel p (0-255) is the code p - 128.
    rng = np.random.default_rng(1)
    test = pick(y_test, range(10), TEST_PER_CLASS, rng)
    learn = np.concatenate(
        [
            pick(y_train, range(OLD_CLASSES), OLD_PER_CLASS, rng),
            pick(y_train, range(OLD_CLASSES, 10), NEW_PER_CLASS, rng),
        ]
    )

    def codes(images):
        return images.reshape(len(images), -1).astype(np.int16) - 128

    train_pixels = (x_train[learn] * 255.0).round().astype(np.uint8)
    header = [
        "// Generated by examples/bring_your_own/train_keras.py. Do not edit.",
        "// Fashion-MNIST images as the model's int8 input codes (pixel - 128), with labels.",
        "#pragma once",
        "#include <cstddef>",
        "#include <cstdint>",
        "namespace samples {",
        c_array("test_images", codes(x_test[test])),
        "inline constexpr std::uint8_t test_labels[] = {"
        + ",".join(str(v) for v in y_test[test]) + "};",
        "// The device learns from these: the new classes, and a few old ones replayed.",
        c_array("learn_images", codes(train_pixels)),
        "inline constexpr std::uint8_t learn_labels[] = {"
        + ",".join(str(v) for v in y_train[learn]) + "};",
        "}  // namespace samples",
        "",
    ]
    (args.out / "samples.hpp").write_text("\n".join(header))
    print(f"wrote {args.out / 'model.tflite'} and {args.out / 'samples.hpp'}")


if __name__ == "__main__":
    main()
