"""Benchmark onnxc against ONNX Runtime on the same CPU, in the same run.

Usage:

    /usr/bin/python3 bench/run.py [--models NAME ...] [--threads N ...]
                                  [--rounds R] [--repeat K] [--quick]

For each model this exports it with bench/export.py (cached in bench/out)
and compiles it with `onnxc compile`, timing the compile and recording the
library size. It checks once that onnxc's outputs match ONNX Runtime's, and
profiles one onnxc run with `perf record` when perf works. Then, for each
thread count, it runs one untimed warm-up round and R timed rounds. A round
is one `onnxc run LIB --threads T --repeat K` process and one
`node ort_time.js MODEL T K ...` process, whose order alternates between
rounds. Each process times K runs after one warm-up run and reports their
median. The tables give the median over rounds of those per-process
medians, and the peak RSS of each process, from wait4().

ONNX Runtime comes from the onnxruntime-node package in bench/node_modules:
run `npm ci --ignore-scripts` in bench/ once.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MODELS = ["transformer", "bert", "seq2seq"]
ONNXC_LATENCY = re.compile(
    r"latency over (\d+) runs: median ([0-9.]+) ms, min ([0-9.]+) ms")
# Symbols of the generated library whose names mark them as matrix-multiply
# code: the GEMM core's micro-kernels (micro16, micro8, micro4), its tile
# loop and epilogue (rt_gemm_tile, epilogue) and the matmul kernels.
# NOTE: this matches the names of the current runtime; if the runtime
# renames them, update this pattern.
MATMUL_SYMBOL = re.compile(r"(^|_)(mm|matmul|gemm|sgemm)(_|$)|^micro\d+$|^epilogue$",
                           re.IGNORECASE)


@dataclass
class ProcessResult:
    """Output, wall time and peak resident set size of one child process."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    max_rss_kb: int


@dataclass
class Sample:
    """Latency of one benchmark process: median and min of its timed runs."""

    median_ms: float
    min_ms: float
    max_rss_kb: int


@dataclass
class ProfileEntry:
    """One row of `perf report`: percentage of samples, symbol and its object."""

    share: float
    symbol: str
    dso: str


@dataclass
class ModelResult:
    """Everything measured for one model."""

    name: str
    meta: dict
    compile_s: float = 0.0
    compile_rss_kb: int = 0
    library_bytes: int = 0
    max_abs_diff: Dict[str, float] = field(default_factory=dict)
    max_abs_ort: Dict[str, float] = field(default_factory=dict)
    profile: Optional[List[ProfileEntry]] = None
    # threads -> runtime name ("onnxc" or "ort") -> one sample per round
    samples: Dict[int, Dict[str, List[Sample]]] = field(default_factory=dict)
    ort_session_create_ms: Dict[int, float] = field(default_factory=dict)


def run_measured(command: List[str], cwd: Path = REPO_DIR) -> ProcessResult:
    """Run command to completion and return its output and peak RSS.

    The peak RSS is ru_maxrss (KiB on Linux) of that child alone, from
    wait4(), so it counts neither this script nor earlier children.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ProcessResult(process.returncode, out.read().decode(errors="replace"),
                             err.read().decode(errors="replace"), wall, usage.ru_maxrss)


def check_success(result: ProcessResult, command: List[str]) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"command failed with exit code {result.returncode}: "
                           f"{' '.join(command)}\n{result.stdout}{result.stderr}")


def model_dir(out_dir: Path, name: str) -> Path:
    return out_dir / name


def onnxc_command(onnxc: Path, library: Path, meta: dict, directory: Path,
                  threads: int, repeat: int) -> List[str]:
    command = [str(onnxc), "run", str(library), "--threads", str(threads)]
    for tensor in meta["inputs"]:
        command += ["-i", f"{tensor['name']}={directory / tensor['file']}"]
    if repeat > 0:
        command += ["--repeat", str(repeat)]
    return command


def ort_command(meta: dict, directory: Path, threads: int, repeat: int) -> List[str]:
    command = ["node", str(BENCH_DIR / "ort_time.js"), str(directory / "model.onnx"),
               str(threads), str(repeat)]
    command += [f"{t['name']}={directory / t['file']}" for t in meta["inputs"]]
    return command


def run_onnxc(command: List[str]) -> Sample:
    result = run_measured(command)
    check_success(result, command)
    match = ONNXC_LATENCY.search(result.stdout)
    if not match:
        raise RuntimeError(f"no latency line in the output of {' '.join(command)}:\n"
                           f"{result.stdout}")
    return Sample(float(match.group(2)), float(match.group(3)), result.max_rss_kb)


def run_ort(command: List[str]) -> Tuple[Sample, dict]:
    result = run_measured(command)
    check_success(result, command)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return Sample(report["median_ms"], report["min_ms"], result.max_rss_kb), report


def export_models(models: List[str], out_dir: Path) -> None:
    command = [sys.executable, str(BENCH_DIR / "export.py"), "--out-dir", str(out_dir),
               "--models", *models]
    subprocess.run(command, check=True, cwd=REPO_DIR)


def compile_model(onnxc: Path, result: ModelResult, directory: Path) -> Path:
    library = directory / f"lib{result.name}.so"
    command = [str(onnxc), "compile", str(directory / "model.onnx"), "-o", str(library)]
    outcome = run_measured(command)
    check_success(outcome, command)
    result.compile_s = outcome.wall_s
    result.compile_rss_kb = outcome.max_rss_kb
    result.library_bytes = library.stat().st_size
    return library


def compare_outputs(onnxc: Path, library: Path, result: ModelResult,
                    directory: Path) -> None:
    """Run both runtimes once, writing outputs, and record the max abs diff."""
    onnxc_dir = directory / "onnxc_outputs"
    ort_dir = directory / "ort_outputs"
    for path in (onnxc_dir, ort_dir):
        shutil.rmtree(path, ignore_errors=True)
    command = onnxc_command(onnxc, library, result.meta, directory, 1, 0)
    command += ["-o", str(onnxc_dir)]
    check_success(run_measured(command), command)
    command = ort_command(result.meta, directory, 1, 1) + ["--output-dir", str(ort_dir)]
    check_success(run_measured(command), command)
    for name in result.meta["outputs"]:
        got = np.load(onnxc_dir / f"{name}.npy")
        want = np.load(ort_dir / f"{name}.npy")
        if got.shape != want.shape:
            raise RuntimeError(f"{result.name}: output {name} has shape {got.shape} "
                               f"from onnxc and {want.shape} from ONNX Runtime")
        result.max_abs_diff[name] = float(np.max(np.abs(got.astype(np.float64) - want)))
        result.max_abs_ort[name] = float(np.max(np.abs(want)))


def perf_available() -> bool:
    if shutil.which("perf") is None:
        return False
    probe = subprocess.run(["perf", "stat", "-e", "task-clock", "true"],
                           capture_output=True)
    return probe.returncode == 0


def profile_onnxc(onnxc: Path, library: Path, result: ModelResult, directory: Path,
                  repeat: int) -> None:
    """Record one single-threaded onnxc run with perf and keep the top symbols.

    The shares are of all samples of the process, including loading the
    library and the warm-up run.
    """
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "perf.data"
        command = ["perf", "record", "-q", "-F", "499", "-o", str(data), "--",
                   *onnxc_command(onnxc, library, result.meta, directory, 1, repeat)]
        check_success(run_measured(command), command)
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--no-children", "--sort", "dso,symbol",
             "--stdio", "-q", "-g", "none"],
            capture_output=True, text=True, check=True)
    profile = []
    for line in report.stdout.splitlines():
        match = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[.\]\s+(\S+)", line)
        if match:
            profile.append(ProfileEntry(float(match.group(1)), match.group(3),
                                        match.group(2)))
    result.profile = profile


def matmul_share(result: ModelResult) -> float:
    """Return the percentage of samples in matmul symbols of the model library.

    Only symbols of lib<model>.so count, because kernel symbols such as
    __handle_mm_fault also match MATMUL_SYMBOL.
    """
    library = f"lib{result.name}.so"
    return sum(entry.share for entry in result.profile
               if entry.dso == library and MATMUL_SYMBOL.search(entry.symbol))


def benchmark_threads(onnxc: Path, library: Path, result: ModelResult, directory: Path,
                      threads: int, rounds: int, repeat: int,
                      load_samples: List[float]) -> None:
    onnxc_cmd = onnxc_command(onnxc, library, result.meta, directory, threads, repeat)
    ort_cmd = ort_command(result.meta, directory, threads, repeat)
    # Warm-up round: page in the library, the model file and the ORT binding.
    run_onnxc(onnxc_command(onnxc, library, result.meta, directory, threads, 1))
    run_ort(ort_command(result.meta, directory, threads, 1))
    samples = {"onnxc": [], "ort": []}
    for index in range(rounds):
        load_samples.append(os.getloadavg()[0])
        order = ["onnxc", "ort"] if index % 2 == 0 else ["ort", "onnxc"]
        for runtime in order:
            if runtime == "onnxc":
                samples["onnxc"].append(run_onnxc(onnxc_cmd))
            else:
                sample, report = run_ort(ort_cmd)
                samples["ort"].append(sample)
                result.ort_session_create_ms[threads] = report["session_create_ms"]
                result.meta["ort_version"] = report["ort_version"]
        print(f"  {result.name} threads {threads} round {index + 1}/{rounds}: "
              f"onnxc {samples['onnxc'][-1].median_ms:.2f} ms, "
              f"ORT {samples['ort'][-1].median_ms:.2f} ms, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    load_samples.append(os.getloadavg()[0])
    result.samples[threads] = samples


def median_of(samples: List[Sample]) -> float:
    return statistics.median(s.median_ms for s in samples)


def format_range(samples: List[Sample]) -> str:
    medians = [s.median_ms for s in samples]
    return f"{statistics.median(medians):.2f} ({min(medians):.2f}-{max(medians):.2f})"


def lscpu_fields() -> Dict[str, str]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def machine_description(load_before: Tuple[float, float, float],
                        onnxc: Path, onnxc_commit: Optional[str]) -> List[str]:
    cpu = lscpu_fields()
    flags = set(cpu.get("Flags", "").split())
    listed = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni",
                          "avx512_bf16", "amx_tile") if f in flags]
    if onnxc_commit is None:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_DIR, capture_output=True, text=True).stdout.strip()
        onnxc_commit = (f"{commit} (repository HEAD"
                        + (", with uncommitted changes)" if dirty else ")"))
    node = subprocess.run(["node", "--version"], capture_output=True, text=True)
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cpu: {cpu.get('Model name', platform.processor())}, "
        f"{cpu.get('CPU(s)', '?')} CPUs, {cpu.get('Thread(s) per core', '?')} "
        f"thread(s) per core, L2 {cpu.get('L2 cache', '?')}",
        f"cpu flags: {' '.join(listed) or 'none of avx2/avx512f'}",
        f"kernel: {platform.release()}, node {node.stdout.strip()}",
        f"onnxc binary: {onnxc}, commit {onnxc_commit}",
        f"load average before the run (1, 5, 15 min): "
        f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
    ]


def print_tables(results: List[ModelResult], threads: List[int]) -> None:
    print("\n| model | threads | onnxc ms | ORT ms | ORT/onnxc | onnxc min ms "
          "| ORT min ms | onnxc GFLOP/s | ORT GFLOP/s | onnxc peak RSS MB "
          "| ORT peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        gflop = result.meta["matmul_flops"] / 1e9
        for count in threads:
            samples = result.samples[count]
            onnxc_ms, ort_ms = median_of(samples["onnxc"]), median_of(samples["ort"])
            onnxc_rss = max(s.max_rss_kb for s in samples["onnxc"]) / 1024
            ort_rss = max(s.max_rss_kb for s in samples["ort"]) / 1024
            onnxc_min = min(s.min_ms for s in samples["onnxc"])
            ort_min = min(s.min_ms for s in samples["ort"])
            print(f"| {result.name} | {count} | {format_range(samples['onnxc'])} "
                  f"| {format_range(samples['ort'])} | {ort_ms / onnxc_ms:.2f} "
                  f"| {onnxc_min:.2f} | {ort_min:.2f} "
                  f"| {gflop / (onnxc_ms / 1e3):.1f} | {gflop / (ort_ms / 1e3):.1f} "
                  f"| {onnxc_rss:.0f} | {ort_rss:.0f} |")

    print("\n| model | parameters | MatMul/Gemm GFLOP | onnxc compile s "
          "| compiler peak RSS MB | .so MB | ORT session create ms "
          "| max abs diff onnxc vs ORT | max abs ORT output | matmul share of onnxc "
          "profile |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        diffs = ", ".join(f"{name} {value:.2e}" for name, value in
                          result.max_abs_diff.items())
        scales = ", ".join(f"{value:.3g}" for value in result.max_abs_ort.values())
        share = (f"{matmul_share(result):.0f}%"
                 if result.profile is not None else "not measured")
        create = "/".join(f"{result.ort_session_create_ms[t]:.0f}" for t in threads)
        print(f"| {result.name} | {result.meta['parameters'] / 1e6:.1f} M "
              f"| {result.meta['matmul_flops'] / 1e9:.2f} | {result.compile_s:.1f} "
              f"| {result.compile_rss_kb / 1024:.0f} | {result.library_bytes / 2**20:.0f} "
              f"| {create} | {diffs} | {scales} | {share} |")

    profiled = [r for r in results if r.profile]
    if profiled:
        print("\nTop symbols of one single-threaded onnxc run (perf record, share "
              "of all samples):")
        for result in profiled:
            top = ", ".join(f"{entry.symbol} ({entry.dso}) {entry.share:.1f}%"
                            for entry in result.profile[:5])
            print(f"- {result.name}: {top}")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS,
                        help="models to benchmark (default: all)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2],
                        help="thread counts of both runtimes (default: 1 2)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed rounds per model and thread count (default 5)")
    parser.add_argument("--repeat", type=int, default=10,
                        help="timed runs per process (default 10)")
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds of 3 runs and no profile, to check the setup")
    parser.add_argument("--onnxc", type=Path, default=REPO_DIR / "build-bench" / "onnxc",
                        help="onnxc binary (default: build-bench/onnxc)")
    parser.add_argument("--onnxc-commit", metavar="REV",
                        help="commit the onnxc binary was built from, for the report "
                             "(default: the repository HEAD and whether it has "
                             "uncommitted changes)")
    parser.add_argument("--out-dir", type=Path, default=BENCH_DIR / "out",
                        help="directory of exported models and libraries "
                             "(default: bench/out)")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the perf profile of onnxc")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.repeat, args.no_profile = 2, 3, True
    if args.rounds < 1 or args.repeat < 1 or min(args.threads) < 1:
        parser.error("--rounds, --repeat and --threads must be at least 1")
    return args


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    onnxc = args.onnxc.resolve()
    if not onnxc.exists():
        print(f"error: onnxc binary {onnxc} not found; build it with `cmake -S . -B "
              f"build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench "
              f"--target onnxc` or pass --onnxc", file=sys.stderr)
        return 2
    if not (BENCH_DIR / "node_modules" / "onnxruntime-node").exists():
        print("error: onnxruntime-node is not installed; run `npm ci --ignore-scripts` "
              "in bench/", file=sys.stderr)
        return 2
    out_dir = args.out_dir.resolve()

    load_before = os.getloadavg()
    export_models(args.models, out_dir)
    profile = not args.no_profile and perf_available()
    if not args.no_profile and not profile:
        print("perf is not usable here; the matmul share is not measured")

    results, load_samples = [], []
    for name in args.models:
        directory = model_dir(out_dir, name)
        meta = json.loads((directory / "meta.json").read_text())
        result = ModelResult(name, meta)
        print(f"{name}: compiling", flush=True)
        library = compile_model(onnxc, result, directory)
        compare_outputs(onnxc, library, result, directory)
        print(f"  compiled in {result.compile_s:.1f} s; max abs diff onnxc vs ORT: "
              + ", ".join(f"{k} {v:.2e}" for k, v in result.max_abs_diff.items()),
              flush=True)
        if profile:
            profile_onnxc(onnxc, library, result, directory, args.repeat)
        for count in args.threads:
            benchmark_threads(onnxc, library, result, directory, count, args.rounds,
                              args.repeat, load_samples)
        results.append(result)

    ort_version = next((r.meta.get("ort_version") for r in results), "?")
    print()
    for line in machine_description(load_before, onnxc, args.onnxc_commit):
        print(line)
    print(f"ONNX Runtime: onnxruntime-node {ort_version}, CPU execution provider")
    print(f"load average (1 min) during the timed rounds: min {min(load_samples):.2f}, "
          f"median {statistics.median(load_samples):.2f}, max {max(load_samples):.2f}")
    print(f"rounds {args.rounds}, runs per process {args.repeat}, threads "
          f"{' '.join(map(str, args.threads))}")
    print_tables(results, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
