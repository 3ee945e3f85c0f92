"""Run one trap case: compile its model with onnxc, run it on the case's
inputs and compare with the reference outputs, or, where meta.json sets
expect_error, check that compiling or running fails with a clean error.

Usage: check_case.py ONNXC CASE_DIR WORK_DIR

Outputs match when |got - want| <= atol + rtol * |want| with the case's
own tolerances; run compares NaN, infinities, integers and booleans
exactly.
"""

import json
import os
import subprocess
import sys

import numpy


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    print(result.stdout, end="")
    return result


def is_clean_failure(result):
    """A clean error: exit code 1 or 2 and an onnxc error message."""
    return result.returncode in (1, 2) and "error:" in result.stdout


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    onnxc, case_dir, work_dir = sys.argv[1:]
    with open(os.path.join(case_dir, "meta.json")) as f:
        meta = json.load(f)
    os.makedirs(work_dir, exist_ok=True)
    lib = os.path.join(work_dir, "lib%s.so" % meta["id"])

    compile_cmd = [onnxc, "compile", os.path.join(case_dir, "model.onnx"),
                   "-o", lib, "--name", "case"]
    run_cmd = [onnxc, "run", lib, "--rtol", repr(meta["rtol"]),
               "--atol", repr(meta["atol"])]
    for tensor in meta["inputs"]:
        if not tensor.get("feed", True):
            continue
        path = os.path.join(case_dir, tensor["file"])
        shape = numpy.load(path).shape
        compile_cmd += ["--shape", "%s=%s" % (tensor["name"],
                                              "x".join(str(d) for d in shape))]
        run_cmd += ["-i", "%s=%s" % (tensor["name"], path)]
    for tensor in meta["outputs"]:
        run_cmd += ["--expect", os.path.join(case_dir, tensor["file"])]

    compiled = run(compile_cmd)
    if meta.get("expect_error"):
        if compiled.returncode != 0:
            ok = is_clean_failure(compiled)
        else:
            ok = is_clean_failure(run(run_cmd))
        print("expected a clean error (%s): %s" % (meta["expect_error"],
                                                  "ok" if ok else "FAILED"))
        return 0 if ok else 1
    if compiled.returncode != 0:
        return 1
    return 0 if run(run_cmd).returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
