"""Fashion-MNIST as Debian's dataset-fashion-mnist installs it: the idx files, gzipped. Shared
by tools/zoo, tools/fleet and the demo's Keras pretraining (standard library and numpy)."""
import gzip
from pathlib import Path

import numpy as np

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path):
    """An idx file (the MNIST format): big-endian header, dims, then uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)
