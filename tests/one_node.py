"""Compile and run a one-node ONNX model with onnxc, for the op checks."""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper


def run_node(onnxc, work, name, node, inputs, outputs, feeds, opset,
             initializers=()):
    """Save node as model NAME, compile it, run it on feeds (name -> array).

    inputs and outputs list (name, TensorProto dtype, shape) triples, and
    initializers are TensorProtos.
    Returns ({output name: array}, None), or (None, the failing command's
    output) when compiling or running fails.
    """
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        list(initializers))
    model = os.path.join(work, name + ".onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]),
              model)
    return run_model_file(onnxc, work, name, model, feeds, [n for n, _, _ in outputs])


def run_model_file(onnxc, work, name, model, feeds, outputs):
    """Compile the model file, run it on feeds (name -> array) and load the
    named outputs.  Returns ({output name: array}, None), or (None, the
    failing command's output)."""
    lib = os.path.join(work, "lib%s.so" % name)
    out = os.path.join(work, name + "_out")
    run = [onnxc, "run", lib, "-o", out]
    for key, value in feeds.items():
        path = os.path.join(work, "%s_%s.npy" % (name, key))
        np.save(path, value)
        run += ["-i", "%s=%s" % (key, path)]
    for args in ([onnxc, "compile", model, "-o", lib, "--name", "m"], run):
        result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True)
        if result.returncode != 0:
            return None, result.stdout
    return {n: np.load(os.path.join(out, n + ".npy")) for n in outputs}, None


def parse_args(usage):
    """Return (onnxc, work dir) from the command line, creating the work dir,
    or None after printing usage when the arguments are wrong."""
    if len(sys.argv) != 3:
        print(usage)
        return None
    onnxc, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    return onnxc, work


def check_error(label, got, err, needles):
    """Print whether a run failed with a message containing every needle;
    return True when it did."""
    ok = got is None and all(n in err for n in needles)
    print("error: %s: %s" % (label, "ok" if ok else "FAILED\n" + (err or "it ran")))
    return ok
