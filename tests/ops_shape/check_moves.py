"""Check DepthToSpace, SpaceToDepth and ReverseSequence.

Usage: check_moves.py ONNXC WORK_DIR

The expected outputs are the reshape and transpose sequences that the
ONNX operator documentation gives for each mode (DCR, CRD and
SpaceToDepth), in numpy, for several block sizes and dtypes.  CRD must
also match torch.nn.functional.pixel_shuffle.  A channel count that
blocksize^2 does not divide, a height that blocksize does not divide, a
bad mode and a 3-D input must fail with a clear message.  ReverseSequence
is checked against numpy for both axis orders, and a sequence length
beyond the time axis must fail at run time.
"""

import os
import sys

import numpy as np
import torch
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import check_error, parse_args, run_node  # noqa: E402

ELEM = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64,
        np.uint8: TensorProto.UINT8, np.float16: TensorProto.FLOAT16}


def depth_to_space(x, b, mode):
    n, c, h, w = x.shape
    if mode == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x, b):
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


def pixel_shuffle(x, b):
    return torch.nn.functional.pixel_shuffle(torch.from_numpy(x), b).numpy()


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    rng = np.random.default_rng(3)
    failures, count = 0, 0
    for b, shape, dtype in ((2, (1, 8, 3, 2), np.float32), (3, (2, 18, 2, 3), np.int64),
                            (1, (2, 3, 4, 5), np.uint8), (2, (1, 4, 5, 1), np.float16)):
        x = (rng.standard_normal(shape) * 100).astype(dtype)
        for op, mode in (("DepthToSpace", "DCR"), ("DepthToSpace", "CRD"),
                         ("SpaceToDepth", None)):
            count += 1
            data = x
            if op == "SpaceToDepth":
                big = (shape[0], shape[1], shape[2] * b, shape[3] * b)
                data = (rng.standard_normal(big) * 100).astype(dtype)
                want = space_to_depth(data, b)
                node = helper.make_node(op, ["x"], ["y"], blocksize=b)
            else:
                want = depth_to_space(data, b, mode)
                node = helper.make_node(op, ["x"], ["y"], blocksize=b, mode=mode)
            got, err = run_node(onnxc, work, "d%d" % count, node,
                                [("x", ELEM[dtype], list(data.shape))],
                                [("y", ELEM[dtype], list(want.shape))], {"x": data}, 13)
            ok = got is not None and np.array_equal(got["y"], want)
            if ok and mode == "CRD" and dtype == np.float32:
                ok = np.array_equal(got["y"], pixel_shuffle(data, b))
            print("%s %s b=%d %s %s: %s" % (op, mode or "", b, shape, np.dtype(dtype).name,
                                            "ok" if ok else "FAILED\n" + (err or "")))
            failures += not ok

    for time_axis in (0, 1):
        x = rng.standard_normal((4, 3, 2)).astype(np.float32)
        lens = np.array([4, 0, 2], np.int64) if time_axis == 0 else \
            np.array([1, 3, 2, 3], np.int64)
        want = x.copy()
        for b, n in enumerate(lens):
            if time_axis == 0:
                want[:n, b] = x[:n, b][::-1]
            else:
                want[b, :n] = x[b, :n][::-1]
        node = helper.make_node("ReverseSequence", ["x", "lens"], ["y"],
                                time_axis=time_axis, batch_axis=1 - time_axis)
        got, err = run_node(onnxc, work, "r%d" % time_axis, node,
                            [("x", TensorProto.FLOAT, list(x.shape)),
                             ("lens", TensorProto.INT64, list(lens.shape))],
                            [("y", TensorProto.FLOAT, list(x.shape))],
                            {"x": x, "lens": lens}, 10)
        ok = got is not None and np.array_equal(got["y"], want)
        print("ReverseSequence time_axis %d: %s" % (time_axis,
                                                    "ok" if ok else "FAILED\n" + (err or "")))
        failures += not ok
    node = helper.make_node("ReverseSequence", ["x", "lens"], ["y"], name="rev")
    got, err = run_node(onnxc, work, "r_bad", node,
                        [("x", TensorProto.FLOAT, [2, 2]), ("lens", TensorProto.INT64, [2])],
                        [("y", TensorProto.FLOAT, [2, 2])],
                        {"x": np.zeros((2, 2), np.float32),
                         "lens": np.array([1, 3], np.int64)}, 10)
    failures += not check_error("sequence length beyond time", got, err,
                                ["ReverseSequence node 'rev'",
                                 "sequence_lens[1] is 3, outside [0, 2]"])

    x = np.zeros((1, 8, 3, 3), np.float32)
    errors = [
        ("channels", helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=3,
                                      name="d2s"),
         x, ["DepthToSpace node 'd2s'", "not a multiple of blocksize^2 = 9"]),
        ("height", helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2),
         x, ["height and width", "not multiples of blocksize 2"]),
        ("mode", helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2,
                                  mode="RCD"),
         x, ["mode 'RCD' is invalid; expected DCR or CRD"]),
        ("rank", helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2),
         np.zeros((8, 3, 3), np.float32), ["must be 4-D"]),
        ("no blocksize", helper.make_node("DepthToSpace", ["x"], ["y"]),
         x, ["required attribute blocksize is missing"]),
    ]
    for index, (label, node, value, needles) in enumerate(errors):
        got, err = run_node(onnxc, work, "e%d" % index, node,
                            [("x", TensorProto.FLOAT, list(value.shape))],
                            [("y", TensorProto.FLOAT, None)], {"x": value}, 13)
        failures += not check_error(label, got, err, needles)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
