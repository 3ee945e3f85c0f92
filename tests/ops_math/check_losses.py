"""Check NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against PyTorch.

Usage: check_losses.py ONNXC WORK_DIR

For scores of rank 2 to 5 (float32 and float64 in turn), each reduction,
with and without class weights and ignore_index, a one-node model is
compiled and run, and its loss (and SoftmaxCrossEntropyLoss's log_prob)
is compared with torch.nn.functional.nll_loss after log_softmax: max abs
error <= 1e-5 * max(1, max|ref|).  A target outside [0, C) that is not
ignore_index, a bad reduction and mismatched shapes must fail with a
clear message and a non-zero exit.
"""

import os
import sys

import numpy as np
import torch
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import parse_args, run_node  # noqa: E402

ELEM = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE}


def run_model(onnxc, work, name, node, inputs, outputs, feeds):
    return run_node(onnxc, work, name, node, inputs, outputs, feeds, 13)


def close(got, want):
    err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
    return err <= 1e-5 * max(1.0, float(np.max(np.abs(want)))), err


def check_values(onnxc, work, rng):
    failures = 0
    count = 0
    shapes = ((5, 4), (3, 4, 6), (2, 3, 4, 5), (2, 3, 2, 2, 3))
    for index, shape in enumerate(shapes):
        dtype = (np.float32, np.float64)[index % 2]
        for reduction in ("none", "sum", "mean"):
            for weighted, ignore in ((False, None), (True, 1), (False, -1),
                                     (True, -1)):
                for op in ("NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"):
                    count += 1
                    failures += not check_case(onnxc, work, rng, "c%d" % count,
                                               op, shape, dtype, reduction,
                                               weighted, ignore)
    print("%d loss cases, %d failed" % (count, failures))
    return failures


def check_case(onnxc, work, rng, name, op, shape, dtype, reduction, weighted,
               ignore):
    n, c = shape[0], shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    target = rng.integers(0, c, (n,) + shape[2:]).astype(np.int64)
    if ignore is not None:
        target.flat[::3] = ignore
    w = rng.uniform(0.5, 2.0, c).astype(dtype)
    attrs = {"reduction": reduction}
    if ignore is not None:
        attrs["ignore_index"] = ignore
    in_names = ["x", "t"] + (["w"] if weighted else [])
    sce = op == "SoftmaxCrossEntropyLoss"
    out_names = ["loss"] + (["log_prob"] if sce else [])
    node = helper.make_node(op, in_names, out_names, **attrs)
    loss_shape = list(target.shape) if reduction == "none" else []
    inputs = [("x", ELEM[dtype], list(shape)), ("t", TensorProto.INT64, list(target.shape))]
    feeds = {"x": x, "t": target}
    if weighted:
        inputs.append(("w", ELEM[dtype], [c]))
        feeds["w"] = w
    outputs = [("loss", ELEM[dtype], loss_shape)]
    if sce:
        outputs.append(("log_prob", ELEM[dtype], list(shape)))
    got, err = run_model(onnxc, work, name, node, inputs, outputs, feeds)
    label = "%s %s %s %s weights=%s ignore=%s" % (
        op, shape, np.dtype(dtype).name, reduction, weighted, ignore)
    if got is None:
        print("%s: FAILED\n%s" % (label, err))
        return False
    xt = torch.from_numpy(x.astype(np.float64))
    log_prob = torch.log_softmax(xt, dim=1) if sce else xt
    want = torch.nn.functional.nll_loss(
        log_prob, torch.from_numpy(target),
        weight=torch.from_numpy(w.astype(np.float64)) if weighted else None,
        ignore_index=-100 if ignore is None else ignore,
        reduction=reduction).numpy()
    ok, loss_err = close(got["loss"], want)
    if sce:
        ok_lp, _ = close(got["log_prob"], log_prob.numpy())
        ok = ok and ok_lp
    if not ok:
        print("%s: FAILED, loss error %.3g" % (label, loss_err))
    return ok


def check_errors(onnxc, work):
    x = np.zeros((2, 3), np.float32)
    cases = [
        ("target out of range", {}, np.array([0, 3], np.int64), (2, 3),
         ["NegativeLogLikelihoodLoss node 'loss'", "target 3 at index 1",
          "outside [0, 3)"]),
        ("negative target", {"ignore_index": 5}, np.array([-1, 0], np.int64), (2, 3),
         ["target -1 at index 0"]),
        ("bad reduction", {"reduction": "avg"}, np.array([0, 1], np.int64), (2, 3),
         ["reduction 'avg' is invalid"]),
        ("target shape", {}, np.array([0, 1, 2], np.int64), (2, 3),
         ["value 't' (i64[3])", "must have the scores' shape [2,3] without its "
          "class axis 1"]),
    ]
    failures = 0
    for index, (label, attrs, target, shape, needles) in enumerate(cases):
        node = helper.make_node("NegativeLogLikelihoodLoss", ["x", "t"], ["y"],
                                name="loss", **attrs)
        got, err = run_model(onnxc, work, "e%d" % index, node,
                             [("x", TensorProto.FLOAT, list(shape)),
                              ("t", TensorProto.INT64, list(target.shape))],
                             [("y", TensorProto.FLOAT, None)],
                             {"x": x, "t": target})
        ok = got is None and all(n in err for n in needles)
        print("error: %s: %s" % (label, "ok" if ok else "FAILED\n" + (err or "it ran")))
        failures += not ok
    return failures


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    rng = np.random.default_rng(12)
    failures = check_values(onnxc, work, rng) + check_errors(onnxc, work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
