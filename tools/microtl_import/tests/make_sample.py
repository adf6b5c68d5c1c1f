"""Writes OUT_DIR/imported_sample.tflite (a small int8 model made by tests/builder.py:
Conv2D + ReLU, MaxPool, Reshape, FullyConnected, Softmax) and OUT_DIR/imported_sample.hpp, the
header scripts/import makes of it (namespace imported_sample), and
OUT_DIR/imported_sample_cut.hpp, the same with --cut 3 (namespace imported_sample_cut). The C++ tests in tests/import
compile that header with the project's warnings (-Werror) and run it, without heap.

  python3 tools/microtl_import/tests/make_sample.py OUT_DIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from microtl_import import __main__ as cli  # noqa: E402
from microtl_import.tests import builder  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    src = os.path.join(out, "imported_sample.tflite")
    with open(src, "wb") as f:
        f.write(builder.small_conv_model(activation=1).build())
    status = cli.main([src, "-o", os.path.join(out, "imported_sample.hpp")])
    if status == 0:
        # The same model cut before its FULLY_CONNECTED (operator 3): a trainable float head.
        status = cli.main([src, "-o", os.path.join(out, "imported_sample_cut.hpp"), "--cut", "3",
                           "--namespace", "imported_sample_cut"])
    return status


if __name__ == "__main__":
    sys.exit(main())
