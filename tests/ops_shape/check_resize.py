"""Check Resize and Upsample against PyTorch's interpolate.

Usage: check_resize.py ONNXC WORK_DIR

PyTorch exports F.interpolate in each mode (nearest, linear, bilinear,
bicubic, trilinear; align_corners on and off; scale factors and sizes,
up and down) at opsets 11 and 13; onnxc compiles the export and its
output must be within max abs error 1e-4 * max(1, max|ref|) of PyTorch's.
Non-constant scales, both scales and sizes, antialias, an unknown
mode and a roi that ends before it starts must fail with a clear message.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import check_error, parse_args, run_model_file, run_node  # noqa: E402

CASES = [
    # input shape, interpolate arguments
    ((1, 2, 5), dict(scale_factor=2.0, mode="nearest")),
    ((1, 2, 7), dict(size=4, mode="linear", align_corners=False)),
    ((2, 3, 4, 5), dict(scale_factor=1.5, mode="nearest")),
    ((2, 3, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=False)),
    ((2, 3, 4, 5), dict(scale_factor=2.0, mode="bilinear", align_corners=True)),
    ((1, 2, 6, 6), dict(size=(3, 4), mode="bilinear", align_corners=False)),
    ((1, 2, 5, 4), dict(scale_factor=3.0, mode="bicubic", align_corners=False)),
    ((1, 2, 5, 4), dict(size=(3, 9), mode="bicubic", align_corners=True)),
    ((1, 1, 3, 4, 2), dict(scale_factor=2.0, mode="trilinear", align_corners=False)),
    ((1, 1, 2, 3, 4), dict(size=(4, 2, 5), mode="nearest")),
]


class Interpolate(torch.nn.Module):
    def __init__(self, kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        return F.interpolate(x, **self.kwargs)


def check_exports(onnxc, work):
    rng = np.random.default_rng(9)
    failures = 0
    for opset in (11, 13):
        for index, (shape, kwargs) in enumerate(CASES):
            x = rng.standard_normal(shape).astype(np.float32)
            want = Interpolate(kwargs)(torch.from_numpy(x)).numpy()
            name = "r%d_%d" % (opset, index)
            model = os.path.join(work, name + ".onnx")
            torch.onnx.export(Interpolate(kwargs), torch.from_numpy(x), model,
                              input_names=["x"], output_names=["y"],
                              opset_version=opset)
            outs, log = run_model_file(onnxc, work, name, model, {"x": x}, ["y"])
            ok = outs is not None
            if not ok:
                print(log)
            err = float("nan")
            if ok:
                got = outs["y"]
                err = float(np.max(np.abs(got - want))) if want.size else 0.0
                ok = got.shape == want.shape and \
                    err <= 1e-4 * max(1.0, float(np.max(np.abs(want))))
            print("opset %d %s %s: %s (max abs error %.3g)" % (
                opset, shape, kwargs, "ok" if ok else "FAILED", err))
            failures += not ok
    return failures


def check_errors(onnxc, work):
    x = np.zeros((1, 1, 2, 2), np.float32)
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    sizes = helper.make_tensor("sizes", TensorProto.INT64, [4], [1, 1, 4, 4])
    inputs = [("x", TensorProto.FLOAT, [1, 1, 2, 2])]
    out = [("y", TensorProto.FLOAT, None)]
    failures = 0
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], name="rs")
    got, err = run_node(onnxc, work, "e0", node,
                        inputs + [("s", TensorProto.FLOAT, [4])], out,
                        {"x": x, "s": np.array([1, 1, 2, 2], np.float32)}, 13)
    failures += not check_error("run-time scales", got, err,
                                ["Resize node 'rs'", "scales must be a constant"])
    node = helper.make_node("Resize", ["x", "", "scales", "sizes"], ["y"])
    got, err = run_node(onnxc, work, "e1", node, inputs, out, {"x": x}, 13,
                        initializers=[scales, sizes])
    failures += not check_error("scales and sizes", got, err,
                                ["exactly one of scales and sizes"])
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], antialias=1)
    got, err = run_node(onnxc, work, "e2", node, inputs, out, {"x": x}, 18,
                        initializers=[scales])
    failures += not check_error("antialias", got, err,
                                ["antialias = 1 is not supported"])
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="area")
    got, err = run_node(onnxc, work, "e3", node, inputs, out, {"x": x}, 13,
                        initializers=[scales])
    failures += not check_error("unknown mode", got, err,
                                ["mode 'area' is not supported"])

    roi = helper.make_tensor("roi", TensorProto.FLOAT, [8], [0, 0, 0.8, 0, 1, 1, 0.2, 1])
    node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], name="crop",
                            coordinate_transformation_mode="tf_crop_and_resize")
    got, err = run_node(onnxc, work, "e4", node, inputs, out, {"x": x}, 13,
                        initializers=[roi, scales])
    failures += not check_error("roi ending before its start", got, err,
                                ["Resize node 'crop'",
                                 "roi of dim 2 ends at 0.2 before it starts at 0.8"])
    return failures


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    return 1 if check_exports(onnxc, work) + check_errors(onnxc, work) else 0


if __name__ == "__main__":
    sys.exit(main())
