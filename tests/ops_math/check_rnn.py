"""Check RNN, GRU and LSTM against PyTorch.

Usage: check_rnn.py ONNXC WORK_DIR

PyTorch exports nn.RNN (tanh and relu), nn.GRU and nn.LSTM, one and two
layers, one and two directions, batch first or not, at opset 14; onnxc
compiles the export and the outputs (all time steps and the final
states) must be within max abs error 1e-5 * max(1, max|ref|) of
PyTorch's.  A sequence_lens entry beyond the time axis must fail at run
time with a clear message, and a layout other than 0 or 1 or a clip
that is not positive at compile time.
"""

import os
import sys

import numpy as np
import torch
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import check_error, parse_args, run_model_file, run_node  # noqa: E402

CASES = [
    ("RNN", dict(nonlinearity="tanh")),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    ("GRU", dict()),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(batch_first=True)),
]


class Wrap(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        out = self.layer(x)
        states = out[1] if isinstance(out[1], tuple) else (out[1],)
        return (out[0],) + states


def check_exports(onnxc, work):
    torch.manual_seed(3)
    failures = 0
    for index, (kind, kwargs) in enumerate(CASES):
        layer = getattr(torch.nn, kind)(input_size=5, hidden_size=6, **kwargs).eval()
        shape = (2, 7, 5) if kwargs.get("batch_first") else (7, 2, 5)
        x = torch.randn(shape)
        with torch.no_grad():
            wants = [t.numpy() for t in Wrap(layer)(x)]
        name = "rnn%d" % index
        model = os.path.join(work, name + ".onnx")
        names = ["y%d" % i for i in range(len(wants))]
        torch.onnx.export(Wrap(layer), x, model, input_names=["x"], output_names=names,
                          opset_version=14)
        outs, log = run_model_file(onnxc, work, name, model, {"x": x.numpy()}, names)
        ok = outs is not None
        worst = 0.0
        for n, want in zip(names, wants):
            if not ok:
                break
            got = outs[n]
            err = float(np.max(np.abs(got - want)))
            worst = max(worst, err)
            ok = got.shape == want.shape and \
                err <= 1e-5 * max(1.0, float(np.max(np.abs(want))))
        print("%s %s: %s (max abs error %.3g)" % (kind, kwargs,
                                                  "ok" if ok else "FAILED\n" + (log or ""), worst))
        failures += not ok
    return failures


def check_errors(onnxc, work):
    w = helper.make_tensor("W", TensorProto.FLOAT, [1, 3, 2], [0.1] * 6)
    r = helper.make_tensor("R", TensorProto.FLOAT, [1, 3, 3], [0.1] * 9)
    node = helper.make_node("RNN", ["x", "W", "R", "", "lens"], ["y"], hidden_size=3,
                            name="rnn")
    got, err = run_node(onnxc, work, "e0", node,
                        [("x", TensorProto.FLOAT, [4, 2, 2]),
                         ("lens", TensorProto.INT32, [2])],
                        [("y", TensorProto.FLOAT, None)],
                        {"x": np.zeros((4, 2, 2), np.float32),
                         "lens": np.array([4, 5], np.int32)}, 14, initializers=[w, r])
    failures = not check_error("sequence length", got, err,
                               ["RNN node 'rnn'", "sequence_lens[1] is 5, outside [0, 4]"])
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=3, name="lstm")
    got, err = run_node(onnxc, work, "e1", node, [("x", TensorProto.FLOAT, [4, 2, 2])],
                        [("y", TensorProto.FLOAT, None)],
                        {"x": np.zeros((4, 2, 2), np.float32)}, 14, initializers=[w, r])
    failures += not check_error("weight shape", got, err,
                                ["LSTM node 'lstm'", "W must be f32[1,12,2], not f32[1,3,2]"])
    for index, (attrs, needle) in enumerate([
            (dict(layout=2), "layout 2 is invalid; expected 0 or 1"),
            (dict(clip=0.0), "clip 0 is invalid; the threshold must be positive"),
            (dict(clip=-1.0), "clip -1 is invalid; the threshold must be positive")]):
        node = helper.make_node("RNN", ["x", "W", "R"], ["y"], hidden_size=3, name="rnn",
                                **attrs)
        got, err = run_node(onnxc, work, "e%d" % (index + 2), node,
                            [("x", TensorProto.FLOAT, [4, 2, 2])],
                            [("y", TensorProto.FLOAT, None)],
                            {"x": np.zeros((4, 2, 2), np.float32)}, 14,
                            initializers=[w, r])
        failures += not check_error(needle, got, err, ["RNN node 'rnn'", needle])
    return failures


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    return 1 if check_exports(onnxc, work) + check_errors(onnxc, work) else 0


if __name__ == "__main__":
    sys.exit(main())
