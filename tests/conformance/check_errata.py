"""Check that `onnxc test-onnx --errata` replaces expected outputs only
for matching inputs, and that a wrong correction still fails.

Usage: check_errata.py ONNXC ERRATA_DIR DATA_DIR WORK_DIR
"""

import os
import shutil
import subprocess
import sys

TEST = "node/test_cast_FLOAT_to_BFLOAT16"


def run(onnxc, errata, test_dir):
    args = [onnxc, "test-onnx", test_dir]
    if errata:
        args[2:2] = ["--errata", errata]
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    return result.returncode, result.stdout


def copy_errata(errata, work, name):
    """Copy the errata folder to WORK/NAME and return the copy's data set."""
    dst = os.path.join(work, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(errata, dst)
    return dst, os.path.join(dst, TEST, "test_data_set_0")


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    onnxc, errata, data, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    test_dir = os.path.join(data, TEST)
    failures = 0

    def expect(label, ok, output):
        nonlocal failures
        if not ok:
            failures += 1
            print("FAIL %s\n%s" % (label, output))
        else:
            print("ok   %s" % label)

    code, out = run(onnxc, None, test_dir)
    expect("packaged outputs fail (they truncate)",
           code != 0 and "failed       node/" in out, out)

    code, out = run(onnxc, errata, test_dir)
    expect("corrected outputs pass", code == 0 and "errata folder" in out, out)

    # A correction whose inputs differ from the test's must not apply.
    root, data_set = copy_errata(errata, work, "changed-input")
    path = os.path.join(data_set, "input_0.pb")
    raw = bytearray(open(path, "rb").read())
    raw[-1] ^= 0x01
    open(path, "wb").write(bytes(raw))
    code, out = run(onnxc, root, test_dir)
    expect("changed input is rejected",
           code != 0 and "input 0 differs from the test's" in out, out)

    # The packaged (truncated) outputs as a correction still fail, so the
    # errata only change what is expected, never the comparison.
    root, data_set = copy_errata(errata, work, "truncated")
    shutil.copyfile(os.path.join(test_dir, "test_data_set_0", "output_0.pb"),
                    os.path.join(data_set, "output_0.pb"))
    code, out = run(onnxc, root, test_dir)
    expect("wrong correction still fails",
           code != 0 and "elements differ" in out, out)

    # An errata folder without this test leaves it as it was.
    empty = os.path.join(work, "empty")
    os.makedirs(empty, exist_ok=True)
    code, out = run(onnxc, empty, test_dir)
    expect("no correction, packaged outputs", code != 0 and "elements differ" in out, out)

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
