"""Check the results that the memory plan makes views of their operand.

Usage: check_views.py ONNXC WORK_DIR

Builds small ONNX models with onnx.helper in which Reshape, Squeeze,
Unsqueeze, Split and Slice results share their operand's bytes.  The views
are chained, are graph outputs, and are read after later ops that would
reuse the base value's bytes if its live range ended at its last direct
reader.  Each model is compiled, --stats must report the expected number
of views, and every output must equal numpy's evaluation exactly.
"""

import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def ints(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def model_live_range():
    """A Slice of rows is read after later ops fill the arena."""
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Slice", ["a", "s0", "e0", "ax0"], ["rows"]),
        helper.make_node("Reshape", ["rows", "flat"], ["rows_flat"]),
        helper.make_node("Mul", ["x", "x"], ["t1"]),
        helper.make_node("Neg", ["t1"], ["t2"]),
        helper.make_node("Abs", ["t2"], ["t3"]),
        helper.make_node("Slice", ["t3", "s0", "e0", "ax0"], ["t3_rows"]),
        helper.make_node("Reshape", ["t3_rows", "flat"], ["t3_flat"]),
        helper.make_node("Add", ["rows_flat", "t3_flat"], ["y"]),
    ]
    inits = [ints("s0", [1]), ints("e0", [3]), ints("ax0", [0]),
             ints("flat", [-1])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [12])
    graph = helper.make_graph(nodes, "live", [x], [y], inits)

    def reference(x):
        a = np.maximum(x, 0)
        t3 = np.abs(-(x * x))
        return {"y": (a[1:3].reshape(-1) + t3[1:3].reshape(-1))}

    # Both Slices and both Reshapes are views.
    return graph, [("x", (4, 6))], reference, 4


def model_not_contiguous():
    """Column slices, a reversed slice and a Split on axis 1 are copies.
    A Split after a leading axis of 1 and a Squeeze are views."""
    nodes = [
        helper.make_node("Slice", ["x", "s1", "e1", "ax1"], ["cols"]),
        helper.make_node("Slice", ["x", "rs", "re", "ax0", "neg"], ["rev"]),
        helper.make_node("Split", ["x"], ["l", "r"], axis=1),
        helper.make_node("Unsqueeze", ["x", "ax0"], ["x1"]),
        helper.make_node("Split", ["x1"], ["p", "q"], axis=1),
        helper.make_node("Squeeze", ["q", "ax0"], ["q0"]),
        helper.make_node("Mul", ["q0", "q0"], ["q_sq"]),
    ]
    inits = [ints("s1", [2]), ints("e1", [5]), ints("ax1", [1]),
             ints("rs", [-1]), ints("re", [-100]), ints("ax0", [0]),
             ints("neg", [-1])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ("cols", "rev", "l", "r", "p", "q_sq")]
    graph = helper.make_graph(nodes, "copies", [x], outs, inits)

    def reference(x):
        return {"cols": x[:, 2:5], "rev": x[::-1], "l": x[:, :3],
                "r": x[:, 3:], "p": x[None][:, :2], "q_sq": x[2:] * x[2:]}

    # Unsqueeze, the second Split (both parts) and Squeeze.
    return graph, [("x", (4, 6))], reference, 3


def model_input_output():
    """Views of a graph input that are graph outputs themselves."""
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("Slice", ["x", "s", "e", "ax"], ["one"]),
        helper.make_node("Identity", ["x"], ["same"]),
    ]
    inits = [ints("s", [1, 2]), ints("e", [2, 3]), ints("ax", [0, 1])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4, 5])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ("f", "one", "same")]
    graph = helper.make_graph(nodes, "io", [x], outs, inits)

    def reference(x):
        return {"f": x.reshape(3, 20), "one": x[1:2, 2:3], "same": x}

    # The Flatten, the Slice of one element and the Identity are views.
    return graph, [("x", (3, 4, 5))], reference, 3


def model_transpose():
    """Transposes that move only axes of size 1 are views; others copy."""
    nodes = [
        helper.make_node("Transpose", ["a"], ["a_t"], perm=[1, 0, 2]),
        helper.make_node("Transpose", ["b"], ["b_t"], perm=[0, 2, 1]),
        helper.make_node("Transpose", ["c"], ["c_t"], perm=[1, 0, 2]),
        helper.make_node("Neg", ["a_t"], ["a_neg"]),
    ]
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
           for n, shape in (("a", [1, 4, 3]), ("b", [2, 1, 3]), ("c", [2, 4, 3]))]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ("a_neg", "b_t", "c_t")]
    graph = helper.make_graph(nodes, "transpose", ins, outs)

    def reference(a, b, c):
        return {"a_neg": -np.transpose(a, (1, 0, 2)),
                "b_t": np.transpose(b, (0, 2, 1)),
                "c_t": np.transpose(c, (1, 0, 2))}

    # The first two Transposes; the third swaps axes of sizes 2 and 4.
    return graph, [("a", (1, 4, 3)), ("b", (2, 1, 3)), ("c", (2, 4, 3))], reference, 2


MODELS = {
    "live_range": model_live_range,
    "not_contiguous": model_not_contiguous,
    "input_output": model_input_output,
    "transpose": model_transpose,
}


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    print(result.stdout, end="")
    return result


def check(onnxc, work, name, rng):
    graph, inputs, reference, want_views = MODELS[name]()
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    lib = os.path.join(work, "lib%s.so" % name)
    built = run([onnxc, "compile", path, "-o", lib, "--name", "m", "--stats"])
    if built.returncode != 0:
        return ["%s: compile failed" % name]
    errors = []
    found = re.search(r"ops made views, no call\s+(\d+)", built.stdout)
    views = int(found.group(1)) if found else -1
    if views != want_views:
        errors.append("%s: %d views, expected %d" % (name, views, want_views))
    feeds, values = [], {}
    for input_name, shape in inputs:
        values[input_name] = rng.standard_normal(shape).astype(np.float32)
        npy = os.path.join(work, "%s_%s.npy" % (name, input_name))
        np.save(npy, values[input_name])
        feeds += ["-i", "%s=%s" % (input_name, npy)]
    out_dir = os.path.join(work, name + "_out")
    if run([onnxc, "run", lib, "-o", out_dir] + feeds).returncode != 0:
        return errors + ["%s: run failed" % name]
    for out_name, want in reference(**values).items():
        got = np.load(os.path.join(out_dir, out_name + ".npy"))
        if got.shape != want.shape or not np.array_equal(got, want):
            errors.append("%s: output %s differs\n got %s\n want %s"
                          % (name, out_name, got, want))
    return errors


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    onnxc, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    errors = []
    for name in MODELS:
        errors += check(onnxc, work, name, rng)
    for e in errors:
        print("FAILED: " + e)
    if not errors:
        print("%d models: views and values as expected" % len(MODELS))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
