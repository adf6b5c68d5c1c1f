"""scripts/import MODEL.tflite -o HEADER.hpp [--namespace NAME]

Exit status: 0 written, 2 the model uses something microtl cannot run exactly (one message
naming the operator, its index and what), 1 the file cannot be read.
"""
import argparse
import hashlib
import os
import re
import sys

from . import convert, emit, flatbuf, tflite


def main(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/import",
                                 description="Import an int8 TFLite model as a microtl header.")
    ap.add_argument("model", help="the .tflite file (full-integer int8 quantization)")
    ap.add_argument("-o", "--output", required=True, help="the C++ header to write")
    ap.add_argument("--namespace", help="C++ namespace of the model (default: the file's "
                    "name, e.g. cnn_fashion)")
    ap.add_argument("--reference", choices=("tflite", "tflite-micro"), default="tflite",
                    help="whose int8 results to reproduce bit for bit: TFLite 2.x (default; "
                    "its FULLY_CONNECTED rounds once) or TFLite Micro (rounds twice)")
    ap.add_argument("--cut", metavar="OP_INDEX_OR_TENSOR_NAME",
                    help="transfer learning: the operators from this one on (or from the one "
                    "reading this tensor) become a trainable float head, initialised from "
                    "their dequantized int8 parameters; the front stays int8")
    args = ap.parse_args(argv)
    try:
        with open(args.model, "rb") as f:
            blob = f.read()
    except OSError as e:
        print("scripts/import: cannot read %s: %s" % (args.model, e.strerror), file=sys.stderr)
        return 1
    base = os.path.basename(args.model)
    ns = args.namespace or re.sub(r"\W", "_", os.path.splitext(base)[0])
    if not re.fullmatch(r"[A-Za-z_]\w*(::[A-Za-z_]\w*)*", ns) or ns[0].isdigit():
        print("scripts/import: '%s' is not a C++ namespace name: use --namespace" % ns,
              file=sys.stderr)
        return 1
    try:
        graph = tflite.read(blob)
    except flatbuf.FlatBufferError as e:
        print("scripts/import: %s: not a readable TFLite model: %s" % (base, e), file=sys.stderr)
        return 1
    try:
        conv = convert.convert(graph, args.reference, args.cut)
    except convert.Unsupported as e:
        print("scripts/import: %s: refused: %s" % (base, e), file=sys.stderr)
        return 2
    text = emit.header(conv, base, hashlib.sha256(blob).hexdigest(), ns)
    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
