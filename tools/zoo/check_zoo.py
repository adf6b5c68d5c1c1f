#!/usr/bin/env python3
"""Checks a model zoo written by build_zoo.py: re-runs each NAME.tflite with TFLite's reference
kernels on NAME.inputs.bin and verifies the outputs equal NAME.outputs.bin byte for byte, and
that NAME.json agrees with the model (shapes, quantization, operators).

    $MICROTL_PYTHON tools/zoo/check_zoo.py [--zoo build/zoo] [--tf] [NAME...]

--tf runs tf.lite.Interpreter as well as ai_edge_litert's (the same runtime, two packagings).
Exits 1 if any model disagrees, 2 if the folder is not a zoo.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def interpreters(also_tf):
    """(label, Interpreter class, OpResolverType) for each runtime to check with."""
    found = []
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        found.append(("ai_edge_litert", Interpreter, OpResolverType))
    except ImportError:
        also_tf = True  # the fallback build_zoo.py uses too
    if also_tf:
        import tensorflow as tf

        # tf.lite.Interpreter warns that it is deprecated in favour of ai_edge_litert's.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        found.append(("tf.lite", tf.lite.Interpreter, tf.lite.experimental.OpResolverType))
    return found


def check_model(zoo, name, runtime):
    """Returns a list of problems (empty when the model checks out)."""
    label, Interpreter, OpResolverType = runtime
    meta = json.loads((zoo / f"{name}.json").read_text())
    count = meta["count"]
    in_size = int(np.prod(meta["input_shape"]))
    out_size = int(np.prod(meta["output_shape"]))
    inputs = np.fromfile(zoo / f"{name}.inputs.bin", np.int8)
    expected = np.fromfile(zoo / f"{name}.outputs.bin", np.int8)
    problems = []
    if inputs.size != count * in_size:
        problems.append(f"inputs.bin has {inputs.size} bytes, expected {count} x {in_size}")
    if expected.size != count * out_size:
        problems.append(f"outputs.bin has {expected.size} bytes, expected {count} x {out_size}")
    if problems:
        return problems

    interpreter = Interpreter(
        model_path=str(zoo / meta["tflite"]),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        num_threads=1,
    )
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
        problems.append(f"input/output types are {inp['dtype']}/{out['dtype']}, not int8")
    if list(inp["shape"]) != [1, *meta["input_shape"]]:
        problems.append(f"input shape {list(inp['shape'])} vs json {meta['input_shape']}")
    if list(out["shape"]) != [1, *meta["output_shape"]]:
        problems.append(f"output shape {list(out['shape'])} vs json {meta['output_shape']}")
    for key, details in (("input_quant", inp), ("output_quant", out)):
        scale, zero_point = details["quantization"]
        if (scale, zero_point) != (meta[key]["scale"], meta[key]["zero_point"]):
            problems.append(f"{key} {scale}, {zero_point} vs json {meta[key]}")
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    if ops != meta["ops"]:
        problems.append(f"ops {ops} vs json {meta['ops']}")
    if problems:
        return problems

    inputs = inputs.reshape(count, *meta["input_shape"])
    expected = expected.reshape(count, *meta["output_shape"])
    mismatched = []
    for i in range(count):
        interpreter.set_tensor(inp["index"], inputs[i][None, ...])
        interpreter.invoke()
        if not np.array_equal(interpreter.get_tensor(out["index"])[0], expected[i]):
            mismatched.append(i)
    if mismatched:
        problems.append(
            f"{len(mismatched)} of {count} outputs differ (first: input {mismatched[0]})"
        )
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", type=Path, default=Path("build/zoo"), help="zoo folder")
    parser.add_argument("--tf", action="store_true", help="also check with tf.lite.Interpreter")
    parser.add_argument("names", nargs="*", help="models to check (default: all of zoo.json)")
    args = parser.parse_args()

    index_path = args.zoo / "zoo.json"
    if not index_path.exists():
        print(f"{index_path}: missing (run tools/zoo/build_zoo.py --out {args.zoo})",
              file=sys.stderr)
        return 2
    listed = [m["name"] for m in json.loads(index_path.read_text())["models"]]
    unknown = [n for n in args.names if n not in listed]
    if unknown:
        print(f"not in {index_path}: {' '.join(unknown)}", file=sys.stderr)
        return 2

    failed = 0
    for runtime in interpreters(args.tf):
        for name in args.names or listed:
            problems = check_model(args.zoo, name, runtime)
            status = "ok" if not problems else "FAILED: " + "; ".join(problems)
            print(f"   {name} ({runtime[0]}): {status}", flush=True)
            failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
