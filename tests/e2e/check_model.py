"""Compile an exported model with onnxc and check its outputs against
PyTorch's reference.

Usage: check_model.py ONNXC MODEL_DIR BATCH WORK_DIR [--tolerance E]

MODEL_DIR is one model written by tests/models/export.py.  BATCH names a
reference set in its meta.json ("b1", "b2").  The compiled library must
reproduce every output within max abs error E * max(1, max |reference|)
(default E = 1e-4).
"""

import argparse
import json
import os
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnxc")
    parser.add_argument("model_dir")
    parser.add_argument("batch")
    parser.add_argument("work_dir")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    with open(os.path.join(args.model_dir, "meta.json")) as f:
        meta = json.load(f)
    os.makedirs(args.work_dir, exist_ok=True)
    lib = os.path.join(args.work_dir, "lib%s_%s.so" % (meta["name"], args.batch))

    compile_cmd = [args.onnxc, "compile", os.path.join(args.model_dir, "model.onnx"),
                   "-o", lib, "--name", "model"]
    for name, value in sorted(meta["dims"][args.batch].items()):
        compile_cmd += ["--dim", "%s=%d" % (name, value)]
    run_cmd = [args.onnxc, "run", lib, "--scaled-atol", repr(args.tolerance)]
    for tensor in meta["inputs"]:
        path = os.path.join(args.model_dir, tensor["file"][args.batch])
        run_cmd += ["-i", "%s=%s" % (tensor["name"], path)]
    for tensor in meta["outputs"]:
        path = os.path.join(args.model_dir, tensor["file"][args.batch])
        run_cmd += ["--expect", "%s=%s" % (tensor["name"], path)]

    for cmd in (compile_cmd, run_cmd):
        print("+ " + " ".join(cmd), flush=True)
        result = subprocess.run(cmd)
        if result.returncode != 0:
            print("command failed with exit code %d" % result.returncode)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
