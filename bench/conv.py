"""Time one convolution or pool with onnxc and ONNX Runtime, and print
their ratio.

Usage:

    /usr/bin/python3 bench/conv.py [--case NAME] [--onnxc build/onnxc]
                                   [--rounds R] [--repeat K] [--threads N ...]

Each case is one PyTorch module exported at opset 13 (see CASES).  The
default, conv3x3, is a 3x3 Conv2d with bias from 64 to 64 channels with
padding 1 on a [1, 64, 56, 56] input, like a ResNet-50 stage-1
convolution.  For
each thread count, each of R rounds runs one
`onnxc run --repeat K` process and one `node ort_time.js` process, in
alternating order; each reports the median of K runs after one warm-up
run.  The output gives the median over rounds and the onnxc / ONNX Runtime
ratio (below 1: onnxc is faster).  It checks once that the outputs agree.
ONNX Runtime is onnxruntime-node in bench/node_modules (`npm ci
--ignore-scripts` in bench/ installs it).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

BENCH_DIR = Path(__file__).resolve().parent
LATENCY = re.compile(r"latency over \d+ runs: median ([0-9.]+) ms")


def run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    if result.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (cmd[0], result.stdout, result.stderr))
    return result.stdout + result.stderr


CASES = {
    # name: (module, input shape, multiply-adds of one run, 0 for pools)
    "conv3x3": (torch.nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56),
                64 * 64 * 9 * 56 * 56),
    "conv1x1": (torch.nn.Conv2d(256, 64, 1), (1, 256, 56, 56),
                256 * 64 * 56 * 56),
    "depthwise": (torch.nn.Conv2d(128, 128, 3, padding=1, groups=128),
                  (1, 128, 56, 56), 128 * 9 * 56 * 56),
    "conv1d": (torch.nn.Conv1d(80, 256, 3, padding=1), (1, 80, 1500),
               80 * 256 * 3 * 1500),
    "maxpool": (torch.nn.MaxPool2d(3, stride=2, padding=1), (1, 64, 112, 112),
                0),
    "avgpool": (torch.nn.AvgPool2d(3, stride=2, padding=1), (1, 64, 112, 112),
                0),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), default="conv3x3")
    parser.add_argument("--onnxc", default=str(BENCH_DIR.parent / "build/onnxc"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="onnxc-conv-bench-"))
    torch.manual_seed(0)
    module, shape, macs = CASES[args.case]
    x = torch.randn(*shape)
    model = work / "model.onnx"
    torch.onnx.export(module.eval(), (x,), str(model), input_names=["x"],
                      output_names=["y"], opset_version=13)
    np.save(work / "x.npy", x.numpy())
    lib = work / "libconv.so"
    run([args.onnxc, "compile", str(model), "-o", str(lib)])

    run([args.onnxc, "run", str(lib), "-i", "x=%s" % (work / "x.npy"), "-o",
         str(work / "onnxc_out")])
    ort_cmd = ["node", str(BENCH_DIR / "ort_time.js"), str(model)]
    run(ort_cmd + ["1", "1", "x=%s" % (work / "x.npy"), "--output-dir",
                   str(work / "ort_out")])
    diff = np.max(np.abs(np.load(work / "onnxc_out/y.npy") -
                         np.load(work / "ort_out/y.npy")))
    print("max abs difference between the outputs: %.3g" % diff)

    flops = 2 * macs
    for threads in args.threads:
        onnxc_ms, ort_ms = [], []
        for r in range(args.rounds):
            onnxc = lambda: onnxc_ms.append(float(LATENCY.search(run(
                [args.onnxc, "run", str(lib), "-i", "x=%s" % (work / "x.npy"),
                 "--threads", str(threads), "--repeat", str(args.repeat)])
            ).group(1)))
            ort = lambda: ort_ms.append(json.loads(run(
                ort_cmd + [str(threads), str(args.repeat),
                           "x=%s" % (work / "x.npy")]).strip().splitlines()[-1]
            )["median_ms"])
            for step in ((onnxc, ort) if r % 2 == 0 else (ort, onnxc)):
                step()
        a, b = statistics.median(onnxc_ms), statistics.median(ort_ms)
        rates = ("", "")
        if flops:
            rates = (" (%.1f GFLOP/s)" % (flops / a / 1e6),
                     " (%.1f GFLOP/s)" % (flops / b / 1e6))
        print("%s, threads %d: onnxc %.3f ms%s, ONNX Runtime %.3f ms%s, "
              "ratio %.2f" % (args.case, threads, a, rates[0], b, rates[1],
                              a / b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
