"""Compile models with sequence and optional values whose length and
presence are known at compile time, run them and compare with numpy.
Run a backend-style test folder whose data files are SequenceProto and
OptionalProto messages.  Check that unsupported uses fail with an error
that names the op, the node and the value.

Usage: check_sequence.py ONNXC WORK_DIR
"""

import os
import re
import shutil
import subprocess
import sys

import numpy
import onnx
from onnx import TensorProto, helper, numpy_helper

failures = []
checks = []
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


def report(name, ok, details):
    checks.append(name)
    print("%s %s" % ("ok  " if ok else "FAIL", name))
    if not ok:
        for line in details:
            print("  " + line)
        failures.append(name)


def save_model(path, nodes, inputs, outputs, opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def tensor_info(name, dtype=FLOAT, shape=None):
    return helper.make_tensor_value_info(name, dtype, shape)


def seq_info(name, dtype=FLOAT, shape=None):
    return helper.make_tensor_sequence_value_info(name, dtype, shape)


def opt_info(name, dtype=FLOAT, shape=None, sequence=False):
    inner = helper.make_tensor_type_proto(dtype, shape)
    if sequence:
        inner = helper.make_sequence_type_proto(inner)
    return helper.make_value_info(name, helper.make_optional_type_proto(inner))


def const(name, array):
    return helper.make_node("Constant", [], [name],
                            value=numpy_helper.from_array(array, name))


def compile_model(onnxc, model, lib, flags):
    return subprocess.run([onnxc, "compile", model, "-o", lib] + flags,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


def check_run(name, onnxc, work, model, flags, inputs, expected):
    """Compile model with flags, run it on inputs and compare outputs."""
    stem = name.replace(" ", "_")
    lib = os.path.join(work, stem + ".so")
    result = compile_model(onnxc, model, lib, flags)
    if result.returncode != 0:
        report(name, False, ["compile failed: " + result.stderr.strip()])
        return
    cmd = [onnxc, "run", lib, "--rtol", "1e-6", "--atol", "1e-6"]
    for i, (key, array) in enumerate(inputs.items()):
        path = os.path.join(work, "%s_in%d.npy" % (stem, i))
        numpy.save(path, array)
        cmd += ["-i", "%s=%s" % (key, path)]
    for i, (key, array) in enumerate(expected.items()):
        path = os.path.join(work, "%s_want%d.npy" % (stem, i))
        numpy.save(path, array)
        cmd += ["--expect", "%s=%s" % (key, path)]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    report(name, result.returncode == 0,
           ["command: " + " ".join(cmd), "stderr: " + result.stderr.strip()])


def check_error(name, onnxc, work, model, flags, pattern, code=1):
    """Compiling model must fail with the given exit code and match
    pattern."""
    lib = os.path.join(work, name.replace(" ", "_") + ".so")
    result = compile_model(onnxc, model, lib, flags)
    ok = result.returncode == code and re.search(pattern, result.stderr)
    report(name, ok, ["exit code %d, stderr: %s" % (result.returncode,
                                                    result.stderr.strip()),
                      "expected stderr to match: " + pattern])


def check_header(name, work, lib_name, names):
    """The generated header must list the expanded tensors by name."""
    with open(os.path.join(work, lib_name + ".h")) as f:
        text = f.read()
    missing = [w for w in names if '"%s"' % w not in text]
    report(name, not missing, ["not in the header: " + ", ".join(missing)])


def identity_model(path, shape=(2, 3)):
    """y = Identity(x) for a sequence x of tensors of shape (by default
    [2, 3]; None for no declared shape)."""
    shape = None if shape is None else list(shape)
    save_model(path, [helper.make_node("Identity", ["x"], ["y"], name="id")],
               [seq_info("x", FLOAT, shape)], [seq_info("y", FLOAT, shape)])


def sequence_ops_model(path):
    """Build [a, 2a, b] with SequenceConstruct and SequenceInsert, then
    read it back with SequenceAt, SequenceLength, SequenceErase and
    ConcatFromSequence with and without a new axis."""
    nodes = [
        helper.make_node("SequenceConstruct", ["a", "b"], ["s"], name="make"),
        helper.make_node("Add", ["a", "a"], ["a2"]),
        const("one", numpy.array(1, numpy.int64)),
        helper.make_node("SequenceInsert", ["s", "a2", "one"], ["s2"],
                         name="insert"),
        const("minus_two", numpy.array(-2, numpy.int32)),
        helper.make_node("SequenceAt", ["s2", "minus_two"], ["at"], name="at"),
        helper.make_node("SequenceLength", ["s2"], ["n"], name="len"),
        helper.make_node("ConcatFromSequence", ["s2"], ["cat"], axis=1),
        helper.make_node("ConcatFromSequence", ["s2"], ["stack"], axis=-1,
                         new_axis=1),
        helper.make_node("SequenceErase", ["s2"], ["s3"], name="erase"),
        helper.make_node("SequenceEmpty", [], ["empty"], dtype=FLOAT),
        helper.make_node("SequenceInsert", ["empty", "b"], ["s4"]),
        helper.make_node("SequenceInsert", ["s4", "a"], ["s5"]),
    ]
    save_model(path, nodes,
               [tensor_info("a", FLOAT, [2, 3]), tensor_info("b", FLOAT, [2, 3])],
               [tensor_info("at", FLOAT, [2, 3]), tensor_info("n", INT64, []),
                tensor_info("cat", FLOAT, [2, 9]),
                tensor_info("stack", FLOAT, [2, 3, 3]),
                seq_info("s3", FLOAT, [2, 3]), seq_info("s5", FLOAT, [2, 3])])


def split_model(path):
    """SplitToSequence with sizes, with a chunk size and without split."""
    nodes = [
        const("sizes", numpy.array([1, 2, 3], numpy.int64)),
        helper.make_node("SplitToSequence", ["x", "sizes"], ["parts"], axis=0),
        const("chunk", numpy.array(4, numpy.int64)),
        helper.make_node("SplitToSequence", ["x", "chunk"], ["chunks"],
                         axis=0),
        helper.make_node("SplitToSequence", ["x"], ["cols"], axis=1,
                         keepdims=0),
    ]
    save_model(path, nodes, [tensor_info("x", FLOAT, [6, 2])],
               [seq_info("parts", FLOAT, [None, 2]),
                seq_info("chunks", FLOAT, [None, 2]),
                seq_info("cols", FLOAT, [6])])


def split_axis_model(path, axis, shape, sizes=None):
    """SplitToSequence of an input of the given shape along axis, into
    pieces of the given sizes or of size 1."""
    nodes = [helper.make_node("SplitToSequence", ["x"], ["parts"], axis=axis,
                              name="cut")]
    if sizes is not None:
        nodes = [const("sizes", numpy.array(sizes, numpy.int64)),
                 helper.make_node("SplitToSequence", ["x", "sizes"], ["parts"],
                                  axis=axis, name="cut")]
    save_model(path, nodes, [tensor_info("x", FLOAT, shape)],
               [seq_info("parts", FLOAT, None)])


def optional_model(path):
    """Whether opt contains a value, and opt + 1 when it does."""
    nodes = [
        helper.make_node("OptionalHasElement", ["opt"], ["has"], name="has"),
        helper.make_node("OptionalGetElement", ["opt"], ["v"], name="get"),
        const("one", numpy.array(1, numpy.float32)),
        helper.make_node("Add", ["v", "one"], ["y"]),
    ]
    save_model(path, nodes, [opt_info("opt", FLOAT, [3])],
               [tensor_info("has", TensorProto.BOOL, []),
                tensor_info("y", FLOAT, [3])])


def has_element_model(path, sequence=False):
    """Only whether opt (a tensor, or with sequence a sequence) contains a
    value, so an absent opt compiles too."""
    nodes = [helper.make_node("OptionalHasElement", ["opt"], ["has"])]
    save_model(path, nodes, [opt_info("opt", FLOAT, [3], sequence)],
               [tensor_info("has", TensorProto.BOOL, [])])


def sequence_map_model(path):
    """y[i] = x[i] * t + x[i], and z[i] = the shape of x[i]."""
    body = helper.make_graph(
        [helper.make_node("Mul", ["xi", "ti"], ["m"]),
         helper.make_node("Add", ["m", "xi"], ["yi"]),
         helper.make_node("Shape", ["xi"], ["zi"])],
        "body", [tensor_info("xi", FLOAT, ["N"]), tensor_info("ti", FLOAT, ["N"])],
        [tensor_info("yi", FLOAT, ["N"]), tensor_info("zi", INT64, [1])])
    nodes = [helper.make_node("SequenceMap", ["x", "t"], ["y", "z"],
                              name="map", body=body)]
    save_model(path, nodes, [seq_info("x", FLOAT, ["N"]),
                             tensor_info("t", FLOAT, ["N"])],
               [seq_info("y", FLOAT, ["N"]), seq_info("z", INT64, [1])])


def bad_dtype_model(path):
    """SequenceConstruct of a float and an int64 tensor."""
    save_model(path, [helper.make_node("SequenceConstruct", ["a", "b"], ["s"],
                                       name="mixed"),
                      helper.make_node("ConcatFromSequence", ["s"], ["y"],
                                       axis=0)],
               [tensor_info("a", FLOAT, [2]), tensor_info("b", INT64, [2])],
               [tensor_info("y", FLOAT, [4])])


def at_model(path, position, as_input=False):
    """SequenceAt(SequenceConstruct(a, b), position)."""
    nodes = [helper.make_node("SequenceConstruct", ["a", "b"], ["s"])]
    inputs = [tensor_info("a", FLOAT, [2]), tensor_info("b", FLOAT, [2])]
    if as_input:
        inputs.append(tensor_info("p", INT64, []))
    else:
        nodes.append(const("p", numpy.array(position, numpy.int64)))
    nodes.append(helper.make_node("SequenceAt", ["s", "p"], ["y"], name="pick"))
    save_model(path, nodes, inputs, [tensor_info("y", FLOAT, [2])])


def sequence_into_add_model(path):
    """Add reads a sequence where it takes a tensor."""
    save_model(path, [helper.make_node("Add", ["x", "x"], ["y"], name="sum")],
               [seq_info("x", FLOAT, [2])], [tensor_info("y", FLOAT, [2])])


def if_sequence_model(path, cond_input=False):
    """An If whose branches return sequences: [a] when the condition is
    true, else [a, a].  The condition is true, or an input."""
    then_body = helper.make_graph(
        [helper.make_node("SequenceConstruct", ["a"], ["t"])], "then", [],
        [seq_info("t", FLOAT, [2])])
    else_body = helper.make_graph(
        [helper.make_node("SequenceConstruct", ["a", "a"], ["e"])], "else",
        [], [seq_info("e", FLOAT, [2])])
    nodes = [helper.make_node("If", ["c"], ["y"], name="choose",
                              then_branch=then_body, else_branch=else_body)]
    inputs = [tensor_info("a", FLOAT, [2])]
    if cond_input:
        inputs.append(tensor_info("c", TensorProto.BOOL, []))
    else:
        nodes.insert(0, const("c", numpy.array(True)))
    save_model(path, nodes, inputs, [seq_info("y", FLOAT, [2])])


def loop_sequence_model(path, count_input=False):
    """A Loop over the elements of x, as ONNX expands SequenceMap: it
    appends x[i] * 2 to a sequence that starts empty, and scans out
    x[i] + 1.  The trip count is SequenceLength(x), or an input."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("SequenceAt", ["x", "i"], ["xi"]),
         helper.make_node("Add", ["xi", "xi"], ["twice"]),
         helper.make_node("SequenceInsert", ["acc_in", "twice"], ["acc_out"]),
         const("one", numpy.array(1, numpy.float32)),
         helper.make_node("Add", ["xi", "one"], ["plus_one"])],
        "body",
        [tensor_info("i", INT64, []), tensor_info("cond_in", TensorProto.BOOL, []),
         seq_info("acc_in", FLOAT, [3])],
        [tensor_info("cond_out", TensorProto.BOOL, []),
         seq_info("acc_out", FLOAT, [3]), tensor_info("plus_one", FLOAT, [3])])
    nodes = [helper.make_node("SequenceEmpty", [], ["empty"], dtype=FLOAT),
             const("yes", numpy.array(True)),
             helper.make_node("Loop", ["n", "yes", "empty"], ["y", "scan"],
                              name="over", body=body)]
    inputs = [seq_info("x", FLOAT, [3])]
    if count_input:
        inputs.append(tensor_info("n", INT64, []))
    else:
        nodes.insert(0, helper.make_node("SequenceLength", ["x"], ["n"]))
    save_model(path, nodes, inputs,
               [seq_info("y", FLOAT, [3]), tensor_info("scan", FLOAT, [None, 3])])


def endless_loop_model(path, trip=1 << 40):
    """A Loop with trip count trip (by default huge) that appends to a
    sequence."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("SequenceInsert", ["acc_in", "a"], ["acc_out"])],
        "body",
        [tensor_info("i", INT64, []), tensor_info("cond_in", TensorProto.BOOL, []),
         seq_info("acc_in", FLOAT, [2])],
        [tensor_info("cond_out", TensorProto.BOOL, []),
         seq_info("acc_out", FLOAT, [2])])
    nodes = [helper.make_node("SequenceEmpty", [], ["empty"], dtype=FLOAT),
             const("n", numpy.array(trip, numpy.int64)),
             helper.make_node("Loop", ["n", "", "empty"], ["s"], name="grow",
                              body=body),
             helper.make_node("SequenceLength", ["s"], ["y"])]
    save_model(path, nodes, [tensor_info("a", FLOAT, [2])],
               [tensor_info("y", INT64, [])])


def write_backend_test(folder, rng):
    """A folder as the ONNX backend tests lay it out: a SequenceMap model
    whose elements differ in length, with SequenceProto and OptionalProto
    data files, one of them an absent optional."""
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data)
    body = helper.make_graph(
        [helper.make_node("Neg", ["xi"], ["yi"])], "body",
        [tensor_info("xi", FLOAT, ["N"])], [tensor_info("yi", FLOAT, ["N"])])
    nodes = [helper.make_node("SequenceMap", ["x"], ["y"], body=body),
             helper.make_node("OptionalHasElement", ["o"], ["has"])]
    save_model(os.path.join(folder, "model.onnx"), nodes,
               [seq_info("x", FLOAT, ["N"]), opt_info("o", INT64, [2])],
               [seq_info("y", FLOAT, ["N"]),
                tensor_info("has", TensorProto.BOOL, [])])
    xs = [rng.standard_normal(n).astype(numpy.float32) for n in (3, 1, 4)]

    def write(name, proto):
        with open(os.path.join(data, name), "wb") as f:
            f.write(proto.SerializeToString())

    write("input_0.pb", numpy_helper.from_list(xs, "x"))
    write("input_1.pb", numpy_helper.from_optional(None, "o",
                                                   onnx.OptionalProto.TENSOR))
    write("output_0.pb", numpy_helper.from_list([-x for x in xs], "y"))
    write("output_1.pb", numpy_helper.from_array(numpy.array(False), "has"))


def write_string_backend_test(folder, nul=False):
    """A backend test folder whose SequenceProto and OptionalProto data
    files contain string tensors; with nul, a string contains a NUL byte."""
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data)
    nodes = [helper.make_node("ConcatFromSequence", ["x"], ["y"], axis=0),
             helper.make_node("OptionalGetElement", ["o"], ["z"])]
    save_model(os.path.join(folder, "model.onnx"), nodes,
               [seq_info("x", TensorProto.STRING, [2]),
                opt_info("o", TensorProto.STRING, [1])],
               [tensor_info("y", TensorProto.STRING, [4]),
                tensor_info("z", TensorProto.STRING, [1])], opset=18)

    def strings(name, values):
        return helper.make_tensor(name, TensorProto.STRING, [len(values)], values)

    def write(name, proto):
        with open(os.path.join(data, name), "wb") as f:
            f.write(proto.SerializeToString())

    first = [b"a\x00b" if nul else b"a", b""]
    write("input_0.pb", onnx.SequenceProto(
        name="x", elem_type=onnx.SequenceProto.TENSOR,
        tensor_values=[strings("x0", first), strings("x1", [b"\xc3\xa9", b"d"])]))
    write("input_1.pb", onnx.OptionalProto(
        name="o", elem_type=onnx.OptionalProto.TENSOR,
        tensor_value=strings("o", [b"opt"])))
    write("output_0.pb", strings("y", first + [b"\xc3\xa9", b"d"]))
    write("output_1.pb", strings("z", [b"opt"]))


def main():
    onnxc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = numpy.random.default_rng(7)

    def model(name, build, *args):
        path = os.path.join(work, name + ".onnx")
        build(path, *args)
        return path

    x0 = rng.standard_normal((2, 3)).astype(numpy.float32)
    x1 = rng.standard_normal((2, 3)).astype(numpy.float32)
    m = model("identity", identity_model)
    check_run("identity sequence", onnxc, work, m, ["--seq-len", "x=2"],
              {"x[0]": x0, "x[1]": x1}, {"y[0]": x0, "y[1]": x1})
    check_header("header lists elements", work, "identity_sequence",
                 ["x[0]", "x[1]", "y[0]", "y[1]"])
    check_error("unbound sequence length", onnxc, work, m, [],
                r"graph input 'x' is a sequence whose length must be known "
                r"at compile time; bind it with --seq-len x=N")
    check_error("seq-len names no sequence", onnxc, work, m,
                ["--seq-len", "x=1", "--seq-len", "nope=2"],
                r"--seq-len nope=2: the model has no sequence input named "
                r"'nope'")
    check_error("element dim unnamed", onnxc, work,
                model("unnamed_dim", identity_model, [None]), ["--seq-len", "x=1"],
                r"input dim 0 is the symbolic dim '[^']*'; bind it with "
                r"--dim [^ ]*=N or --shape x\[0\]=D0x\.\.\.")
    check_error("element shape unknown", onnxc, work,
                model("no_shape", identity_model, None), ["--seq-len", "x=1"],
                r"input 'x\[0\]' has no declared shape; give it with "
                r"--shape x\[0\]=D0xD1x\.\.\.")
    check_error("seq-len malformed", onnxc, work, m, ["--seq-len", "x=-1"],
                r"--seq-len 'x=-1': N must be a whole number >= 0", code=2)

    a = rng.standard_normal((2, 3)).astype(numpy.float32)
    b = rng.standard_normal((2, 3)).astype(numpy.float32)
    parts = [a, 2 * a, b]
    m = model("ops", sequence_ops_model)
    check_run("sequence ops", onnxc, work, m, [], {"a": a, "b": b},
              {"at": 2 * a, "n": numpy.array(3, numpy.int64),
               "cat": numpy.concatenate(parts, axis=1),
               "stack": numpy.stack(parts, axis=-1),
               "s3[0]": a, "s3[1]": 2 * a, "s5[0]": b, "s5[1]": a})

    x = rng.standard_normal((6, 2)).astype(numpy.float32)
    m = model("split", split_model)
    check_run("split to sequence", onnxc, work, m, [], {"x": x},
              {"parts[0]": x[0:1], "parts[1]": x[1:3], "parts[2]": x[3:6],
               "chunks[0]": x[0:4], "chunks[1]": x[4:6],
               "cols[0]": x[:, 0], "cols[1]": x[:, 1]})

    v = rng.standard_normal(3).astype(numpy.float32)
    m = model("optional", optional_model)
    check_run("optional present", onnxc, work, m, [], {"opt": v},
              {"has": numpy.array(True), "y": v + 1})
    check_error("optional get absent", onnxc, work, m, ["--absent", "opt"],
                r"OptionalGetElement node 'get' \(opset 17\): input 0 'opt' "
                r"is an absent optional, which has no element to get")
    m = model("has_element", has_element_model)
    check_run("optional absent", onnxc, work, m, ["--absent", "opt"], {},
              {"has": numpy.array(False)})
    check_error("absent contradicts seq-len", onnxc, work,
                model("absent_seq", has_element_model, True),
                ["--absent", "opt", "--seq-len", "opt=2"],
                r"--seq-len opt=2 contradicts --absent opt")
    check_error("absent names no optional", onnxc, work, m,
                ["--absent", "x"],
                r"--absent x: the model has no optional input named 'x'")

    xs = [rng.standard_normal(4).astype(numpy.float32) for _ in range(3)]
    t = rng.standard_normal(4).astype(numpy.float32)
    m = model("map", sequence_map_model)
    inputs = {"x[%d]" % i: xi for i, xi in enumerate(xs)}
    inputs["t"] = t
    expected = {"y[%d]" % i: xi * t + xi for i, xi in enumerate(xs)}
    expected.update({"z[%d]" % i: numpy.array([4], numpy.int64)
                     for i in range(3)})
    check_run("sequence map", onnxc, work, m,
              ["--seq-len", "x=3", "--dim", "N=4"], inputs, expected)

    check_error("wrong element dtype", onnxc, work,
                model("bad_dtype", bad_dtype_model), [],
                r"SequenceConstruct node 'mixed' \(opset 17\): input 1 'b' "
                r"\(i64 \[2\]\) has element type i64, but the sequence contains "
                r"f32 tensors")
    check_error("sequence at out of range", onnxc, work,
                model("at_range", at_model, 2), [],
                r"SequenceAt node 'pick' \(opset 17\): position 2 is out of "
                r"range for the sequence 's' of 2 tensors \(valid: -2 to 1\)")
    check_error("position not constant", onnxc, work,
                model("at_input", at_model, 0, True), [],
                r"SequenceAt node 'pick' \(opset 17\): input 1 'p' "
                r"\(i64 \[\]\) must be a constant: sequence positions "
                r"computed at run time are not supported")
    check_error("sequence read as tensor", onnxc, work,
                model("into_add", sequence_into_add_model),
                ["--seq-len", "x=1"],
                r"Add node 'sum' \(opset 17\): input 0 'x' is a sequence, "
                r"but Add takes only tensors there; this is not supported")
    a = rng.standard_normal(2).astype(numpy.float32)
    check_run("if returns sequence", onnxc, work,
              model("if_seq", if_sequence_model), [], {"a": a}, {"y[0]": a})
    check_error("if sequence condition input", onnxc, work,
                model("if_seq_input", if_sequence_model, True), [],
                r"If node 'choose' \(opset 17\): its branches take or return "
                r"sequences or optionals, so input 0 'c' \(bool \[\]\) must be "
                r"a constant bool when the model is loaded")
    xs = [rng.standard_normal(3).astype(numpy.float32) for _ in range(4)]
    expected = {"y[%d]" % i: 2 * xi for i, xi in enumerate(xs)}
    expected["scan"] = numpy.stack([xi + 1 for xi in xs])
    check_run("loop builds sequence", onnxc, work,
              model("loop_seq", loop_sequence_model), ["--seq-len", "x=4"],
              {"x[%d]" % i: xi for i, xi in enumerate(xs)}, expected)
    check_error("loop sequence count input", onnxc, work,
                model("loop_seq_input", loop_sequence_model, True),
                ["--seq-len", "x=4"],
                r"Loop node 'over' \(opset 17\): its body takes, reads or "
                r"returns sequences or optionals, so input 0 'n' \(i64 \[\]\) "
                r"\(the trip count\) must be a constant int64 when the model "
                r"is loaded")

    check_error("split axis out of range", onnxc, work,
                model("split_axis", split_axis_model, 5, [4]), [],
                r"SplitToSequence node 'cut' \(opset 17\): axis 5 is out of "
                r"range for input 0 'x' \(f32 \[4\]\) \(valid: -1 to 0\)")
    check_error("split sizes wrong sum", onnxc, work,
                model("split_sum", split_axis_model, 0, [4], [1, 5]), [],
                r"SplitToSequence node 'cut' \(opset 17\): input 1 'sizes' "
                r"\(i64 \[2\]\): the split sizes add up to 6, but axis 0 has "
                r"size 4")
    check_error("split size negative", onnxc, work,
                model("split_negative", split_axis_model, 0, [4], [-1, 5]), [],
                r"SplitToSequence node 'cut' \(opset 17\): input 1 'sizes' "
                r"\(i64 \[2\]\): split size -1 is negative")
    check_error("split scalar", onnxc, work,
                model("split_scalar", split_axis_model, 0, []), [],
                r"SplitToSequence node 'cut' \(opset 17\): input 0 'x' "
                r"\(f32 \[\]\) is a scalar, which has no axis to split")

    check_error("loop too many iterations", onnxc, work,
                model("endless", endless_loop_model), [],
                r"Loop node 'grow' \(opset 17\): runs more than 4096 "
                r"iterations, the maximum that onnxc unrolls; this is not "
                r"supported")

    check_run("loop negative trip count", onnxc, work,
              model("negative_trip", endless_loop_model, -3), [],
              {"a": numpy.zeros(2, numpy.float32)},
              {"y": numpy.array(0, numpy.int64)})

    def test_onnx(folder):
        return subprocess.run([onnxc, "test-onnx", "-v", folder],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)

    folder = os.path.join(work, "test_sequence_data")
    write_backend_test(folder, rng)
    result = test_onnx(folder)
    report("backend data files", result.returncode == 0 and
           "1 passed" in result.stdout, [result.stdout.strip()])
    folder = os.path.join(work, "test_sequence_strings")
    write_string_backend_test(folder)
    result = test_onnx(folder)
    report("backend string data files", result.returncode == 0 and
           "1 passed" in result.stdout, [result.stdout.strip()])
    folder = os.path.join(work, "test_sequence_nul")
    write_string_backend_test(folder, nul=True)
    result = test_onnx(folder)
    report("backend string with a NUL byte", result.returncode != 0 and
           "string 0 contains a NUL byte at offset 1" in result.stdout,
           [result.stdout.strip()])

    print("%d of %d checks passed" % (len(checks) - len(failures), len(checks)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
