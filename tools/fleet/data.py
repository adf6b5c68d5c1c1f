"""The fleet's data: Fashion-MNIST (Debian's dataset-fashion-mnist), each device's own samples
with a skewed class mix (non-IID), written as the idx files the device reads."""
import struct
from pathlib import Path

import numpy as np

from fashion_mnist import FASHION_DIR, read_idx  # tools/fashion_mnist.py

FACTORY_CLASSES = 7  # model.hpp: 0-6 known to the factory model; 7, 8, 9 are new
CLASSES = 10


def load(split, directory=FASHION_DIR):
    """(images uint8 [N, 28, 28], labels uint8 [N]) of "train" or "t10k"."""
    return (read_idx(Path(directory) / f"{split}-images-idx3-ubyte.gz"),
            read_idx(Path(directory) / f"{split}-labels-idx1-ubyte.gz"))


def write_idx(prefix, images, labels):
    """PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte (what the device's SampleStream
    reads)."""
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    with open(f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, len(images), 28, 28))
        f.write(images.tobytes())
    with open(f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, len(labels)))
        f.write(labels.tobytes())


def class_mix(device, samples, rng):
    """How many samples of each class one device sees: a new class of its own (device mod 3)
    for half of them, another new class for a fifth, and two old classes for the rest. No
    device sees all three new classes; together the fleet sees all ten."""
    counts = np.zeros(CLASSES, dtype=np.int64)
    own = FACTORY_CLASSES + device % 3
    other = FACTORY_CLASSES + (device + 1 + int(rng.integers(0, 2))) % 3
    counts[own] += samples // 2
    counts[other] += samples // 5
    old = rng.choice(FACTORY_CLASSES, size=2, replace=False)
    rest = samples - counts.sum()
    counts[old[0]] += rest - rest // 2
    counts[old[1]] += rest // 2
    return counts


def make_shards(labels, devices, samples, seed):
    """Each device's sample indices into the training set: disjoint, drawn without
    replacement from per-class pools in a seeded order (the same seed, the same fleet)."""
    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(np.flatnonzero(labels == c))) for c in range(CLASSES)]
    shards = []
    for d in range(devices):
        counts = class_mix(d, samples, rng)
        chosen = []
        for c in range(CLASSES):
            if counts[c] > len(pools[c]):
                raise ValueError("not enough training images of class %d for %d devices" % (c, devices))
            chosen += [pools[c].pop() for _ in range(counts[c])]
        shards.append(np.array(rng.permutation(chosen), dtype=np.int64))
    return shards
