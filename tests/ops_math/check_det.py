"""Check Det against numpy.linalg.det.

Usage: check_det.py ONNXC WORK_DIR

Random, singular, permuted and batched matrices (0x0 to 6x6, float32 and
float64) must match numpy within rtol 1e-5 and atol 1e-5; a non-square
input must fail with a clear message.
"""

import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import check_error, parse_args, run_node  # noqa: E402


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    rng = np.random.default_rng(17)
    singular = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 5]], np.float64)
    swap = np.array([[0, 0, 2], [0, 3, 0], [4, 0, 0]], np.float64)
    cases = [rng.standard_normal((4, 4)), singular, swap,
             rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((6, 6)),
             np.zeros((3, 0, 0)), rng.standard_normal((1, 1))]
    failures = 0
    node = helper.make_node("Det", ["x"], ["y"], name="det")
    for index, x in enumerate(cases):
        for dtype, elem in ((np.float32, TensorProto.FLOAT),
                            (np.float64, TensorProto.DOUBLE)):
            data = x.astype(dtype)
            want = np.linalg.det(data.astype(np.float64)) if data.size else \
                np.ones(data.shape[:-2])
            got, err = run_node(onnxc, work, "d%d_%s" % (index, np.dtype(dtype).name),
                                node, [("x", elem, list(data.shape))],
                                [("y", elem, list(data.shape[:-2]))], {"x": data}, 11)
            ok = got is not None and np.allclose(got["y"], want, rtol=1e-5, atol=1e-5)
            print("Det %s %s: %s" % (data.shape, np.dtype(dtype).name,
                                     "ok" if ok else "FAILED\n%s%s" % (err or "", got)))
            failures += not ok
    got, err = run_node(onnxc, work, "e0", node, [("x", TensorProto.FLOAT, [2, 3])],
                        [("y", TensorProto.FLOAT, None)],
                        {"x": np.zeros((2, 3), np.float32)}, 11)
    failures += not check_error("non-square", got, err,
                                ["Det node 'det'", "must be square matrices"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
