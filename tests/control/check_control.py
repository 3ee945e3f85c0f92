"""Compile models with If and Loop whose control is known at compile time,
run them and compare with numpy, and check that every other use of If and
Loop fails with an error that names the op and the node.

Usage: check_control.py ONNXC WORK_DIR
"""

import os
import re
import subprocess
import sys

import numpy
import onnx
from onnx import TensorProto, helper, numpy_helper

failures = []
checks = []


def report(name, ok, details):
    checks.append(name)
    print("%s %s" % ("ok  " if ok else "FAIL", name))
    if not ok:
        for line in details:
            print("  " + line)
        failures.append(name)


def save_model(path, nodes, inputs, outputs, initializers=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def tensor_info(name, dtype=TensorProto.FLOAT, shape=None):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, array):
    return helper.make_node("Constant", [], [name],
                            value=numpy_helper.from_array(array, name))


def check_run(name, onnxc, work, model, inputs, expected):
    """Compile model, run it on inputs and compare every output."""
    lib = os.path.join(work, name + ".so")
    result = subprocess.run([onnxc, "compile", model, "-o", lib],
                            stderr=subprocess.PIPE, universal_newlines=True)
    if result.returncode != 0:
        report(name, False, ["compile failed: " + result.stderr.strip()])
        return
    cmd = [onnxc, "run", lib, "--rtol", "1e-6", "--atol", "1e-6"]
    for key, array in inputs.items():
        path = os.path.join(work, "%s_%s.npy" % (name, key))
        numpy.save(path, array)
        cmd += ["-i", "%s=%s" % (key, path)]
    for key, array in expected.items():
        path = os.path.join(work, "%s_want_%s.npy" % (name, key))
        numpy.save(path, array)
        cmd += ["--expect", "%s=%s" % (key, path)]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    report(name, result.returncode == 0,
           ["command: " + " ".join(cmd), "stderr: " + result.stderr.strip()])


def check_error(name, onnxc, work, model, pattern):
    """Compiling model must fail with exit code 1 and match pattern."""
    cmd = [onnxc, "compile", model, "-o", os.path.join(work, name + ".so")]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    ok = result.returncode == 1 and re.search(pattern, result.stderr)
    report(name, ok, ["exit code %d, stderr: %s" % (result.returncode,
                                                    result.stderr.strip()),
                      "expected stderr to match: " + pattern])


def if_on_shape(path):
    """y = x * 2 if x has 6 elements, else x + 1.  Both branches read x."""
    then_body = helper.make_graph(
        [const("two", numpy.array(2, numpy.float32)),
         helper.make_node("Mul", ["x", "two"], ["t"])],
        "then", [], [tensor_info("t")])
    else_body = helper.make_graph(
        [const("one", numpy.array(1, numpy.float32)),
         helper.make_node("Add", ["x", "one"], ["e"])],
        "else", [], [tensor_info("e")])
    nodes = [
        helper.make_node("Size", ["x"], ["n"]),
        const("six", numpy.array(6, numpy.int64)),
        helper.make_node("Equal", ["n", "six"], ["c"]),
        helper.make_node("If", ["c"], ["y"], name="pick",
                         then_branch=then_body, else_branch=else_body),
    ]
    save_model(path, nodes, [tensor_info("x", shape=[2, 3])],
               [tensor_info("y", shape=[2, 3])])


def loop_over_rows(path):
    """Sum the rows of x with M = x.shape[0]; scan out the partial sums.

    The body's condition, iteration < 10, folds to a constant every time.
    """
    body = helper.make_graph(
        [helper.make_node("Gather", ["x", "i"], ["row"], axis=0),
         helper.make_node("Add", ["acc", "row"], ["acc_out"]),
         const("ten", numpy.array(10, numpy.int64)),
         helper.make_node("Less", ["i", "ten"], ["cond_out"]),
         helper.make_node("Identity", ["acc_out"], ["partial"])],
        "body",
        [tensor_info("i", TensorProto.INT64, []),
         tensor_info("cond", TensorProto.BOOL, []), tensor_info("acc")],
        [tensor_info("cond_out", TensorProto.BOOL, []), tensor_info("acc_out"),
         tensor_info("partial")])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        const("zero", numpy.array(0, numpy.int64)),
        helper.make_node("Gather", ["shape", "zero"], ["m"], axis=0),
        const("yes", numpy.array(True)),
        const("init", numpy.zeros(4, numpy.float32)),
        helper.make_node("Loop", ["m", "yes", "init"], ["total", "partials"],
                         name="rows", body=body),
    ]
    save_model(path, nodes, [tensor_info("x", shape=[3, 4])],
               [tensor_info("total", shape=[4]),
                tensor_info("partials", shape=[3, 4])])


def doubling_loop(path, name, cond_nodes):
    """A Loop without M that doubles y while cond_nodes compute a true
    cond_out from the iteration number i or from y."""
    body = helper.make_graph(
        cond_nodes + [helper.make_node("Add", ["y", "y"], ["y_out"])],
        "body",
        [tensor_info("i", TensorProto.INT64, []),
         tensor_info("cond", TensorProto.BOOL, []), tensor_info("y")],
        [tensor_info("cond_out", TensorProto.BOOL, []), tensor_info("y_out")])
    nodes = [const("yes", numpy.array(True)),
             helper.make_node("Loop", ["", "yes", "x"], ["y"], name=name,
                              body=body)]
    save_model(path, nodes, [tensor_info("x", shape=[2])],
               [tensor_info("y", shape=[2])])


def while_loop(path):
    """Double y while iteration + 1 < 4, so four times."""
    doubling_loop(path, "doubling",
                  [const("one", numpy.array(1, numpy.int64)),
                   helper.make_node("Add", ["i", "one"], ["next"]),
                   const("four", numpy.array(4, numpy.int64)),
                   helper.make_node("Less", ["next", "four"], ["cond_out"])])


def nested(path):
    """A Loop whose body contains an If: add x on even iterations, subtract
    it on odd ones.  x comes from the main graph through both levels."""
    then_body = helper.make_graph([helper.make_node("Add", ["acc", "x"], ["t"])],
                                  "then", [], [tensor_info("t")])
    else_body = helper.make_graph([helper.make_node("Sub", ["acc", "x"], ["e"])],
                                  "else", [], [tensor_info("e")])
    body = helper.make_graph(
        [const("two", numpy.array(2, numpy.int64)),
         helper.make_node("Mod", ["i", "two"], ["parity"]),
         const("zero", numpy.array(0, numpy.int64)),
         helper.make_node("Equal", ["parity", "zero"], ["even"]),
         helper.make_node("If", ["even"], ["acc_out"], name="sign",
                          then_branch=then_body, else_branch=else_body),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body",
        [tensor_info("i", TensorProto.INT64, []),
         tensor_info("cond", TensorProto.BOOL, []), tensor_info("acc")],
        [tensor_info("cond_out", TensorProto.BOOL, []), tensor_info("acc_out")])
    nodes = [const("m", numpy.array(5, numpy.int64)),
             const("init", numpy.zeros(3, numpy.float32)),
             helper.make_node("Loop", ["m", "", "init"], ["y"], name="alternate",
                              body=body)]
    save_model(path, nodes, [tensor_info("x", shape=[3])],
               [tensor_info("y", shape=[3])])


def loop_with_input_count(path, trip_count_input):
    """y = x + M, one Add per iteration, with M an initializer or an input."""
    body = helper.make_graph(
        [const("one", numpy.array(1, numpy.float32)),
         helper.make_node("Add", ["y", "one"], ["y_out"]),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body",
        [tensor_info("i", TensorProto.INT64, []),
         tensor_info("cond", TensorProto.BOOL, []), tensor_info("y")],
        [tensor_info("cond_out", TensorProto.BOOL, []), tensor_info("y_out")])
    nodes = [helper.make_node("Loop", ["m", "", "x"], ["y"], name="counter",
                              body=body)]
    inputs = [tensor_info("x", shape=[2])]
    initializers = []
    if trip_count_input is None:
        inputs.append(tensor_info("m", TensorProto.INT64, []))
    else:
        initializers.append(numpy_helper.from_array(
            numpy.array(trip_count_input, numpy.int64), "m"))
    save_model(path, nodes, inputs, [tensor_info("y", shape=[2])],
               initializers)


def condition_from_data(path):
    """A while loop whose condition reads the input's values."""
    doubling_loop(path, "grow",
                  [helper.make_node("ReduceSum", ["y"], ["s"], keepdims=0),
                   const("limit", numpy.array(100, numpy.float32)),
                   helper.make_node("Less", ["s", "limit"], ["cond_out"])])


def if_on_input(path):
    then_body = helper.make_graph([helper.make_node("Neg", ["x"], ["t"])],
                                  "then", [], [tensor_info("t")])
    else_body = helper.make_graph([helper.make_node("Abs", ["x"], ["e"])],
                                  "else", [], [tensor_info("e")])
    nodes = [helper.make_node("If", ["c"], ["y"], name="branch",
                              then_branch=then_body, else_branch=else_body)]
    save_model(path, nodes,
               [tensor_info("c", TensorProto.BOOL, []), tensor_info("x", shape=[2])],
               [tensor_info("y", shape=[2])])


def deep_ifs(path, depth):
    """If inside the then branch of If, depth levels; x passes through."""
    leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])],
                             "leaf", [], [tensor_info("t")])
    then_body = leaf
    for level in range(depth):
        nodes = [const("c%d" % level, numpy.array(True)),
                 helper.make_node("If", ["c%d" % level], ["r%d" % level],
                                  name="if%d" % level, then_branch=then_body,
                                  else_branch=leaf)]
        then_body = helper.make_graph(nodes, "level%d" % level, [],
                                      [tensor_info("r%d" % level)])
    graph = helper.make_graph(then_body.node, "g", [tensor_info("x", shape=[2])],
                              [tensor_info("r%d" % (depth - 1), shape=[2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


def main():
    onnxc, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    path = lambda name: os.path.join(work, name + ".onnx")
    rng = numpy.random.default_rng(7)

    x = rng.standard_normal((2, 3)).astype(numpy.float32)
    if_on_shape(path("if_on_shape"))
    check_run("if_on_shape", onnxc, work, path("if_on_shape"), {"x": x},
              {"y": x * 2})

    x = rng.standard_normal((3, 4)).astype(numpy.float32)
    loop_over_rows(path("loop_rows"))
    check_run("loop_rows", onnxc, work, path("loop_rows"), {"x": x},
              {"total": x.sum(axis=0), "partials": numpy.cumsum(x, axis=0)})

    x = numpy.array([1.5, -3], numpy.float32)
    while_loop(path("while_loop"))
    check_run("while_loop", onnxc, work, path("while_loop"), {"x": x},
              {"y": x * 16})

    x = numpy.array([1, 2, -4], numpy.float32)
    nested(path("nested"))
    # Iterations 0, 2, 4 add x and 1, 3 subtract it: x in all.
    check_run("loop_with_nested_if", onnxc, work, path("nested"), {"x": x},
              {"y": x})

    loop_with_input_count(path("zero_trips"), 0)
    check_run("loop_zero_trips", onnxc, work, path("zero_trips"),
              {"x": x[:2]}, {"y": x[:2]})

    # A negative trip count runs no iteration, as for i < M does.
    loop_with_input_count(path("negative_trips"), -3)
    check_run("loop_negative_trips", onnxc, work, path("negative_trips"),
              {"x": x[:2]}, {"y": x[:2]})

    loop_with_input_count(path("trip_input"), None)
    check_error("loop_trip_count_input", onnxc, work, path("trip_input"),
                r"Loop node 'counter'.*input 0 \(M\) must be a constant.*"
                r"not supported")

    loop_with_input_count(path("too_long"), 5000)
    check_error("loop_too_many_iterations", onnxc, work, path("too_long"),
                r"Loop node 'counter'.*more than 4096 iterations")

    condition_from_data(path("data_cond"))
    check_error("loop_condition_from_data", onnxc, work, path("data_cond"),
                r"Loop node 'grow'.*iteration 0 is not a constant.*"
                r"not supported")

    if_on_input(path("if_input"))
    check_error("if_condition_input", onnxc, work, path("if_input"),
                r"If node 'branch'.*input 0 \(cond\) must be a constant.*"
                r"not supported")

    deep_ifs(path("deep_ifs"), 8)
    x = numpy.array([3, -1], numpy.float32)
    check_run("if_nested_8_deep", onnxc, work, path("deep_ifs"), {"x": x},
              {"r7": x})
    deep_ifs(path("too_deep"), 100)
    check_error("if_nested_too_deep", onnxc, work, path("too_deep"),
                r"If node 'if\d+'.*nest more than 64 deep")

    print("%d passed, %d failed" % (len(checks) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
