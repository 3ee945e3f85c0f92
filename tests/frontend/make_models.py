"""Write the small hand-built ONNX models that test_frontend.c loads.

Usage: make_models.py OUTPUT_DIR

Each model covers one frontend case: an opset variant that normalisation
rewrites, an initializer encoding, external data, a graph-structure error,
If and Loop bodies, or a file that is not a model at all.  test_frontend.c opens each file by
name.
"""

import os
import random
import sys

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

FLOAT = TensorProto.FLOAT


def save(out_dir, name, nodes, inputs, outputs, opset=13, initializers=(),
         functions=(), extra_opsets=(), value_info=()):
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs),
                              initializer=list(initializers),
                              value_info=list(value_info))
    opsets = [helper.make_opsetid("", opset)] + list(extra_opsets)
    model = helper.make_model(graph, opset_imports=opsets,
                              functions=list(functions))
    with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())
    return model


def tensor_in(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def out(name, dtype=FLOAT):
    return helper.make_tensor_value_info(name, dtype, None)


def int64s(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def write_normalisation_models(d):
    x4 = tensor_in("x", FLOAT, [1, 3, 1, 4])
    save(d, "squeeze11",
         [helper.make_node("Squeeze", ["x"], ["y"], axes=[0, 2])],
         [x4], [out("y")], opset=11)
    save(d, "squeeze13", [helper.make_node("Squeeze", ["x", "axes"], ["y"])],
         [x4], [out("y")], initializers=[int64s("axes", [0, 2])])

    x2 = tensor_in("x", FLOAT, [3, 4])
    save(d, "unsqueeze11",
         [helper.make_node("Unsqueeze", ["x"], ["y"], axes=[1])],
         [x2], [out("y")], opset=11)
    save(d, "unsqueeze13",
         [helper.make_node("Unsqueeze", ["x", "axes"], ["y"])],
         [x2], [out("y")], initializers=[int64s("axes", [1])])

    save(d, "reducesum11",
         [helper.make_node("ReduceSum", ["x"], ["y"], axes=[1], keepdims=0)],
         [x2], [out("y")], opset=11)
    save(d, "reducesum13",
         [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
         [x2], [out("y")], initializers=[int64s("axes", [1])])
    save(d, "reducemean13",
         [helper.make_node("ReduceMean", ["x"], ["y"], axes=[-1],
                           keepdims=1)],
         [x2], [out("y")], opset=13)
    save(d, "reducemean18",
         [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)],
         [x2], [out("y")], opset=18, initializers=[int64s("axes", [-1])])

    x5 = tensor_in("x", FLOAT, [2, 5])
    save(d, "split11",
         [helper.make_node("Split", ["x"], ["a", "b"], axis=1, split=[2, 3])],
         [x5], [out("a"), out("b")], opset=11)
    save(d, "split13",
         [helper.make_node("Split", ["x", "split"], ["a", "b"], axis=1)],
         [x5], [out("a"), out("b")], initializers=[int64s("split", [2, 3])])

    save(d, "slice1",
         [helper.make_node("Slice", ["x"], ["y"], starts=[1], ends=[4],
                           axes=[1])],
         [x5], [out("y")], opset=1)
    save(d, "slice10",
         [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"])],
         [x5], [out("y")], opset=10,
         initializers=[int64s("starts", [1]), int64s("ends", [4]),
                       int64s("axes", [1])])

    save(d, "clip6",
         [helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0)],
         [x2], [out("y")], opset=6)
    save(d, "clip6_max_only",
         [helper.make_node("Clip", ["x"], ["y"], max=6.0)],
         [tensor_in("x", TensorProto.DOUBLE, [3])],
         [out("y", TensorProto.DOUBLE)], opset=6)
    save(d, "clip6_unknown_dtype",
         [helper.make_node("Relu", ["x"], ["t"]),
          helper.make_node("Clip", ["t"], ["y"], min=0.5)],
         [x2], [out("y")], opset=6)
    save(d, "clip11",
         [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
         [x2], [out("y")], opset=11,
         initializers=[numpy_helper.from_array(np.array(0, np.float32), "lo"),
                       numpy_helper.from_array(np.array(6, np.float32),
                                               "hi")])

    save(d, "softmax11", [helper.make_node("Softmax", ["x"], ["y"])],
         [x2], [out("y")], opset=11)
    save(d, "logsoftmax11",
         [helper.make_node("LogSoftmax", ["x"], ["y"], axis=0)],
         [x2], [out("y")], opset=11)
    save(d, "softmax13", [helper.make_node("Softmax", ["x"], ["y"])],
         [x2], [out("y")], opset=13)

    save(d, "pad2",
         [helper.make_node("Pad", ["x"], ["y"], pads=[0, 1, 0, 1],
                           value=1.5, mode="constant")],
         [tensor_in("x", TensorProto.FLOAT16, [3, 4])],
         [out("y", TensorProto.FLOAT16)], opset=2)
    save(d, "topk1", [helper.make_node("TopK", ["x"], ["v", "i"], k=2)],
         [x2], [out("v"), out("i", TensorProto.INT64)], opset=1)
    save(d, "reshape1",
         [helper.make_node("Reshape", ["x"], ["y"], shape=[4, 3])],
         [x2], [out("y")], opset=1)
    save(d, "cast1", [helper.make_node("Cast", ["x"], ["y"], to="INT32")],
         [x2], [out("y", TensorProto.INT32)], opset=1)
    save(d, "add6_broadcast",
         [helper.make_node("Add", ["x", "b"], ["y"], broadcast=1)],
         [x2, tensor_in("b", FLOAT, [4])], [out("y")], opset=6)
    save(d, "add6_axis",
         [helper.make_node("Add", ["x", "b"], ["y"], broadcast=1, axis=0)],
         [x2, tensor_in("b", FLOAT, [3])], [out("y")], opset=6)
    save(d, "add6_axis_unknown_rank",
         [helper.make_node("Relu", ["b0"], ["b"]),
          helper.make_node("Add", ["x", "b"], ["y"], broadcast=1, axis=0)],
         [x2, tensor_in("b0", FLOAT, [3])], [out("y")], opset=6)


def raw_tensor(name, dtype, dims):
    """A TensorProto with no data and no checks, for malformed cases."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    return t


def write_initializer_models(d):
    f32 = np.array([[1.5, -2.0, 3.25], [0.0, 4.0, -5.5]], np.float32)
    i64 = np.array([1, -2, 1 << 40], np.int64)
    i32 = np.array([7, -8, 9, 2147483647], np.int32)
    bools = np.array([True, False, True], np.bool_)
    f64 = np.array([0.5, -1e300], np.float64)
    f16 = np.array([1.0, -2.5, 65504.0], np.float16)
    u8 = np.array([0, 200, 255], np.uint8)
    i8 = np.array([-128, 0, 127], np.int8)

    inits = [
        numpy_helper.from_array(f32, "f32_raw"),
        helper.make_tensor("f32_typed", FLOAT, f32.shape, f32.flatten()),
        numpy_helper.from_array(i64, "i64_raw"),
        helper.make_tensor("i64_typed", TensorProto.INT64, i64.shape, i64),
        numpy_helper.from_array(i32, "i32_raw"),
        helper.make_tensor("i32_typed", TensorProto.INT32, i32.shape, i32),
        numpy_helper.from_array(bools, "bool_raw"),
        helper.make_tensor("bool_typed", TensorProto.BOOL, bools.shape,
                           bools),
        numpy_helper.from_array(f64, "f64_raw"),
        helper.make_tensor("f64_typed", TensorProto.DOUBLE, f64.shape, f64),
        numpy_helper.from_array(f16, "f16_raw"),
        helper.make_tensor("f16_typed", TensorProto.FLOAT16, f16.shape, f16),
        helper.make_tensor("u8_typed", TensorProto.UINT8, u8.shape, u8),
        helper.make_tensor("i8_typed", TensorProto.INT8, i8.shape, i8),
        numpy_helper.from_array(np.array(3.0, np.float32), "scalar"),
        numpy_helper.from_array(np.zeros((0, 3), np.float32), "empty"),
    ]
    outputs = [out(t.name, t.data_type) for t in inits]
    save(d, "initializers", [], [], outputs, initializers=inits)

    # The float16 typed field must carry the bit patterns, not the values.
    typed = inits[11]
    assert list(typed.int32_data) == list(f16.view(np.uint16)), typed

    bad = numpy_helper.from_array(f32, "w")
    bad.raw_data = bad.raw_data[:-4]
    save(d, "bad_raw_size", [], [], [out("w")], initializers=[bad])
    short = raw_tensor("w", FLOAT, [2, 3])
    short.float_data.extend([1.0, 2.0])
    save(d, "bad_typed_count", [], [], [out("w")], initializers=[short])
    negative = raw_tensor("w", FLOAT, [2, -3])
    save(d, "bad_negative_dim", [], [], [out("w")], initializers=[negative])
    strings = helper.make_tensor("w", TensorProto.STRING, [1], [b"hi"])
    save(d, "bad_string_tensor", [], [], [out("w", TensorProto.STRING)],
         initializers=[strings])
    huge = raw_tensor("w", FLOAT, [1 << 40, 1 << 40])
    save(d, "bad_numel_overflow", [], [], [out("w")], initializers=[huge])
    deep = raw_tensor("w", FLOAT, [1] * 9)
    deep.float_data.append(1.0)
    save(d, "bad_rank", [], [], [out("w")], initializers=[deep])

    # A graph input that is also an initializer is a constant.
    save(d, "input_initializer",
         [helper.make_node("Add", ["x", "w"], ["y"])],
         [tensor_in("x", FLOAT, [3]), tensor_in("w", FLOAT, [3])],
         [out("y")],
         initializers=[numpy_helper.from_array(
             np.array([1, 2, 3], np.float32), "w")])


def external_tensor(name, array, location, offset=None, length=None):
    t = numpy_helper.from_array(array, name)
    set_external_data(t, location, offset, length)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    return t


def write_external_models(d):
    ext = os.path.join(d, "ext")
    os.makedirs(ext, exist_ok=True)
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    with open(os.path.join(ext, "weights.bin"), "wb") as f:
        f.write(b"\0" * 16 + w.tobytes())
    with open(os.path.join(d, "outside.bin"), "wb") as f:
        f.write(w.tobytes())
    link = os.path.join(ext, "link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("../outside.bin", link)

    cases = {
        "ext_ok": ("weights.bin", 16, w.nbytes),
        "ext_escape": ("../outside.bin", 0, None),
        "ext_absolute": (os.path.abspath(os.path.join(d, "outside.bin")), 0,
                         None),
        "ext_symlink": ("link.bin", 0, None),
        "ext_short": ("weights.bin", 32, None),
        "ext_missing": ("nothing.bin", 0, None),
    }
    for name, (location, offset, length) in cases.items():
        t = external_tensor("w", w, location, offset, length)
        save(ext, name, [], [], [out("w")], initializers=[t])


def write_graph_models(d):
    x = tensor_in("x", FLOAT, ["batch", 3, None])
    save(d, "inputs_symbolic", [helper.make_node("Relu", ["x"], ["y"])],
         [x], [out("y"), out("y")])

    x3 = tensor_in("x", FLOAT, [3])
    save(d, "unsorted",
         [helper.make_node("Neg", ["b"], ["y"], name="third"),
          helper.make_node("Relu", ["a"], ["b"], name="second"),
          helper.make_node("Abs", ["x"], ["a"], name="first")],
         [x3], [out("y")])
    save(d, "cycle",
         [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
          helper.make_node("Add", ["x", "a"], ["b"], name="n2")],
         [x3], [out("b")])
    save(d, "undefined_input",
         [helper.make_node("Add", ["x", "nope"], ["y"], name="adder")],
         [x3], [out("y")])
    save(d, "duplicate_output",
         [helper.make_node("Relu", ["x"], ["y"], name="r1"),
          helper.make_node("Abs", ["x"], ["y"], name="r2")],
         [x3], [out("y")])
    save(d, "no_outputs", [helper.make_node("Relu", ["x"], ["y"])],
         [x3], [])
    save(d, "bad_arity",
         [helper.make_node("Relu", ["x", "x"], ["y"], name="two_in")],
         [x3], [out("y")])
    save(d, "missing_required",
         [helper.make_node("Add", ["x", ""], ["y"], name="half_add")],
         [x3], [out("y")])
    save(d, "undefined_output", [helper.make_node("Relu", ["x"], ["y"])],
         [x3], [out("z")])
    save(d, "optional_input",
         [helper.make_node("Clip", ["x", "", "hi"], ["y"], name="clip")],
         [x3], [out("y")], opset=13,
         initializers=[numpy_helper.from_array(np.array(6, np.float32),
                                               "hi")])
    save(d, "declared_dtype",
         [helper.make_node("Relu", ["x"], ["t"]),
          helper.make_node("Clip", ["t"], ["y"], min=1.0)],
         [tensor_in("x", TensorProto.DOUBLE, [3])],
         [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [99])],
         opset=6,
         value_info=[helper.make_tensor_value_info("t", TensorProto.DOUBLE,
                                                   [3])])

    vt = numpy_helper.from_array(np.array([1, 2], np.int32), "unused")
    save(d, "constants",
         [helper.make_node("Constant", [], ["c_tensor"], value=vt),
          helper.make_node("Constant", [], ["c_float"], value_float=2.5),
          helper.make_node("Constant", [], ["c_floats"],
                           value_floats=[1.0, 2.0, 3.0]),
          helper.make_node("Constant", [], ["c_int"], value_int=-7),
          helper.make_node("Constant", [], ["c_ints"], value_ints=[4, 5]),
          helper.make_node("Add", ["c_float", "c_floats"], ["y"])],
         [], [out("y"), out("c_tensor", TensorProto.INT32),
              out("c_int", TensorProto.INT64),
              out("c_ints", TensorProto.INT64)])
    save(d, "constant_string",
         [helper.make_node("Constant", [], ["c"], value_string="hi",
                           name="cs")],
         [], [out("c", TensorProto.STRING)])
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("v", FLOAT, [1], [1.0]),
        helper.make_tensor("i", TensorProto.INT64, [1], [0]), [4])
    save(d, "constant_sparse",
         [helper.make_node("Constant", [], ["c"], sparse_value=sparse,
                           name="csp")],
         [], [out("c")])
    save(d, "tensor_attr",
         [helper.make_node("ConstantOfShape", ["shape"], ["y"], name="cos",
                           value=numpy_helper.from_array(
                               np.array([0.5], np.float32), "v"))],
         [], [out("y")], initializers=[int64s("shape", [2, 2])])

    save(d, "unsupported_op",
         [helper.make_node("StringNormalizer", ["x"], ["y"], name="sn")],
         [x3], [out("y")])
    save(d, "unsupported_domain",
         [helper.make_node("FusedGemm", ["x"], ["y"], name="fg",
                           domain="com.microsoft")],
         [x3], [out("y")],
         extra_opsets=[helper.make_opsetid("com.microsoft", 1)])
    body = helper.make_graph([], "body", [], [])
    save(d, "graph_attr",
         [helper.make_node("Relu", ["x"], ["y"], name="r", body=body)],
         [x3], [out("y")])

    m = onnx.ModelProto()
    m.ir_version = 8
    with open(os.path.join(d, "no_graph.onnx"), "wb") as f:
        f.write(m.SerializeToString())


def attr_ref(name, ref, attr_type):
    a = AttributeProto()
    a.name = name
    a.ref_attr_name = ref
    a.type = attr_type
    return a


def write_function_models(d):
    dom = "custom"
    fn_opsets = [helper.make_opsetid("", 13)]
    # scale_add(a, b) = LeakyRelu(a + b * k, alpha), k and alpha from the
    # caller's attributes.
    k = helper.make_node("Constant", [], ["k"])
    k.attribute.append(attr_ref("value_float", "k", AttributeProto.FLOAT))
    leaky = helper.make_node("LeakyRelu", ["s"], ["y"])
    leaky.attribute.append(attr_ref("alpha", "alpha", AttributeProto.FLOAT))
    scale_add = helper.make_function(
        dom, "ScaleAdd", ["a", "b"], ["y"],
        [k, helper.make_node("Mul", ["b", "k"], ["t"]),
         helper.make_node("Add", ["a", "t"], ["s"]), leaky],
        fn_opsets, ["k", "alpha"])
    # twice(a) calls scale_add twice and passes its own alpha on.
    first = helper.make_node("ScaleAdd", ["a", "a"], ["t"], domain=dom,
                             k=1.0)
    first.attribute.append(attr_ref("alpha", "alpha", AttributeProto.FLOAT))
    second = helper.make_node("ScaleAdd", ["t", "a"], ["y"], domain=dom,
                              k=3.0)
    second.attribute.append(attr_ref("alpha", "alpha",
                                     AttributeProto.FLOAT))
    twice = helper.make_function(dom, "Twice", ["a"], ["y", "a_out"],
                                 [first, second],
                                 fn_opsets + [helper.make_opsetid(dom, 1)],
                                 ["alpha"])
    # a_out is the input passed through: the loader adds an Identity.
    twice.output[1] = "a"
    x3 = tensor_in("x", FLOAT, [3])
    save(d, "function",
         [helper.make_node("ScaleAdd", ["x", "x"], ["y1"], domain=dom,
                           name="call1", k=2.0, alpha=0.5),
          helper.make_node("Twice", ["y1"], ["y2", "y3"], domain=dom,
                           name="call2", alpha=0.25)],
         [x3], [out("y1"), out("y2"), out("y3")],
         functions=[scale_add, twice],
         extra_opsets=[helper.make_opsetid(dom, 1)])

    rec = helper.make_function(
        dom, "Rec", ["a"], ["y"],
        [helper.make_node("Rec", ["a"], ["y"], domain=dom)],
        fn_opsets + [helper.make_opsetid(dom, 1)])
    save(d, "function_recursive",
         [helper.make_node("Rec", ["x"], ["y"], domain=dom, name="rec")],
         [x3], [out("y")], functions=[rec],
         extra_opsets=[helper.make_opsetid(dom, 1)])


def write_control_models(d):
    x3 = tensor_in("x", FLOAT, [3])
    w = numpy_helper.from_array(np.ones(3, dtype=np.float32), "w")
    then_body = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["t"], name="then_add")],
        "then", [], [out("t")])
    else_body = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])],
                                  "else", [], [out("e")])
    save(d, "if_capture",
         [helper.make_node("If", ["c"], ["y"], name="choose",
                           then_branch=then_body, else_branch=else_body)],
         [tensor_in("c", TensorProto.BOOL, []), x3], [out("y")],
         initializers=[w])

    inner = helper.make_graph([helper.make_node("Add", ["acc", "x"], ["s"])],
                              "inner", [], [out("s")])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]),
         helper.make_node("If", ["cond"], ["acc_out"], name="inner_if",
                          then_branch=inner, else_branch=inner)],
        "body",
        [tensor_in("i", TensorProto.INT64, []),
         tensor_in("cond", TensorProto.BOOL, []), tensor_in("acc", FLOAT, [3])],
        [out("cond_out", TensorProto.BOOL), out("acc_out")])
    save(d, "loop_nested_capture",
         [helper.make_node("Loop", ["m", "", "x"], ["y"], name="repeat",
                           body=body)],
         [x3], [out("y")], initializers=[int64s("m", 3)])

    bad_body = helper.make_graph([helper.make_node("Neg", ["nope"], ["t"])],
                                 "then", [], [out("t")])
    save(d, "if_undefined_name",
         [helper.make_node("If", ["c"], ["y"], name="broken",
                           then_branch=bad_body, else_branch=else_body)],
         [tensor_in("c", TensorProto.BOOL, []), x3], [out("y")])

    scan_body = helper.make_graph([helper.make_node("Identity", ["a"], ["b"])],
                                  "scan", [tensor_in("a", FLOAT, [])],
                                  [out("b")])
    save(d, "scan", [helper.make_node("Scan", ["x"], ["y"], name="scanner",
                                      body=scan_body, num_scan_inputs=1)],
         [x3], [out("y")])


def write_broken_files(d):
    x3 = tensor_in("x", FLOAT, [3])
    w = numpy_helper.from_array(np.ones(256, np.float32), "w")
    model = save(d, "whole", [helper.make_node("Add", ["x", "w"], ["y"])],
                 [x3], [out("y")], initializers=[w])
    data = model.SerializeToString()
    with open(os.path.join(d, "truncated.onnx"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(d, "random.onnx"), "wb") as f:
        f.write(random.Random(1234).randbytes(512))
    open(os.path.join(d, "empty.onnx"), "wb").close()

    t = numpy_helper.from_array(np.array([[1, 2], [3, 4]], np.int64),
                                "tensor_name")
    with open(os.path.join(d, "tensor.pb"), "wb") as f:
        f.write(t.SerializeToString())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_models.py OUTPUT_DIR")
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    write_normalisation_models(d)
    write_initializer_models(d)
    write_external_models(d)
    write_graph_models(d)
    write_function_models(d)
    write_control_models(d)
    write_broken_files(d)


if __name__ == "__main__":
    main()
