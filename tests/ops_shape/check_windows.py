"""Check HannWindow, HammingWindow and BlackmanWindow.

Usage: check_windows.py ONNXC WORK_DIR

Windows of sizes 0, 1, 2, 7 and 400, periodic and symmetric, in float32,
float64 and int32, must match the ONNX definition within 1e-6.  From size
2 on, that definition is checked against torch.hann_window and
torch.blackman_window (PyTorch's size-1 windows are [1]).  A negative or
non-constant size must fail with a clear message.
"""

import math
import os
import sys

import numpy as np
import torch
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import check_error, parse_args, run_node  # noqa: E402


COEFFICIENTS = {"HannWindow": (0.5, 0.5, 0.0),
                "HammingWindow": (25 / 46, 21 / 46, 0.0),
                "BlackmanWindow": (0.42, 0.5, 0.08)}


def expected(op, size, periodic):
    """The ONNX definition; a symmetric window of size 1 is [1]."""
    n = size if periodic else size - 1
    if n <= 0:
        return np.ones(size)
    a0, a1, a2 = COEFFICIENTS[op]
    t = 2 * math.pi * np.arange(size) / n
    want = a0 - a1 * np.cos(t) + a2 * np.cos(2 * t)
    if size >= 2 and op != "HammingWindow":  # PyTorch agrees from size 2
        fn = torch.hann_window if op == "HannWindow" else torch.blackman_window
        ref = fn(size, periodic=bool(periodic), dtype=torch.float64).numpy()
        assert np.allclose(want, ref, atol=1e-12), (op, size, periodic)
    return want


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    failures, count = 0, 0
    dtypes = ((TensorProto.FLOAT, np.float32), (TensorProto.DOUBLE, np.float64),
              (TensorProto.INT32, np.int32))
    for op in ("HannWindow", "HammingWindow", "BlackmanWindow"):
        for size in (0, 1, 2, 7, 400):
            for periodic in (1, 0):
                elem, dtype = dtypes[count % 3]
                count += 1
                node = helper.make_node(op, ["size"], ["w"], periodic=periodic,
                                        output_datatype=elem)
                size_init = helper.make_tensor("size", TensorProto.INT64, [], [size])
                got, err = run_node(onnxc, work, "w%d" % count, node, [],
                                    [("w", elem, [size])], {}, 17,
                                    initializers=[size_init])
                want = expected(op, size, periodic)
                if dtype == np.int32:
                    want = np.trunc(want)
                ok = got is not None and got["w"].shape == (size,) and \
                    np.allclose(got["w"], want, rtol=0, atol=1e-6)
                print("%s size %d periodic %d %s: %s" % (
                    op, size, periodic, np.dtype(dtype).name,
                    "ok" if ok else "FAILED\n%s%s" % (err or "", got)))
                failures += not ok

    node = helper.make_node("HannWindow", ["size"], ["w"], name="hann")
    got, err = run_node(onnxc, work, "e0", node, [], [("w", TensorProto.FLOAT, None)],
                        {}, 17, initializers=[helper.make_tensor(
                            "size", TensorProto.INT64, [], [-3])])
    failures += not check_error("negative size", got, err,
                                ["HannWindow node 'hann'", "the size must be one "
                                 "integer in [0, 2^32]"])
    got, err = run_node(onnxc, work, "e1", node, [("size", TensorProto.INT64, [])],
                        [("w", TensorProto.FLOAT, None)], {"size": np.array(4)}, 17)
    failures += not check_error("run-time size", got, err, ["must be a constant"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
