"""Check string tensors: Cast to and from strings, and ops that move them.

Usage: check_string_cast.py ONNXC WORK_DIR OPS_DEF

Numbers must print as numpy's str() prints them (shortest round-trip
digits; positional for 1e-4 <= |x| < 1e16, else scientific), for every
float16 bit pattern, every float32 power of two and subnormal boundary,
and random float32, float64 and integer values.  Strings must parse as
Python's float() does, then round once to the target dtype; integer
targets take integer strings exactly and saturate.  Strings also go
through Reshape, Transpose, Concat, Gather, Slice, Where and Identity, and
`onnxc run --expect` compares string outputs, escaping control bytes.
Malformed strings, casts between bool and string and string constants
must fail with a clear message and a non-zero exit, and every op listed
in ir/ops.def (OPS_DEF) that reads element values must reject a string
input cleanly.
"""

import decimal
import os
import subprocess
import sys
from decimal import Decimal

import numpy as np
import onnx
from onnx import TensorProto, helper

ELEM = {np.float16: TensorProto.FLOAT16, np.float32: TensorProto.FLOAT,
        np.float64: TensorProto.DOUBLE, np.int8: TensorProto.INT8,
        np.uint8: TensorProto.UINT8, np.int16: TensorProto.INT16,
        np.uint16: TensorProto.UINT16, np.int32: TensorProto.INT32,
        np.uint32: TensorProto.UINT32, np.int64: TensorProto.INT64,
        np.uint64: TensorProto.UINT64, str: TensorProto.STRING,
        np.bool_: TensorProto.BOOL}


def tool(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def save_model(path, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(
        nodes, "strings",
        [helper.make_tensor_value_info(n, ELEM[t], s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, ELEM[t], s) for n, t, s in outputs],
        list(initializers))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              path)


class Runner:
    def __init__(self, onnxc, work):
        self.onnxc, self.work, self.count, self.failures = onnxc, work, 0, 0

    def run(self, nodes, inputs, outputs, feeds, initializers=()):
        """Compile and run a model; return (outputs by name, None) or
        (None, the failing command's output)."""
        self.count += 1
        name = "m%d" % self.count
        model = os.path.join(self.work, name + ".onnx")
        save_model(model, nodes, inputs, outputs, initializers)
        lib = os.path.join(self.work, "lib%s.so" % name)
        result = tool([self.onnxc, "compile", model, "-o", lib, "--name", "m"])
        if result.returncode != 0:
            return None, result.stdout
        args = [self.onnxc, "run", lib, "-o", os.path.join(self.work, name + "_out")]
        for key, value in feeds.items():
            path = os.path.join(self.work, "%s_%s.npy" % (name, key))
            np.save(path, value)
            args += ["-i", "%s=%s" % (key, path)]
        result = tool(args)
        if result.returncode != 0:
            return None, result.stdout
        got = {}
        for out_name, _, _ in outputs:
            got[out_name] = np.load(os.path.join(self.work, name + "_out",
                                                 out_name + ".npy"))
        return got, None

    def check(self, label, ok, detail=""):
        print("%s: %s%s" % (label, "ok" if ok else "FAILED", "" if ok else "\n" + detail))
        self.failures += not ok


def decode(array):
    return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(array)


def float_values(dtype, rng):
    if dtype == np.float16:
        return np.arange(65536, dtype=np.uint16).view(np.float16)
    info = np.finfo(dtype)
    bits = np.uint32 if dtype == np.float32 else np.uint64
    random = rng.integers(0, np.iinfo(bits).max, 20000, dtype=bits,
                          endpoint=True).view(dtype)
    scaled = rng.standard_normal(2000) * 10.0 ** rng.integers(-10, 20, 2000)
    low = info.minexp - info.nmant
    powers = [np.ldexp(1.0, k) for k in range(low, info.maxexp)]
    edges = [0.0, -0.0, 1e-4, 1e16, info.max, info.smallest_normal,
             info.smallest_subnormal, 3.0, 100.0, 123456.0, np.nan, np.inf,
             -np.inf]
    values = np.concatenate([random, scaled.astype(dtype),
                             np.array(powers + edges, dtype)])
    with np.errstate(over="ignore", invalid="ignore"):
        near = np.concatenate([np.nextafter(values, dtype(np.inf)),
                               np.nextafter(values, dtype(-np.inf))])
    return np.concatenate([values, near]).astype(dtype)


def check_to_string(r, rng):
    for dtype in (np.float16, np.float32, np.float64):
        x = float_values(dtype, rng)
        got, err = r.run([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING)],
                         [("x", dtype, x.shape)], [("y", str, x.shape)], {"x": x})
        if got is None:
            r.check("%s to string" % dtype.__name__, False, err)
            continue
        want = np.array([str(v) for v in x], dtype=object)
        bad = np.nonzero(decode(got["y"]) != want)[0]
        r.check("%s to string, %d values" % (dtype.__name__, x.size), bad.size == 0,
                "\n".join("  %r: got %r, want %r" % (x[i], decode(got["y"])[i], want[i])
                          for i in bad[:10]))
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                  np.int64, np.uint64):
        info = np.iinfo(dtype)
        x = np.concatenate([rng.integers(info.min, info.max, 500, dtype=dtype,
                                         endpoint=True),
                            np.array([info.min, info.max, 0], dtype)])
        got, err = r.run([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING)],
                         [("x", dtype, x.shape)], [("y", str, x.shape)], {"x": x})
        ok = got is not None and list(decode(got["y"])) == [str(v) for v in x]
        r.check("%s to string" % dtype.__name__, ok, err or "")


def check_from_string(r, rng):
    x32 = rng.standard_normal(300).astype(np.float32) * np.float32(1e3)
    texts = [str(v) for v in x32] + [repr(float(v)) for v in rng.standard_normal(50)]
    texts += ["NaN", "nan", "INF", "+INF", "-INF", "inf", "-Infinity",
              "  1.5 ", "1E8", ".5", "5.", "-0", "0", "1e-50", "1e39", "-1e400",
              "0.1000000000000000055511151231257827021181583404541015625",
              "123456789012345678901234567890", "00012.50", "+3"]
    # 2.5 times the smallest double, exactly (753 digits): a tie that rounds
    # to even, and the same tie broken by a 1 past the 800th digit.
    tie = format(Decimal(2) ** -1074 * Decimal(5) / 2, "f")
    texts += [tie, tie + "0" * 50 + "1", "1" + "0" * 900, "1" * 805 + ".5"]
    strs = np.array(texts)
    for dtype in (np.float32, np.float64, np.float16):
        got, err = r.run([helper.make_node("Cast", ["s"], ["y"], to=ELEM[dtype])],
                         [("s", str, strs.shape)], [("y", dtype, strs.shape)],
                         {"s": strs})
        with np.errstate(over="ignore"):
            want = np.array([dtype(float(t)) if dtype != np.float16
                             else np.float16(np.float64(float(t))) for t in texts])
        ok = got is not None and np.array_equal(got["y"], want, equal_nan=True) \
            and np.array_equal(np.signbit(got["y"]), np.signbit(want))
        detail = err or "\n".join(
            "  %r: got %r, want %r" % (t, g, w)
            for t, g, w in zip(texts, got["y"], want)
            if not (g == w or (np.isnan(g) and np.isnan(w))))
        r.check("string to %s, %d values" % (dtype.__name__, len(texts)), ok, detail)

    # Exponents that bring a mantissa of a million digits back into
    # range: the written exponent alone is far out of range.  Bytes ('S'),
    # alone, to keep the .npy small.
    longs = ["1" + "0" * 1000000 + "e-1000000", "0." + "0" * 1000000 + "1e1000001",
             "1" + "0" * 1000000 + "e-999990", "1e-99999999999999999999999"]
    strs = np.array(longs, dtype="S")
    got, err = r.run([helper.make_node("Cast", ["s"], ["y"], to=TensorProto.DOUBLE)],
                     [("s", str, strs.shape)], [("y", np.float64, strs.shape)],
                     {"s": strs})
    want = [float(t) for t in longs]
    r.check("string to float64, mantissas of a million digits",
            got is not None and list(got["y"]) == want,
            err or "got %s, want %s" % (list(got["y"]), want))

    ints = ["0", "-5", "+7", " 42 ", "100.5", "-100.5", "1e3", "2.5e1",
            "9223372036854775807", "-9223372036854775808", "99999999999999999999",
            "-99999999999999999999", "18446744073709551615", "300", "-300", "nan"]
    strs = np.array(ints)
    for dtype in (np.int64, np.uint64, np.int32, np.uint8, np.int8):
        info = np.iinfo(dtype)
        got, err = r.run([helper.make_node("Cast", ["s"], ["y"], to=ELEM[dtype])],
                         [("s", str, strs.shape)], [("y", dtype, strs.shape)],
                         {"s": strs})
        want = []
        for t in ints:
            t = t.strip()
            if t.lstrip("+-").isdigit():
                v = int(t)  # integer strings convert exactly, saturating
            else:
                f = float(t)  # others go through double, truncate, saturate
                v = 0 if f != f else int(max(min(f, 2.0 ** 64), -2.0 ** 64))
            want.append(max(min(v, int(info.max)), int(info.min)))
        ok = got is not None and [int(v) for v in got["y"]] == want
        r.check("string to %s" % dtype.__name__, ok,
                err or "got %s\nwant %s" % (list(got["y"]), want))

    # float -> string -> float is the identity.
    x = float_values(np.float32, rng)
    got, err = r.run([helper.make_node("Cast", ["x"], ["s"], to=TensorProto.STRING),
                      helper.make_node("Cast", ["s"], ["y"], to=TensorProto.FLOAT)],
                     [("x", np.float32, x.shape)], [("y", np.float32, x.shape)],
                     {"x": x})
    ok = got is not None and np.array_equal(got["y"].view(np.uint32)[~np.isnan(x)],
                                            x.view(np.uint32)[~np.isnan(x)])
    r.check("float32 -> string -> float32 round trip", ok, err or "")


def check_moves(r):
    a = np.array([["a", "bb", ""], ["dddd", "é", "f f"]])
    b = np.array([["x", "y", "z"]])
    idx = np.array([2, 0, 1, 2], np.int64)
    cond = np.array([[True, False, True]])
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["c"], axis=0),
        helper.make_node("Transpose", ["c"], ["t"], perm=[1, 0]),
        helper.make_node("Gather", ["t", "idx"], ["g"], axis=0),
        helper.make_node("Reshape", ["g", "shape"], ["r"]),
        helper.make_node("Slice", ["r", "starts", "ends"], ["sl"]),
        helper.make_node("Where", ["cond", "a", "b"], ["w"]),
        helper.make_node("Identity", ["w"], ["w2"]),
    ]
    inits = [helper.make_tensor("shape", TensorProto.INT64, [2], [3, 4]),
             helper.make_tensor("starts", TensorProto.INT64, [1], [1]),
             helper.make_tensor("ends", TensorProto.INT64, [1], [3])]
    got, err = r.run(nodes,
                     [("a", str, [2, 3]), ("b", str, [1, 3]), ("idx", np.int64, [4]),
                      ("cond", np.bool_, [1, 3])],
                     [("sl", str, [2, 4]), ("w2", str, [2, 3])],
                     {"a": a, "b": b, "idx": idx, "cond": cond}, inits)
    want_sl = np.concatenate([a, b]).T[idx].reshape(3, 4)[1:3]
    want_w = np.where(cond, a, b)
    ok = got is not None and (decode(got["sl"]) == want_sl).all() and \
        (decode(got["w2"]) == want_w).all()
    r.check("strings through Concat, Transpose, Gather, Reshape, Slice, Where",
            ok, err or "got %s %s" % (got["sl"], got["w2"]))


def check_errors(r):
    cases = [
        ("malformed string", [helper.make_node("Cast", ["s"], ["y"], to=TensorProto.FLOAT,
                                               name="parse")],
         [("s", str, [4])], [("y", np.float32, [4])],
         {"s": np.array(["1", "2", "hello", "3"])}, (),
         ["Cast node 'parse'", "string 2", "\"hello\"", "not a number"]),
        ("trailing garbage", [helper.make_node("Cast", ["s"], ["y"], to=TensorProto.INT64)],
         [("s", str, [1])], [("y", np.int64, [1])], {"s": np.array(["12abc"])}, (),
         ["\"12abc\"", "not a number"]),
        ("empty string", [helper.make_node("Cast", ["s"], ["y"], to=TensorProto.DOUBLE)],
         [("s", str, [1])], [("y", np.float64, [1])], {"s": np.array([""])}, (),
         ["\"\"", "not a number"]),
        ("hex string", [helper.make_node("Cast", ["s"], ["y"], to=TensorProto.FLOAT)],
         [("s", str, [1])], [("y", np.float32, [1])], {"s": np.array(["0x10"])}, (),
         ["\"0x10\"", "not a number"]),
        ("bool to string", [helper.make_node("Cast", ["b"], ["y"], to=TensorProto.STRING)],
         [("b", np.bool_, [2])], [("y", str, [2])], {"b": np.array([True, False])}, (),
         ["cast from bool to string is not supported"]),
        ("string to bool", [helper.make_node("Cast", ["s"], ["y"], to=TensorProto.BOOL)],
         [("s", str, [1])], [("y", np.bool_, [1])], {"s": np.array(["1"])}, (),
         ["cast from string to bool is not supported"]),
        ("Add on strings", [helper.make_node("Add", ["s", "s"], ["y"], name="add")],
         [("s", str, [1])], [("y", str, [1])], {"s": np.array(["1"])}, (),
         ["Add", "'add'", "dtype string is not supported"]),
        ("Pad on strings", [helper.make_node("Pad", ["s", "pads"], ["y"])],
         [("s", str, [1])], [("y", str, [3])], {"s": np.array(["1"])},
         [helper.make_tensor("pads", TensorProto.INT64, [2], [1, 1])],
         ["dtype string, which this op does not support"]),
        ("string initializer", [helper.make_node("Identity", ["c"], ["y"])],
         [], [("y", str, [1])], {},
         [helper.make_tensor("c", TensorProto.STRING, [1], [b"x"])],
         ["initializer 'c' is a string tensor", "string constants are not supported"]),
    ]
    for label, nodes, inputs, outputs, feeds, inits, needles in cases:
        got, err = r.run(nodes, inputs, outputs, feeds, inits)
        ok = got is None and all(n in err for n in needles) and "Sanitizer" not in err
        r.check("error: " + label, ok, err or "it ran")


def check_expect(r):
    """onnxc run --expect on a string output: a match prints how many
    strings are equal, and a mismatch escapes the output's control bytes."""
    model = os.path.join(r.work, "expect.onnx")
    save_model(model, [helper.make_node("Identity", ["s"], ["y"])],
               [("s", str, [2])], [("y", str, [2])])
    lib = os.path.join(r.work, "libexpect.so")
    result = tool([r.onnxc, "compile", model, "-o", lib])
    r.check("compile the expect model", result.returncode == 0, result.stdout)
    feed = os.path.join(r.work, "expect_s.npy")
    np.save(feed, np.array(["ok", "\x1b[31mred"]))
    same = os.path.join(r.work, "expect_same.npy")
    np.save(same, np.array(["ok", "\x1b[31mred"]))
    result = tool([r.onnxc, "run", lib, "-i", "s=" + feed, "--expect", "y=" + same])
    r.check("expect strings equal", result.returncode == 0
            and "y: ok, all 2 strings equal" in result.stdout, result.stdout)
    other = os.path.join(r.work, "expect_other.npy")
    np.save(other, np.array(["ok", "blue"]))
    result = tool([r.onnxc, "run", lib, "-i", "s=" + feed, "--expect", "y=" + other])
    r.check("expect strings differ, escaped", result.returncode == 1
            and 'y: element 1 is "\\x1b[31mred", expected "blue"' in result.stdout
            and "\x1b" not in result.stdout, result.stdout)


# Ops that may take a string tensor: they only move, count or convert
# elements.  Every other op must reject one.
MOVERS = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
          "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND",
          "ScatterElements", "ScatterND", "Expand", "Tile", "Where", "Shape",
          "Size", "Cast", "CastLike", "DepthToSpace", "SpaceToDepth",
          "ReverseSequence", "Resize", "Upsample"}


def check_op_sweep(r, ops_def):
    """Give every op a string input 0, its other inputs strings or int64,
    and require a clean rejection from the ops that read values."""
    ops = []
    with open(ops_def) as f:
        for line in f:
            if line.startswith("IR_OP(") and '"onnxc.' not in line:
                parts = line[6:].split(",")
                name, least = parts[1].strip().strip('"'), int(parts[2])
                if name not in ("If", "Loop", "Constant"):
                    ops.append((name, max(least, 1)))
    wrong, accepted = [], set()
    for name, n_in in ops:
        for other in (str, np.int64):
            inputs = [("x0", str, [2, 3])] + [("x%d" % i, other, [1])
                                              for i in range(1, n_in)]
            feeds = {n: (np.array([["a", "b", "c"], ["d", "e", "f"]]) if t == str and i == 0
                         else np.array(["1"]) if t == str else np.array([1], np.int64))
                     for i, (n, t, _) in enumerate(inputs)}
            node = helper.make_node(name, [n for n, _, _ in inputs], ["y"])
            got, err = r.run([node], inputs, [("y", str, None)], feeds)
            crashed = err is not None and ("Sanitizer" in err or "internal" in err
                                           or "onnxc: error" not in err)
            if got is not None:
                accepted.add(name)
            if crashed or (got is not None and name not in MOVERS):
                wrong.append("  %s with %s operands: %s" % (
                    name, "string" if other == str else "int64",
                    err if crashed else "accepted strings"))
    # The sweep is only meaningful if the harness runs the ops that move.
    for name in ("Identity", "Transpose", "Flatten", "Shape"):
        if name not in accepted:
            wrong.append("  %s did not run on strings" % name)
    r.check("every op given strings runs or rejects them cleanly (%d ops; ran %s)"
            % (len(ops), ", ".join(sorted(accepted))), not wrong, "\n".join(wrong))


def main():
    decimal.getcontext().prec = 2000
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    onnxc, work, ops_def = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    r = Runner(onnxc, work)
    rng = np.random.default_rng(8)
    check_to_string(r, rng)
    check_from_string(r, rng)
    check_moves(r)
    check_errors(r)
    check_expect(r)
    check_op_sweep(r, ops_def)
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
