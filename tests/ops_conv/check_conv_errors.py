"""Compile Conv, MaxPool and AveragePool models with bad attributes or
shapes, and check that each fails with exit code 1 and an error naming the
op, the node and the offending value, never a crash.

Usage: check_conv_errors.py ONNXC WORK_DIR
"""

import os
import re
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper
import onnx

failures = []

X4 = [1, 4, 8, 8]


def conv_model(path, x_shape, w_shape, dtype=np.float32, bias_shape=None,
               **attrs):
    elem = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]
    inits = [numpy_helper.from_array(np.ones(w_shape, dtype), "w")]
    inputs = ["x", "w"]
    if bias_shape is not None:
        inits.append(numpy_helper.from_array(np.ones(bias_shape, dtype), "b"))
        inputs.append("b")
    node = helper.make_node("Conv", inputs, ["y"], name="conv_node", **attrs)
    save(path, node, elem, x_shape, inits)


def pool_model(path, op, x_shape, dtype=TensorProto.FLOAT, **attrs):
    node = helper.make_node(op, ["x"], ["y"], name="pool_node", **attrs)
    save(path, node, dtype, x_shape, [])


def save(path, node, elem, x_shape, inits):
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", elem, x_shape)],
        [helper.make_tensor_value_info("y", elem, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


CONV = r"Conv node 'conv_node' \(opset 13\): "
MAX = r"MaxPool node 'pool_node' \(opset 13\): "
AVG = r"AveragePool node 'pool_node' \(opset 13\): "

CASES = [
    # name, builder arguments, stderr pattern
    ("W channels differ from C / group",
     ("conv", X4, [6, 3, 3, 3]),
     CONV + r"value 'w' \(f32\[6,3,3,3\]\): W \[6,3,3,3\] has 3 input "
     r"channels, but X \[1,4,8,8\] has C = 4 and group = 1, so W needs "
     r"C / group = 4"),
    ("group does not divide C",
     ("conv", X4, [6, 1, 3, 3], {"group": 3}),
     CONV + r".*group = 3 is invalid: .*C = 4 .*M = 6"),
    ("group does not divide M",
     ("conv", X4, [5, 2, 3, 3], {"group": 2}),
     CONV + r".*group = 2 is invalid: .*M = 5"),
    ("group zero", ("conv", X4, [6, 4, 3, 3], {"group": 0}),
     CONV + r".*group = 0 is invalid"),
    ("stride zero", ("conv", X4, [6, 4, 3, 3], {"strides": [0, 1]}),
     CONV + r"value 'x' .*strides\[0\] = 0 is invalid: it must be in "
     r"\[1, 2147483647\]"),
    ("stride negative", ("maxpool", X4, {"kernel_shape": [2, 2],
                                         "strides": [1, -2]}),
     MAX + r".*strides\[1\] = -2 is invalid"),
    ("strides wrong length", ("conv", X4, [6, 4, 3, 3], {"strides": [1]}),
     CONV + r".*attribute strides has length 1, but the input's 2 spatial "
     r"dims need 2"),
    ("pads wrong length", ("avgpool", X4, {"kernel_shape": [2, 2],
                                           "pads": [1, 1]}),
     AVG + r".*attribute pads has length 2, but the input's 2 spatial dims "
     r"need 4"),
    ("pad negative", ("conv", X4, [6, 4, 3, 3], {"pads": [0, -1, 0, 0]}),
     CONV + r".*pads\[1\] = -1 is invalid"),
    ("dilation zero", ("maxpool", X4, {"kernel_shape": [2, 2],
                                       "dilations": [0, 1]}),
     MAX + r".*dilations\[0\] = 0 is invalid"),
    ("kernel larger than padded input",
     ("maxpool", [1, 2, 3, 3], {"kernel_shape": [5, 2], "pads": [0, 0, 1, 0]}),
     MAX + r"value 'x' \(f32\[1,2,3,3\]\): spatial dim 0: the kernel "
     r"spans 5 positions \(kernel 5, dilation 1\), more than the 4 of the "
     r"padded input \(3 \+ pads 0 and 1\)"),
    ("dilated kernel larger than input",
     ("conv", [1, 4, 5, 5], [6, 4, 3, 3], {"dilations": [1, 3]}),
     CONV + r".*spatial dim 1: the kernel spans 7 positions"),
    ("dilated kernel beyond any pads",
     ("conv", [1, 4, 8], [6, 4, 5], {"dilations": [2147483647]}),
     CONV + r"spatial dim 0: the kernel of size 5 with dilation 2147483647 "
     r"is larger than any padded input of size 8"),
    ("kernel_shape missing", ("avgpool", X4, {}),
     AVG + r"attribute kernel_shape is missing"),
    ("kernel_shape differs from W",
     ("conv", X4, [6, 4, 3, 3], {"kernel_shape": [3, 5]}),
     CONV + r"value 'w' .*kernel_shape\[1\] = 5 differs from dim 3 of W "
     r"\[6,4,3,3\]"),
    ("kernel_shape huge",
     ("maxpool", X4, {"kernel_shape": [1 << 40, 1]}),
     MAX + r".*kernel_shape\[0\] = 1099511627776 is invalid"),
    ("auto_pad unknown", ("maxpool", X4, {"kernel_shape": [2, 2],
                                          "auto_pad": "SAME"}),
     MAX + r"attribute auto_pad is 'SAME'; expected NOTSET, SAME_UPPER, "
     r"SAME_LOWER or VALID"),
    ("ceil_mode invalid", ("avgpool", X4, {"kernel_shape": [2, 2],
                                           "ceil_mode": 2}),
     AVG + r"attribute ceil_mode = 2 is invalid"),
    ("storage_order invalid", ("maxpool", X4, {"kernel_shape": [2, 2],
                                               "storage_order": 3}),
     MAX + r"attribute storage_order = 3 is invalid"),
    ("count_include_pad invalid", ("avgpool", X4, {"kernel_shape": [2, 2],
                                                   "count_include_pad": -1}),
     AVG + r"attribute count_include_pad = -1 is invalid"),
    ("input without spatial dims", ("maxpool", [4, 8], {"kernel_shape": [2]}),
     MAX + r"value 'x' \(f32\[4,8\]\): X has rank 2, but MaxPool needs "
     r"\[N, C, D1, ...\]"),
    ("conv input without spatial dims", ("conv", [4, 8], [6, 8]),
     CONV + r"value 'x' .*X has rank 2, but Conv needs"),
    ("W rank differs", ("conv", X4, [6, 4, 3]),
     CONV + r"value 'w' .*W has rank 3 but X \[1,4,8,8\] has rank 4"),
    ("W with an empty kernel dim", ("conv", X4, [6, 4, 0, 3]),
     CONV + r"value 'w' .*dim 2 of W \[6,4,0,3\] is an empty kernel dim"),
    ("bias wrong size", ("conv", X4, [6, 4, 3, 3], {"bias_shape": [4]}),
     CONV + r"value 'b' .*B \[4\] must be 1-D with M = 6 values"),
    ("conv int32", ("conv", X4, [6, 4, 3, 3], {"dtype": np.int32}),
     CONV + r"value 'x' .*dtype i32 is not supported \(float32 and float64 "
     r"are\)"),
    ("averagepool int8", ("avgpool", X4, {"kernel_shape": [2, 2],
                                          "dtype": TensorProto.INT8}),
     AVG + r"value .*dtype i8 is not supported \(float32, float64 and float16 are\)"),
    ("maxpool int32", ("maxpool", X4, {"kernel_shape": [2, 2],
                                       "dtype": TensorProto.INT32}),
     MAX + r"value .*dtype i32 is not supported \(float32, float64, float16, int8 "
     r"and uint8 are\)"),
]


def build(path, spec):
    kind = spec[0]
    if kind == "conv":
        attrs = dict(spec[3]) if len(spec) > 3 else {}
        dtype = attrs.pop("dtype", np.float32)
        bias = attrs.pop("bias_shape", None)
        conv_model(path, spec[1], spec[2], dtype, bias, **attrs)
        return
    attrs = dict(spec[2])
    dtype = attrs.pop("dtype", TensorProto.FLOAT)
    op = "MaxPool" if kind == "maxpool" else "AveragePool"
    pool_model(path, op, spec[1], dtype, **attrs)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    onnxc, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    for index, (name, spec, pattern) in enumerate(CASES):
        path = os.path.join(work, "case%d.onnx" % index)
        build(path, spec)
        result = subprocess.run(
            [onnxc, "compile", path, "-o", os.path.join(work, "out.so")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)
        ok = result.returncode == 1 and re.search(pattern, result.stderr)
        print("%s %s" % ("ok  " if ok else "FAIL", name))
        if not ok:
            print("  exit code %d, expected 1" % result.returncode)
            print("  stderr: %s" % result.stderr.strip())
            print("  expected stderr to match: %s" % pattern)
            failures.append(name)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
