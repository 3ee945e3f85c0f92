"""Check training-mode Dropout against numpy's legacy generator.

Usage: check_dropout.py ONNXC WORK_DIR

The ONNX reference draws Dropout's mask as
np.random.seed(seed); np.random.uniform(0, 1, x.shape) >= ratio.  For
several seeds, ratios, shapes and dtypes (with NaN and inf in x), this
compiles a one-node model, runs it and compares y and the mask with that
rule.  A model without the seed attribute must use seed 0.
"""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

CASES = [
    # seed (None: no attribute), ratio, shape, dtype
    (0, 0.5, (3, 4, 5), np.float32),
    (1, 0.75, (700,), np.float32),
    (123456789, 0.1, (2, 33), np.float64),
    (4294967295, 0.9, (17,), np.float32),
    (None, 0.3, (4, 4), np.float32),
]


def build(path, seed, shape, dtype):
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    attrs = {} if seed is None else {"seed": seed}
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"], **attrs)
    graph = helper.make_graph(
        [node], "dropout",
        [helper.make_tensor_value_info("x", elem, shape),
         helper.make_tensor_value_info("r", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("t", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", elem, shape),
         helper.make_tensor_value_info("mask", TensorProto.BOOL, shape)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
              path)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    onnxc, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(5)
    failures = 0
    for index, (seed, ratio, shape, dtype) in enumerate(CASES):
        name = "case%d" % index
        model = os.path.join(work, name + ".onnx")
        build(model, seed, shape, dtype)
        x = rng.standard_normal(shape).astype(dtype)
        x.flat[0] = np.nan
        x.flat[-1] = np.inf
        r = np.array(ratio, np.float32)
        feeds = []
        for key, value in (("x", x), ("r", r), ("t", np.array(True))):
            path = os.path.join(work, "%s_%s.npy" % (name, key))
            np.save(path, value)
            feeds += ["-i", "%s=%s" % (key, path)]
        lib = os.path.join(work, "lib%s.so" % name)
        out = os.path.join(work, name + "_out")
        for cmd in ([onnxc, "compile", model, "-o", lib, "--name", "m"],
                    [onnxc, "run", lib, "-o", out] + feeds):
            result = subprocess.run(cmd, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, universal_newlines=True)
            if result.returncode != 0:
                print(result.stdout)
                return 1
        np.random.seed(0 if seed is None else seed)
        want_mask = np.random.uniform(0, 1.0, shape) >= r
        scale = np.float32(1) / (np.float32(1) - r)
        with np.errstate(invalid="ignore"):
            want_y = (want_mask * x * scale).astype(dtype)
        got_y = np.load(os.path.join(out, "y.npy"))
        got_mask = np.load(os.path.join(out, "mask.npy"))
        mask_ok = np.array_equal(got_mask, want_mask)
        y_ok = np.array_equal(got_y, want_y, equal_nan=True)
        print("%s: seed %s ratio %g %s %s: mask %s, y %s"
              % (name, seed, ratio, shape, np.dtype(dtype).name,
                 "ok" if mask_ok else "DIFFERS", "ok" if y_ok else "DIFFERS"))
        failures += not (mask_ok and y_ok)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
