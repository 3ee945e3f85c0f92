"""Compile every exported e2e model with all passes, and once with each
fusion pass disabled, and check each library against PyTorch's outputs.

Usage: check_fusion.py ONNXC MODELS_DIR WORK_DIR [--batch b2] [--tolerance E]

MODELS_DIR is the output of tests/models/export.py.  Outputs must match
within E * max(1, max |reference|) (default E = 1e-4), as in the e2e
tests.  The --stats lines of the fully fused build are printed per model.
"""

import argparse
import json
import os
import subprocess
import sys

FUSION_PASSES = ["canonicalize", "cse", "fuse-norm", "fuse-gelu",
                 "fuse-attention", "fuse-matmul"]


def run(cmd, capture=False):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.STDOUT if capture else None,
                          universal_newlines=True)


def check_model(args, model_dir, disabled):
    with open(os.path.join(model_dir, "meta.json")) as f:
        meta = json.load(f)
    tag = "all" if disabled is None else "no-" + disabled
    lib = os.path.join(args.work_dir, "lib%s_%s.so" % (meta["name"], tag))
    compile_cmd = [args.onnxc, "compile", os.path.join(model_dir, "model.onnx"),
                   "-o", lib, "--name", "model"]
    for name, value in sorted(meta["dims"][args.batch].items()):
        compile_cmd += ["--dim", "%s=%d" % (name, value)]
    if disabled is None:
        compile_cmd.append("--stats")
    else:
        compile_cmd.append("--disable-pass=" + disabled)
    result = run(compile_cmd, capture=True)
    if disabled is None:
        for line in result.stdout.splitlines():
            if line.startswith(("fuse-", "canonicalize", "cse")):
                print("  stats: " + line)
    if result.returncode != 0:
        print(result.stdout)
        return False
    run_cmd = [args.onnxc, "run", lib, "--scaled-atol", repr(args.tolerance)]
    for tensor in meta["inputs"]:
        run_cmd += ["-i", "%s=%s" % (tensor["name"], os.path.join(
            model_dir, tensor["file"][args.batch]))]
    for tensor in meta["outputs"]:
        run_cmd += ["--expect", "%s=%s" % (tensor["name"], os.path.join(
            model_dir, tensor["file"][args.batch]))]
    return run(run_cmd).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnxc")
    parser.add_argument("models_dir")
    parser.add_argument("work_dir")
    parser.add_argument("--batch", default="b2")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--only", nargs="*", help="model names to check")
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)

    models = sorted(d for d in os.listdir(args.models_dir)
                    if os.path.exists(os.path.join(args.models_dir, d, "meta.json")))
    if args.only:
        models = [m for m in models if m in args.only]
    if not models:
        print("no exported models in %s" % args.models_dir)
        return 1
    failed = []
    for model in models:
        model_dir = os.path.join(args.models_dir, model)
        for disabled in [None] + FUSION_PASSES:
            if not check_model(args, model_dir, disabled):
                failed.append("%s (%s)" % (model, disabled or "all passes"))
    for name in failed:
        print("FAILED: " + name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
