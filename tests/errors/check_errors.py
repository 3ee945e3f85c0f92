"""Feed onnxc bad models and bad inputs, and check that each gives a clear
error message and exit code 1 (2 for a usage error), never a crash.

Usage: check_errors.py ONNXC TINY_MODEL_DIR WORK_DIR
"""

import os
import re
import subprocess
import sys

import numpy
import onnx
from onnx import TensorProto, helper

failures = []
checks = []


def check(name, cmd, pattern, code=1):
    """Run cmd; its exit code must be code and its stderr match pattern."""
    checks.append(name)
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    ok = result.returncode == code and re.search(pattern, result.stderr)
    print("%s %s" % ("ok  " if ok else "FAIL", name))
    if not ok:
        print("  command: %s" % " ".join(cmd))
        print("  exit code %d, expected %d" % (result.returncode, code))
        print("  stderr: %s" % result.stderr.strip())
        print("  expected stderr to match: %s" % pattern)
        failures.append(name)


def write_model(path, nodes, inputs, outputs, opset=13, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, path)


def main():
    onnxc, tiny_dir, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tiny = os.path.join(tiny_dir, "model.onnx")
    with open(tiny, "rb") as f:
        data = f.read()

    truncated = os.path.join(work, "truncated.onnx")
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 3])
    check("truncated model", [onnxc, "compile", truncated, "-o", work + "/t.so"],
          r"error: .*truncated\.onnx.* (not a valid ONNX model|truncated)")

    garbage = os.path.join(work, "garbage.onnx")
    with open(garbage, "wb") as f:
        f.write(bytes(range(256)) * 8)
    check("non-protobuf bytes", [onnxc, "compile", garbage, "-o", work + "/g.so"],
          r"error: .*garbage\.onnx.* not a valid ONNX model")

    check("missing file", [onnxc, "compile", work + "/none.onnx"],
          r"error: .*none\.onnx")

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    unsupported = os.path.join(work, "unsupported.onnx")
    write_model(unsupported, [helper.make_node("LpNormalization", ["x"], ["y"],
                                               name="lp_node")],
                [x], [y])
    check("unsupported op", [onnxc, "compile", unsupported, "-o", work + "/u.so"],
          r"error: .*LpNormalization.*lp_node|lp_node.*LpNormalization")

    bad_reshape = os.path.join(work, "bad_reshape.onnx")
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [4, 4])
    write_model(bad_reshape,
                [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")],
                [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                initializers=[shape])
    check("reshape element count", [onnxc, "compile", bad_reshape, "-o",
                                    work + "/r.so"],
          r"error: Reshape node 'rs'.*")

    check("unbound symbolic dim", [onnxc, "compile", tiny, "-o", work + "/d.so"],
          r"error: .*symbolic dim 'batch'.*--dim batch=")
    check("unknown --dim", [onnxc, "compile", tiny, "--dim", "nosuch=3"],
          r"no symbolic dim named 'nosuch'")
    check("bad usage", [onnxc, "compile"], r"compile takes one model file", code=2)
    check("unknown command", [onnxc, "frobnicate"], r"unknown command", code=2)

    lib = os.path.join(work, "libtiny.so")
    result = subprocess.run([onnxc, "compile", tiny, "-o", lib, "--dim", "batch=1",
                             "--dim", "seq_len=8"])
    if result.returncode != 0:
        failures.append("compile tiny")
    else:
        ids = os.path.join(work, "ids9.npy")
        numpy.save(ids, numpy.ones((1, 9), dtype=numpy.int64))
        mask = os.path.join(tiny_dir, "attention_mask.npy")
        check("wrong input shape at run time",
              [onnxc, "run", lib, "-i", "input_ids=" + ids, "-i", "attention_mask=" + mask],
              r"input 'input_ids': shape is \[1,9\], expected \[1,8\]")
        ids_f = os.path.join(work, "ids_float.npy")
        numpy.save(ids_f, numpy.ones((1, 8), dtype=numpy.float32))
        check("wrong input dtype at run time",
              [onnxc, "run", lib, "-i", "input_ids=" + ids_f, "-i", "attention_mask=" + mask],
              r"input 'input_ids': dtype is float32, expected int64")
        check("unknown input name",
              [onnxc, "run", lib, "-i", "nosuch=" + ids, "-i", "attention_mask=" + mask],
              r"no input named 'nosuch'")
        bad_npy = os.path.join(work, "bad.npy")
        with open(bad_npy, "wb") as f:
            f.write(b"\x93NUMPY\x01\x00\x20\x00{'descr': '<i8', 'shape': (1,")
        check("truncated npy",
              [onnxc, "run", lib, "-i", "input_ids=" + bad_npy, "-i", "attention_mask=" + mask],
              r"bad\.npy")
        check("not a library", [onnxc, "run", bad_npy], r"cannot load")
        # Headers whose element count times element size wraps around 2^64,
        # so a product taken without care promises zero data bytes.
        for name, descr, count in (("wrapping S npy", "|S1048576", 1 << 44),
                                   ("wrapping U npy", "<U1048576", 1 << 42)):
            wrap_npy = os.path.join(work, "wrap.npy")
            header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (
                descr, count)
            header += " " * (-(10 + len(header) + 1) % 64) + "\n"
            with open(wrap_npy, "wb") as f:
                f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                        + header.encode())
            check(name,
                  [onnxc, "run", lib, "-i", "input_ids=" + wrap_npy,
                   "-i", "attention_mask=" + mask],
                  r"wrap\.npy': the header promises %d elements of \d+ bytes, "
                  r"more than a file can hold" % count)
        wide_npy = os.path.join(work, "wide.npy")
        numpy.save(wide_npy, numpy.array(["a" * 1100000]))
        for name, strings in (("NUL inside S npy", numpy.array([b"a", b"b\x00c"])),
                              ("NUL inside U npy", numpy.array(["a\x00c", "b"]))):
            nul_npy = os.path.join(work, "nul.npy")
            numpy.save(nul_npy, strings)
            check(name,
                  [onnxc, "run", lib, "-i", "input_ids=" + nul_npy,
                   "-i", "attention_mask=" + mask],
                  r"nul\.npy': element \d contains a NUL character before its "
                  r"end")
        check("too wide string npy",
              [onnxc, "run", lib, "-i", "input_ids=" + wide_npy,
               "-i", "attention_mask=" + mask],
              r"string dtype 'U1100000' is not supported: its width must be "
              r"1 to 1048576")

    print("%d passed, %d failed" % (len(checks) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
