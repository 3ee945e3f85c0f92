"""Check BatchNormalization, InstanceNormalization, LRN, Celu, Shrink and
ThresholdedRelu against PyTorch.

Usage: check_norms.py ONNXC WORK_DIR

Each case is a one-node model, compiled and run; outputs must be within
max abs error 1e-5 * max(1, max|ref|) of torch.nn.functional.batch_norm,
instance_norm, local_response_norm (odd sizes; even sizes against the
ONNX definition), celu, softshrink and where (NaN and inf in the
activations' inputs included).  BatchNormalization's training mode
(opset 15) is checked against y = batch_norm(training=True) and the ONNX
running statistics input * momentum + batch * (1 - momentum), with the
population variance of the batch.  Bad parameter shapes and training
outputs before opset 14 must fail with a clear message.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import parse_args, run_node  # noqa: E402

ELEM = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE}


def run_model(onnxc, work, name, node, feeds, outputs, opset):
    inputs = [(k, ELEM[v.dtype.type], v.shape) for k, v in feeds.items()]
    outs = [(n, TensorProto.UNDEFINED, None) for n in outputs]
    got, err = run_node(onnxc, work, name, node, inputs, outs, feeds, opset)
    return (None, err) if got is None else ([got[n] for n in outputs], None)


class Checker:
    def __init__(self, onnxc, work):
        self.onnxc, self.work, self.count, self.failures = onnxc, work, 0, 0

    def compare(self, label, node, feeds, outputs, wants, opset=15):
        self.count += 1
        got, err = run_model(self.onnxc, self.work, "n%d" % self.count, node, feeds,
                             outputs, opset)
        ok = got is not None
        detail = err or ""
        for g, w in zip(got or [], wants):
            w = np.asarray(w, np.float64)
            g = g.astype(np.float64)
            same_nan = np.array_equal(np.isnan(g), np.isnan(w))
            finite = np.isfinite(w)
            err = float(np.max(np.abs(g[finite] - w[finite]), initial=0))
            bound = 1e-5 * max(1.0, float(np.max(np.abs(w[finite]), initial=0)))
            if not same_nan or err > bound or \
                    not np.array_equal(g[~finite & ~np.isnan(w)],
                                       w[~finite & ~np.isnan(w)]):
                ok = False
                detail += "max abs error %.3g (bound %.3g), NaNs match: %s\n" % (
                    err, bound, same_nan)
        print("%s: %s" % (label, "ok" if ok else "FAILED\n" + detail))
        self.failures += not ok

    def expect_error(self, label, node, feeds, outputs, needles, opset=15):
        self.count += 1
        got, err = run_model(self.onnxc, self.work, "n%d" % self.count, node, feeds,
                             outputs, opset)
        ok = got is None and all(n in err for n in needles)
        print("error: %s: %s" % (label, "ok" if ok else "FAILED\n" + (err or "it ran")))
        self.failures += not ok


def check_batch_norm(c, rng):
    for shape, dtype in (((2, 3), np.float32), ((2, 4, 5), np.float64),
                         ((3, 2, 4, 5), np.float32), ((1, 3, 2, 3, 2), np.float32)):
        ch = shape[1]
        x = rng.standard_normal(shape).astype(dtype)
        scale, bias, mean = (rng.standard_normal(ch).astype(dtype) for _ in range(3))
        var = rng.uniform(0.5, 2.0, ch).astype(dtype)
        feeds = {"x": x, "s": scale, "b": bias, "m": mean, "v": var}
        t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in feeds.items()}
        want = F.batch_norm(t["x"], t["m"], t["v"], t["s"], t["b"], training=False,
                            eps=1e-3)
        c.compare("BatchNormalization %s %s" % (shape, np.dtype(dtype).name),
                  helper.make_node("BatchNormalization", list("xsbmv"), ["y"],
                                   epsilon=1e-3), feeds, ["y"], [want.numpy()])

        # Training mode: batch statistics, running statistics out.
        axes = tuple(i for i in range(len(shape)) if i != 1)
        batch_mean, batch_var = x.astype(np.float64).mean(axes), x.astype(
            np.float64).var(axes)
        y = F.batch_norm(t["x"], None, None, t["s"], t["b"], training=True, eps=1e-3)
        c.compare("BatchNormalization training %s" % (shape,),
                  helper.make_node("BatchNormalization", list("xsbmv"),
                                   ["y", "rm", "rv"], epsilon=1e-3, momentum=0.8,
                                   training_mode=1),
                  feeds, ["y", "rm", "rv"],
                  [y.numpy(), mean * 0.8 + batch_mean * 0.2,
                   var * 0.8 + batch_var * 0.2])

        if len(shape) > 2:
            want = F.instance_norm(t["x"], weight=t["s"], bias=t["b"], eps=1e-4)
            c.compare("InstanceNormalization %s" % (shape,),
                      helper.make_node("InstanceNormalization", list("xsb"), ["y"],
                                       epsilon=1e-4),
                      {"x": x, "s": scale, "b": bias}, ["y"], [want.numpy()])

    x = np.zeros((2, 3, 4), np.float32)
    p3 = np.ones(3, np.float32)
    p4 = np.ones(4, np.float32)
    c.expect_error("parameter length",
                   helper.make_node("BatchNormalization", list("xsbmv"), ["y"],
                                    name="bn"),
                   {"x": x, "s": p3, "b": p3, "m": p4, "v": p3}, ["y"],
                   ["BatchNormalization node 'bn'", "input 3 [4] must be a vector "
                    "of the 3 channels"])
    c.expect_error("training outputs before opset 14",
                   helper.make_node("BatchNormalization", list("xsbmv"),
                                    ["y", "rm", "rv"]),
                   {"x": x, "s": p3, "b": p3, "m": p3, "v": p3}, ["y", "rm", "rv"],
                   ["training outputs before opset 14 are not supported"], opset=9)
    c.expect_error("statistics without training mode",
                   helper.make_node("BatchNormalization", list("xsbmv"),
                                    ["y", "rm", "rv"]),
                   {"x": x, "s": p3, "b": p3, "m": p3, "v": p3}, ["y", "rm", "rv"],
                   ["need training_mode = 1"])


def lrn_reference(x, size, alpha, beta, bias):
    """The ONNX LRN definition: channels c - floor((size-1)/2) to
    c + ceil((size-1)/2)."""
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = x.astype(np.float64) ** 2
    s = np.zeros_like(sq)
    for c in range(x.shape[1]):
        lo, hi = max(0, c - before), min(x.shape[1] - 1, c + after)
        s[:, c] = sq[:, lo:hi + 1].sum(axis=1)
    return x / (bias + alpha / size * s) ** beta


def check_lrn(c, rng):
    x = rng.standard_normal((2, 7, 3, 4)).astype(np.float32)
    for size, alpha, beta, bias in ((3, 1e-4, 0.75, 1.0), (4, 0.5, 0.6, 2.0),
                                    (1, 0.1, 1.0, 1.5)):
        want = lrn_reference(x, size, alpha, beta, bias)
        if size % 2:  # PyTorch centres odd windows the same way
            ref = F.local_response_norm(torch.from_numpy(x.astype(np.float64)), size,
                                        alpha, beta, bias).numpy()
            assert np.allclose(want, ref, atol=1e-12)
        c.compare("LRN size %d" % size,
                  helper.make_node("LRN", ["x"], ["y"], size=size, alpha=alpha,
                                   beta=beta, bias=bias), {"x": x}, ["y"], [want])
    c.expect_error("LRN without size", helper.make_node("LRN", ["x"], ["y"]),
                   {"x": x}, ["y"], ["required attribute size is missing"])


def check_activations(c, rng):
    x = np.concatenate([rng.standard_normal(200) * 3, [np.nan, np.inf, -np.inf, 0.0,
                                                       0.5, -0.5]]).astype(np.float32)
    t = torch.from_numpy(x.astype(np.float64))
    cases = [
        ("Celu alpha 0.7", helper.make_node("Celu", ["x"], ["y"], alpha=0.7),
         F.celu(t, alpha=0.7)),
        ("Shrink hard", helper.make_node("Shrink", ["x"], ["y"], lambd=0.5),
         torch.where(t.abs() > 0.5, t, torch.zeros_like(t))),
        ("Shrink soft", helper.make_node("Shrink", ["x"], ["y"], lambd=0.4, bias=0.4),
         F.softshrink(t, 0.4)),
        ("ThresholdedRelu", helper.make_node("ThresholdedRelu", ["x"], ["y"],
                                             alpha=0.3),
         torch.where(t > 0.3, t, torch.zeros_like(t))),
    ]
    for label, node, want in cases:
        c.compare(label, node, {"x": x}, ["y"], [want.numpy()])


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    c = Checker(onnxc, work)
    rng = np.random.default_rng(21)
    check_batch_norm(c, rng)
    check_lrn(c, rng)
    check_activations(c, rng)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
