"""Compile hostile models with onnxc and check that none crashes.  Each
model is rejected with its expected message and exit code 1, except two
that must compile: a 100000-node chain and a 2.5 GB initializer.  External
data outside the model's folder must be rejected before it is opened.

Usage: check_hostile.py ONNXC TINY_MODEL_DIR WORK_DIR

ONNXC_SKIP_HUGE=1 skips the 2.5 GB external-data model, which takes about a
minute and 2.6 GB of memory.

The models are made here with onnx.helper, except the reproducers that
fuzzing found, which are kept in crashes/ and listed in CRASHES with the
message each must give.
"""

import os
import random
import re
import subprocess
import sys

import numpy
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))

# Fuzzer reproducers: file in crashes/, extra compile flags, expected stderr.
CRASHES = [
    ("matmul-input-dim-int64-max.onnx", [],
     r"input 'a' is too large: its size in bytes overflows int64"),
    ("einsum-omitted-input.onnx", ["--dim", "unk__data_0=2"],
     r"Einsum node '.*' \(opset 22\): input 1 is omitted"),
    ("split-sizes-sum-overflow.onnx", [],
     r"Split node 'Split_1' \(opset 13\): .*split sizes add up to more "
     r"than axis 0's size 2"),
]

# A crash, a sanitizer report or an internal error is never a clean error.
NOT_CLEAN = re.compile(r"internal error|AddressSanitizer|runtime error|"
                       r"Segmentation|Aborted|LeakSanitizer")

failures = []
checks = []


def check(name, cmd, pattern, code=1, timeout=600):
    """Run cmd: its exit code must be code and its stderr match pattern."""
    checks.append(name)
    try:
        result = subprocess.run(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                universal_newlines=True, timeout=timeout)
        rc, err = result.returncode, result.stderr
    except subprocess.TimeoutExpired:
        rc, err = None, "(timed out after %d s)" % timeout
    ok = (rc == code and re.search(pattern, err) is not None
          and not NOT_CLEAN.search(err))
    print("%s %s" % ("ok  " if ok else "FAIL", name))
    if not ok:
        print("  command: %s" % " ".join(cmd))
        if rc is not None and rc < 0:
            print("  killed by signal %d" % -rc)
        print("  exit code %s, expected %d" % (rc, code))
        print("  stderr: %s" % err.strip()[-2000:])
        print("  expected stderr to match: %s" % pattern)
        failures.append(name)


def save(path, nodes, inputs, outputs, initializers=(), opset=13,
         ir_version=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", opset)])
    if ir_version is not None:
        model.ir_version = ir_version
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def value(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def tensor(name, dtype, dims, raw=None, floats=None):
    """A TensorProto made field by field: make_tensor rejects bad sizes."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if floats is not None:
        t.float_data.extend(floats)
    return t


def external(name, dims, location, offset=None, length=None,
             dtype=TensorProto.FLOAT):
    """A TensorProto whose data lives in an external file."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for key, text in entries:
        e = t.external_data.add()
        e.key = key
        e.value = text
    return t


class Case:
    """One hostile model in its own folder under WORK_DIR."""

    def __init__(self, onnxc, work, name):
        self.onnxc = onnxc
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.model = os.path.join(self.dir, "model.onnx")

    def compile(self, pattern, args=(), code=1, timeout=600):
        out = os.path.join(self.dir, "lib%s.so" % self.name.replace("-", "_"))
        check(self.name, [self.onnxc, "compile", self.model, "-o", out]
              + list(args), pattern, code, timeout)


def bad_files(onnxc, tiny, work):
    with open(tiny, "rb") as f:
        data = f.read()
    # A cut at a field boundary leaves a valid protobuf prefix, which may
    # fail after decoding.  It must still fail with a message.
    for cut in (1, 7, len(data) // 2, len(data) - 1):
        c = Case(onnxc, work, "truncated-%d" % cut)
        with open(c.model, "wb") as f:
            f.write(data[:cut])
        c.compile(r"error: .*model\.onnx")

    c = Case(onnxc, work, "empty-file")
    open(c.model, "wb").close()
    c.compile(r"not a valid ONNX model: the file is empty")

    c = Case(onnxc, work, "random-bytes")
    rng = random.Random(1)
    with open(c.model, "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(4096)))
    c.compile(r"not a valid ONNX model")

    c = Case(onnxc, work, "text-file")
    with open(c.model, "w") as f:
        f.write("this is not an ONNX model\n" * 10)
    c.compile(r"not a valid ONNX model")


def versions(onnxc, work):
    x, y = value("x", [2]), value("y", [2])
    relu = [helper.make_node("Relu", ["x"], ["y"], name="relu")]

    c = Case(onnxc, work, "ir-version-newer")
    save(c.model, relu, [x], [y], ir_version=14)
    c.compile(r"IR version 14 is not supported \(onnxc reads IR versions up to 13\)")

    c = Case(onnxc, work, "opset-newer")
    save(c.model, relu, [x], [y], opset=26)
    c.compile(r"opset 26 is not supported \(onnxc implements the default domain "
              r"up to opset 25\)")

    c = Case(onnxc, work, "opset-zero")
    save(c.model, relu, [x], [y], opset=0)
    c.compile(r"opset 0, which is not a valid version")


def graph_structure(onnxc, work):
    x, y = value("x", [2]), value("y", [2])

    c = Case(onnxc, work, "dangling-input")
    save(c.model, [helper.make_node("Add", ["x", "nosuch"], ["y"],
                                    name="add")], [x], [y])
    c.compile(r"Add.*'add'.*reads 'nosuch', which no node, initializer or "
              r"graph input defines")

    c = Case(onnxc, work, "dangling-output")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="relu")],
         [x], [value("zz", [2])])
    c.compile(r"graph output 'zz' is not defined")

    c = Case(onnxc, work, "missing-graph-input")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="relu")],
         [], [y])
    c.compile(r"reads 'x', which no node, initializer or graph input "
              r"defines")

    c = Case(onnxc, work, "cycle")
    save(c.model, [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
                   helper.make_node("Relu", ["a"], ["b"], name="n2"),
                   helper.make_node("Relu", ["a"], ["y"], name="n3")],
         [x], [y])
    c.compile(r"Add node 'n1' \(opset 13\): the graph has a cycle through "
              r"this node")

    c = Case(onnxc, work, "self-loop")
    save(c.model, [helper.make_node("Add", ["x", "a"], ["a"], name="n1"),
                   helper.make_node("Relu", ["a"], ["y"], name="n2")],
         [x], [y])
    c.compile(r"Add node 'n1' \(opset 13\): the graph has a cycle through "
              r"this node")

    c = Case(onnxc, work, "duplicate-definition")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="n1"),
                   helper.make_node("Neg", ["x"], ["y"], name="n2")],
         [x], [y])
    c.compile(r"Neg node 'n2' \(opset 13\): output 'y' is already defined "
              r"by an earlier node")

    c = Case(onnxc, work, "duplicate-graph-input")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="n1")],
         [x, x], [y])
    c.compile(r"graph input 'x' is listed twice")

    c = Case(onnxc, work, "recursive-function")
    body = [helper.make_node("F", ["a"], ["b"], domain="local")]
    imports = [helper.make_opsetid("", 13), helper.make_opsetid("local", 1)]
    function = helper.make_function("local", "F", ["a"], ["b"], body, imports)
    graph = helper.make_graph(
        [helper.make_node("F", ["x"], ["y"], domain="local", name="call")],
        "g", [x], [y])
    model = helper.make_model(graph, opset_imports=imports,
                              functions=[function])
    with open(c.model, "wb") as f:
        f.write(model.SerializeToString())
    c.compile(r"calls of function 'F' nest more than 64 deep; a function may "
              r"not call itself")

    # 100000 nodes listed last to first: a recursive walk over the graph
    # would overflow the stack.  The IR is printed, not compiled to code.
    c = Case(onnxc, work, "deep-chain-reversed")
    n = 100000
    nodes = [helper.make_node("Relu", ["x" if i == 0 else "t%d" % (i - 1)],
                              ["y" if i == n - 1 else "t%d" % i])
             for i in range(n)]
    save(c.model, list(reversed(nodes)), [x], [y])
    check(c.name, [onnxc, "compile", c.model, "--emit=ir", "-o",
                   os.path.join(c.dir, "model.ir")], r"^$", code=0)

    c = Case(onnxc, work, "no-outputs")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="n1")],
         [x], [])
    c.compile(r"the graph has no outputs")


def tensors(onnxc, work):
    x, y = value("x", [4]), value("y", [4])
    add = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]

    c = Case(onnxc, work, "raw-data-short")
    w = tensor("w", TensorProto.FLOAT, [4], raw=b"\0" * 8)
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w': raw_data has 8 bytes, but f32\[4\] needs 16")

    c = Case(onnxc, work, "float-data-short")
    w = tensor("w", TensorProto.FLOAT, [4], floats=[1.0, 2.0])
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w': float_data has 2 values, but f32\[4\] "
              r"needs 4")

    c = Case(onnxc, work, "initializer-dims-overflow")
    w = tensor("w", TensorProto.FLOAT, [1 << 32, 1 << 32])
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w' has too many elements: the product of its "
              r"dims overflows int64")

    c = Case(onnxc, work, "initializer-bytes-overflow")
    w = tensor("w", TensorProto.DOUBLE, [1 << 31, 1 << 31])
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w' is too large: 4611686018427387904 elements "
              r"of 8 bytes")

    # 2^60 floats pass the int64 check of the size but not the workspace.
    c = Case(onnxc, work, "result-too-large-for-workspace")
    expand = [helper.make_node("Expand", ["x", "shape"], ["e"], name="expand"),
              helper.make_node("ReduceMax", ["e"], ["y"], keepdims=0)]
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [1 << 60])
    save(c.model, expand, [value("x", [1])], [value("y", [])], [shape],
         opset=17)
    c.compile(r"Expand node 'expand' .*value 'e' \(f32\[1152921504606846976\]\): "
              r"the result does not fit the workspace")

    c = Case(onnxc, work, "initializer-negative-dim")
    w = tensor("w", TensorProto.FLOAT, [-4])
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w' has negative dim -4 at axis 0")

    c = Case(onnxc, work, "initializer-rank-9")
    w = tensor("w", TensorProto.FLOAT, [1] * 9, floats=[0.0])
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w' has rank 9, more than the maximum 8")

    c = Case(onnxc, work, "initializer-string")
    w = tensor("w", TensorProto.STRING, [1])
    save(c.model, add, [x], [y], [w])
    c.compile(r"initializer 'w' is a string tensor; string constants are "
              r"not supported")

    c = Case(onnxc, work, "input-rank-9")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="relu")],
         [value("x", [1] * 9)], [value("y", None)])
    c.compile(r"graph input 'x' has rank 9, more than the maximum 8")

    c = Case(onnxc, work, "input-dims-overflow")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="relu")],
         [value("x", [1 << 62, 4])], [value("y", None)])
    c.compile(r"input 'x' is too large: its size in bytes overflows int64")

    c = Case(onnxc, work, "bound-dim-overflow")
    save(c.model, [helper.make_node("Relu", ["x"], ["y"], name="relu")],
         [value("x", ["n", "n"])], [value("y", None)])
    c.compile(r"input 'x' is too large: its size in bytes overflows int64",
              ["--dim", "n=%d" % (1 << 40)])

    c = Case(onnxc, work, "reshape-to-rank-9")
    shape = helper.make_tensor("s", TensorProto.INT64, [9], [1] * 8 + [4])
    save(c.model, [helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")],
         [x], [value("y", None)], [shape])
    c.compile(r"Reshape node 'rs' \(opset 13\): .*input 1 holds 9 values; "
              r"at most 8 are supported")

    c = Case(onnxc, work, "expand-overflow")
    shape = helper.make_tensor("s", TensorProto.INT64, [3],
                               [1 << 30, 1 << 30, 1 << 30])
    save(c.model, [helper.make_node("Expand", ["x", "s"], ["y"], name="ex")],
         [value("x", [1])], [value("y", None)], [shape])
    c.compile(r"Expand node 'ex' \(opset 13\): .*result 0 is too large: its "
              r"size in bytes overflows int64")


def external_data(onnxc, work):
    x, y = value("x", [4]), value("y", [4])
    add = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
    outside = os.path.join(work, "outside.bin")
    with open(outside, "wb") as f:
        f.write(b"\0" * 16)

    c = Case(onnxc, work, "external-dotdot")
    save(c.model, add, [x], [y], [external("w", [4], "../outside.bin")])
    c.compile(r"external data location '\.\./outside\.bin' contains '\.\.'")

    c = Case(onnxc, work, "external-dotdot-inner")
    os.makedirs(os.path.join(c.dir, "sub"), exist_ok=True)
    save(c.model, add, [x], [y],
         [external("w", [4], "sub/../../outside.bin")])
    c.compile(r"contains '\.\.'")

    c = Case(onnxc, work, "external-absolute")
    save(c.model, add, [x], [y], [external("w", [4], outside)])
    c.compile(r"external data location '.*outside\.bin' is an absolute path")

    c = Case(onnxc, work, "external-symlink-out")
    link = os.path.join(c.dir, "w.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(outside, link)
    save(c.model, add, [x], [y], [external("w", [4], "w.bin")])
    c.compile(r"external data file '.*w\.bin' resolves to '.*outside\.bin', "
              r"outside the model's folder")

    c = Case(onnxc, work, "external-symlink-dir-out")
    link = os.path.join(c.dir, "data")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(work, link)
    save(c.model, add, [x], [y], [external("w", [4], "data/outside.bin")])
    c.compile(r"resolves to '.*outside\.bin', outside the model's folder")

    c = Case(onnxc, work, "external-fifo")
    fifo = os.path.join(c.dir, "w.bin")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    save(c.model, add, [x], [y], [external("w", [4], "w.bin")])
    c.compile(r"external data file '.*w\.bin' is not a regular file",
              timeout=60)

    c = Case(onnxc, work, "external-directory")
    os.makedirs(os.path.join(c.dir, "sub"), exist_ok=True)
    save(c.model, add, [x], [y], [external("w", [4], "sub")])
    c.compile(r"external data file '.*sub' is not a regular file")

    c = Case(onnxc, work, "constant-node-external-dotdot")
    value_attr = helper.make_attribute("value", tensor("v", TensorProto.FLOAT,
                                                       [4]))
    value_attr.t.CopyFrom(external("v", [4], "../outside.bin"))
    node = helper.make_node("Constant", [], ["w"], name="const")
    node.attribute.append(value_attr)
    save(c.model, [node] + add, [x], [y])
    c.compile(r"external data location '\.\./outside\.bin' contains '\.\.'")

    c = Case(onnxc, work, "external-missing-file")
    save(c.model, add, [x], [y], [external("w", [4], "nosuch.bin")])
    c.compile(r"cannot open external data file '.*nosuch\.bin'")

    c = Case(onnxc, work, "external-file-short")
    with open(os.path.join(c.dir, "w.bin"), "wb") as f:
        f.write(b"\0" * 8)
    save(c.model, add, [x], [y], [external("w", [4], "w.bin")])
    c.compile(r"external data file '.*w\.bin' has 8 bytes, too few for 16 "
              r"bytes at offset 0")

    c = Case(onnxc, work, "external-offset-past-end")
    with open(os.path.join(c.dir, "w.bin"), "wb") as f:
        f.write(b"\0" * 16)
    save(c.model, add, [x], [y],
         [external("w", [4], "w.bin", offset=1 << 62)])
    c.compile(r"has 16 bytes, too few for 16 bytes at offset 4611686018427387904")

    c = Case(onnxc, work, "external-negative-offset")
    save(c.model, add, [x], [y], [external("w", [4], "w.bin", offset=-1)])
    c.compile(r"external data offset '-1' is not a non-negative integer")

    c = Case(onnxc, work, "external-wrong-length")
    save(c.model, add, [x], [y], [external("w", [4], "w.bin", length=12)])
    c.compile(r"external data length is 12 bytes, but its dtype and shape "
              r"need 16")

    c = Case(onnxc, work, "external-no-location")
    t = external("w", [4], "w.bin")
    del t.external_data[:]
    save(c.model, add, [x], [y], [t])
    c.compile(r"external data has no 'location' entry")


def huge_external(onnxc, work):
    """A 2.5 GB initializer in a sparse external file, which takes no disk.
    onnxc reads it, folds the Gather of one element and drops the rest, so
    the model compiles and y = x + big[5] = x."""
    c = Case(onnxc, work, "external-2.5gb")
    n = 640 * 1000 * 1000
    path = os.path.join(c.dir, "big.bin")
    with open(path, "wb") as f:
        f.truncate(4 * n)
    idx = helper.make_tensor("idx", TensorProto.INT64, [1], [5])
    save(c.model,
         [helper.make_node("Gather", ["big", "idx"], ["g"], name="gather"),
          helper.make_node("Add", ["x", "g"], ["y"], name="add")],
         [value("x", [1])], [value("y", None)],
         [external("big", [n], "big.bin", length=4 * n), idx])
    lib = os.path.join(c.dir, "libbig.so")
    check(c.name, [onnxc, "compile", c.model, "-o", lib], r"^$", code=0,
          timeout=900)
    os.remove(path)
    x = os.path.join(c.dir, "x.npy")
    numpy.save(x, numpy.array([1.5], dtype=numpy.float32))
    out = os.path.join(c.dir, "out")
    check(c.name + " runs", [onnxc, "run", lib, "-i", "x=" + x, "-o", out],
          r"^$", code=0)
    y = os.path.join(out, "y.npy")
    checks.append(c.name + " output")
    if not os.path.exists(y) or numpy.load(y).tolist() != [1.5]:
        print("FAIL %s output: expected [1.5] in %s" % (c.name, y))
        failures.append(c.name + " output")


def crashes(onnxc, work):
    for name, args, pattern in CRASHES:
        c = Case(onnxc, work, "crash-" + os.path.splitext(name)[0])
        with open(os.path.join(HERE, "crashes", name), "rb") as f:
            data = f.read()
        with open(c.model, "wb") as f:
            f.write(data)
        c.compile(pattern, args)


def main():
    onnxc, tiny_dir, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    bad_files(onnxc, os.path.join(tiny_dir, "model.onnx"), work)
    versions(onnxc, work)
    graph_structure(onnxc, work)
    tensors(onnxc, work)
    external_data(onnxc, work)
    crashes(onnxc, work)
    if os.environ.get("ONNXC_SKIP_HUGE") != "1":
        huge_external(onnxc, work)
    print("%d passed, %d failed" % (len(checks) - len(failures),
                                    len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
