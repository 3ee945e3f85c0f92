"""Check QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
MatMulInteger and QLinearMatMul.

Usage: check_quantize.py ONNXC WORK_DIR

Expected values follow the ONNX definitions in numpy float32 arithmetic.
Quantize is saturate(rint(x / scale) + zero_point) with ties to even,
and dequantize is (x - zero_point) * scale.  Both run per tensor and per
axis (negative axes too), for int8, uint8 and int32 data, and values
must match exactly.  The integer products are checked against numpy's
int64 matmul, with per-row zero points and batches.  A scale of the wrong length, a zero point of another shape or
dtype, a float16 input and per-row zero points of a 3-D A must fail
with a clear message.  QLinearMatMul takes float16 scales from opset 21.
"""

import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from one_node import check_error, parse_args, run_node  # noqa: E402

ELEM = {np.float32: TensorProto.FLOAT, np.int8: TensorProto.INT8, np.int64: TensorProto.INT64,
        np.uint8: TensorProto.UINT8, np.int32: TensorProto.INT32,
        np.float16: TensorProto.FLOAT16, np.int16: TensorProto.INT16,
        np.uint16: TensorProto.UINT16}


def info(dtype):
    return np.iinfo(dtype)


def per_axis(v, shape, axis):
    """Broadcast a per-axis vector (or a scalar) against shape."""
    if v.ndim == 0:
        return v
    dims = [1] * len(shape)
    dims[axis] = -1
    return v.reshape(dims)


def run(onnxc, work, name, op, feeds, out_dtypes, opset=13, **attrs):
    names = [k for k, v in feeds.items() if v is not None]
    node = helper.make_node(op, names, ["y%d" % i for i in range(len(out_dtypes))],
                            name="q", **attrs)
    inputs = [(k, ELEM[feeds[k].dtype.type], list(feeds[k].shape)) for k in names]
    outputs = [("y%d" % i, ELEM[t], None) for i, t in enumerate(out_dtypes)]
    return run_node(onnxc, work, name, node, inputs, outputs,
                    {k: feeds[k] for k in names}, opset)


def check_products(onnxc, work, rng):
    """MatMulInteger and QLinearMatMul against numpy int64 products."""
    failures = 0
    cases = [((5, 7), (7, 3), np.uint8, np.uint8, True),
             ((2, 4, 6), (6, 5), np.int8, np.uint8, False),
             ((3, 2, 4), (3, 4, 2), np.uint8, np.int8, False)]
    for index, (sa, sb, ta, tb, per_row) in enumerate(cases):
        a = rng.integers(info(ta).min, info(ta).max, sa, endpoint=True).astype(ta)
        b = rng.integers(info(tb).min, info(tb).max, sb, endpoint=True).astype(tb)
        az = (rng.integers(0, 50, sa[0]) if per_row else
              rng.integers(0, 50, ())).astype(ta)
        bz = rng.integers(0, 50, ()).astype(tb)
        a_col = az.reshape(-1, 1) if per_row else az
        product = np.matmul(a.astype(np.int64) - a_col, b.astype(np.int64) - bz)
        got, err = run(onnxc, work, "mi%d" % index, "MatMulInteger",
                       {"A": a, "B": b, "az": az, "bz": bz}, [np.int32])
        ok = got is not None and np.array_equal(got["y0"], product.astype(np.int32))
        print("MatMulInteger %s x %s: %s" % (sa, sb, "ok" if ok else "FAILED\n" + (err or "")))
        failures += not ok

        a_scale, b_scale, y_scale = (np.array(v, np.float32) for v in (0.02, 0.05, 0.7))
        y_zp = np.array(10 if ta == np.uint8 else -3, ta)
        mult = np.float64(a_scale) * np.float64(b_scale) / np.float64(y_scale)
        want = np.clip(np.rint(product * mult) + y_zp, info(ta).min,
                       info(ta).max).astype(ta)
        got, err = run(onnxc, work, "ql%d" % index, "QLinearMatMul",
                       {"a": a, "as": a_scale, "az": az, "b": b, "bs": b_scale,
                        "bz": bz, "ys": y_scale, "yz": y_zp}, [ta])
        ok = got is not None and np.array_equal(got["y0"], want)
        print("QLinearMatMul %s x %s: %s" % (sa, sb, "ok" if ok else "FAILED\n" + (err or "")))
        failures += not ok
    return failures + check_half_scales(onnxc, work, rng)


def check_half_scales(onnxc, work, rng):
    """QLinearMatMul-21 with float16 scales, on products large enough that
    many outputs saturate, and the same model at opset 13, which allows
    only float32 scales."""
    a = rng.integers(-128, 127, (4, 6), endpoint=True).astype(np.int8)
    b = rng.integers(-128, 127, (6, 5), endpoint=True).astype(np.int8)
    az, bz, yz = np.array(-14, np.int8), np.array(-13, np.int8), np.array(-9, np.int8)
    scales = [np.array(v, np.float16) for v in (0.0066, 0.00705, 0.004)]
    feeds = {"a": a, "as": scales[0], "az": az, "b": b, "bs": scales[1], "bz": bz,
             "ys": scales[2], "yz": yz}
    product = np.matmul(a.astype(np.int64) - az, b.astype(np.int64) - bz)
    mult = np.float64(scales[0]) * np.float64(scales[1]) / np.float64(scales[2])
    exact = np.rint(product * mult) + yz
    want = np.clip(exact, -128, 127).astype(np.int8)
    got, err = run(onnxc, work, "qlh", "QLinearMatMul", feeds, [np.int8], opset=21)
    ok = got is not None and np.array_equal(got["y0"], want)
    print("QLinearMatMul float16 scales (%d of 20 saturate): %s"
          % (np.count_nonzero(exact != want), "ok" if ok else "FAILED\n" + (err or "")))
    failures = not ok
    got, err = run(onnxc, work, "qlh13", "QLinearMatMul", feeds, [np.int8], opset=13)
    failures += not check_error("float16 scale at opset 13", got, err,
                                ["A's scale has dtype f16; expected f32"])
    return failures


def check_opset21(onnxc, work, x):
    """16-bit quantization and output_dtype (opset 21), and the opset 21
    to 25 attributes that onnxc rejects: block_size, precision and
    DequantizeLinear's output_dtype."""
    failures = 0
    scale = np.array(0.01, np.float32)
    for qtype in (np.int16, np.uint16):
        zp = np.array(100, qtype)
        want = np.clip(np.rint(np.divide(x, scale)) + np.float32(100),
                       info(qtype).min, info(qtype).max).astype(qtype)
        name = np.dtype(qtype).name
        got, err = run(onnxc, work, "q21" + name, "QuantizeLinear",
                       {"x": x, "s": scale, "z": zp}, [qtype], opset=21)
        ok = got is not None and np.array_equal(got["y0"], want)
        print("QuantizeLinear-21 %s: %s" % (name, "ok" if ok else "FAILED\n" + (err or "")))
        failures += not ok
        got, err = run(onnxc, work, "dq21" + name, "DequantizeLinear",
                       {"x": want, "s": scale, "z": zp}, [np.float32], opset=21)
        want_dq = (want.astype(np.float32) - np.float32(100)) * scale
        ok = got is not None and np.array_equal(got["y0"], want_dq)
        print("DequantizeLinear-21 %s: %s" % (name, "ok" if ok else "FAILED\n" + (err or "")))
        failures += not ok

    # output_dtype without a zero point picks int8 instead of uint8.
    want = np.clip(np.rint(np.divide(x, np.float32(2))), -128, 127).astype(np.int8)
    got, err = run(onnxc, work, "q21out", "QuantizeLinear",
                   {"x": x, "s": np.array(2, np.float32)}, [np.int8], opset=21,
                   output_dtype=TensorProto.INT8)
    ok = got is not None and got["y0"].dtype == np.int8 and np.array_equal(got["y0"], want)
    print("QuantizeLinear-21 output_dtype int8: %s" % ("ok" if ok else "FAILED\n" + (err or "")))
    failures += not ok

    x8 = np.zeros(4, np.uint8)
    errors = [
        ("int16 zero point at opset 13", "QuantizeLinear", 13, {},
         {"x": x, "s": scale, "z": np.array(0, np.int16)}, [np.int16],
         ["the zero point has dtype i16, which is not supported (int8 and uint8 are)"]),
        ("block_size", "QuantizeLinear", 21, {"block_size": 2},
         {"x": x, "s": scale}, [np.uint8], ["block_size 2 is not supported"]),
        ("precision", "QuantizeLinear", 23, {"precision": TensorProto.FLOAT16},
         {"x": x, "s": scale}, [np.uint8], ["precision 10 is not supported"]),
        ("output_dtype against zero point", "QuantizeLinear", 21,
         {"output_dtype": TensorProto.INT8},
         {"x": x, "s": scale, "z": np.array(0, np.uint8)}, [np.int8],
         ["the zero point has dtype u8, but output_dtype is i8"]),
        ("dequantize output_dtype", "DequantizeLinear", 23,
         {"output_dtype": TensorProto.FLOAT16},
         {"x": x8, "s": scale}, [np.float16], ["output_dtype 10 is not supported"]),
    ]
    for label, op, opset, attrs, feeds, out, needles in errors:
        got, err = run(onnxc, work, "e21" + label.replace(" ", "_"), op, feeds, out,
                       opset=opset, **attrs)
        failures += not check_error(label, got, err, needles)
    return failures


def main():
    args = parse_args(__doc__)
    if args is None:
        return 2
    onnxc, work = args
    rng = np.random.default_rng(4)
    failures, count = 0, 0
    x = (rng.standard_normal((2, 3, 4)) * 100).astype(np.float32)
    x.flat[:6] = [0.5, 1.5, 2.5, -0.5, -1.5, 1e9]  # ties, saturation
    for qtype in (np.uint8, np.int8):
        for axis in (None, 1, -1):
            if axis is None:
                scale = np.array(0.7, np.float32)
                zp = np.array(3, qtype)
            else:
                n = x.shape[axis]
                scale = rng.uniform(0.3, 2.0, n).astype(np.float32)
                zp = rng.integers(0, 20, n).astype(qtype)
            attrs = {} if axis is None else {"axis": axis}
            ax = axis if axis is not None else 0
            s, z = per_axis(scale, x.shape, ax), per_axis(zp, x.shape, ax)
            want_q = np.clip(np.rint(np.divide(x, s)) + z.astype(np.float32),
                             info(qtype).min, info(qtype).max).astype(qtype)
            count += 1
            got, err = run(onnxc, work, "q%d" % count, "QuantizeLinear",
                           {"x": x, "s": scale, "z": zp}, [qtype], **attrs)
            ok = got is not None and np.array_equal(got["y0"], want_q)
            print("QuantizeLinear %s axis %s: %s" % (np.dtype(qtype).name, axis,
                                                     "ok" if ok else "FAILED\n" + (err or "")))
            failures += not ok

            want_dq = (want_q.astype(np.float32) - z.astype(np.float32)) * s
            count += 1
            got, err = run(onnxc, work, "q%d" % count, "DequantizeLinear",
                           {"x": want_q, "s": scale, "z": zp}, [np.float32], **attrs)
            ok = got is not None and np.array_equal(got["y0"], want_dq)
            print("DequantizeLinear %s axis %s: %s" % (np.dtype(qtype).name, axis,
                                                       "ok" if ok else "FAILED\n" + (err or "")))
            failures += not ok

    # No zero point: uint8 output; int32 input to DequantizeLinear.
    count += 1
    got, err = run(onnxc, work, "q%d" % count, "QuantizeLinear",
                   {"x": x, "s": np.array(2.0, np.float32)}, [np.uint8])
    want = np.clip(np.rint(x / np.float32(2.0)), 0, 255).astype(np.uint8)
    ok = got is not None and np.array_equal(got["y0"], want)
    print("QuantizeLinear without zero point: %s" % ("ok" if ok else "FAILED\n" + (err or "")))
    failures += not ok
    xi = rng.integers(-2 ** 20, 2 ** 20, 12).astype(np.int32)
    count += 1
    got, err = run(onnxc, work, "q%d" % count, "DequantizeLinear",
                   {"x": xi, "s": np.array(0.25, np.float32)}, [np.float32])
    ok = got is not None and np.array_equal(got["y0"], xi.astype(np.float32) * 0.25)
    print("DequantizeLinear int32: %s" % ("ok" if ok else "FAILED\n" + (err or "")))
    failures += not ok

    for label, data in (("mixed", x), ("all positive", np.abs(x) + 1),
                        ("all zero", np.zeros(5, np.float32))):
        count += 1
        got, err = run(onnxc, work, "q%d" % count, "DynamicQuantizeLinear",
                       {"x": data}, [np.uint8, np.float32, np.uint8])
        lo, hi = min(0.0, data.min()), max(0.0, data.max())
        scale = np.float32((np.float32(hi) - np.float32(lo)) / np.float32(255))
        if scale == 0:
            zp, want = np.uint8(0), np.zeros(data.shape, np.uint8)
        else:
            zp = np.uint8(np.clip(np.rint((np.float32(0) - np.float32(lo)) / scale), 0, 255))
            want = np.clip(np.rint(data / scale) + np.float32(zp), 0, 255).astype(np.uint8)
        ok = got is not None and np.array_equal(got["y0"], want) and \
            got["y1"] == scale and got["y2"] == zp
        print("DynamicQuantizeLinear %s: %s" % (label, "ok" if ok else "FAILED\n" + (err or "")))
        failures += not ok

    failures += check_products(onnxc, work, rng)
    failures += check_opset21(onnxc, work, x)

    errors = [
        ("scale length", "QuantizeLinear",
         {"x": x, "s": np.ones(2, np.float32), "z": np.zeros(2, np.uint8)},
         ["QuantizeLinear node 'q'", "a vector of the 3 entries of axis 1"]),
        ("zero point shape", "DequantizeLinear",
         {"x": np.zeros(3, np.uint8), "s": np.ones(3, np.float32),
          "z": np.zeros(1, np.uint8)},
         ["zero point's shape differs"]),
        ("zero point dtype", "DequantizeLinear",
         {"x": np.zeros(3, np.uint8), "s": np.array(1, np.float32),
          "z": np.array(0, np.int8)},
         ["the zero point has dtype i8; expected u8, the dtype of x"]),
        ("float16 input", "QuantizeLinear",
         {"x": np.zeros(3, np.float16), "s": np.array(1, np.float32)},
         ["dtype f16 is not supported"]),
    ]
    for index, (label, op, feeds, needles) in enumerate(errors):
        got, err = run(onnxc, work, "e%d" % index, op, feeds, [np.float32])
        failures += not check_error(label, got, err, needles)

    feeds = {"a": np.zeros((2, 3, 4), np.int8), "b": np.zeros((4, 5), np.uint8),
             "az": np.zeros((2, 3, 1), np.int8)}
    got, err = run(onnxc, work, "e%d" % len(errors), "MatMulInteger", feeds, [np.int32])
    failures += not check_error("per-row zero point of a 3-D A", got, err,
                                ["MatMulInteger node 'q'", "A's zero point has 6 values; "
                                 "expected one, since one per row (per column) is "
                                 "supported only for a 2-D A (B)"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
