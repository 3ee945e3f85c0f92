"""Write the corrected expected outputs of the FLOAT-to-BFLOAT16 Cast tests.

The onnx 1.12 backend test data (Debian 12's libonnx-testdata) made the
expected bfloat16 outputs of these tests by dropping the low 16 bits of each
float32. ONNX changed its generator to round to nearest, ties to even, in
onnx commit 5039239a2 (pull request 7089, July 2025); PyTorch and ONNX
Runtime 1.31 round the same way. This script recomputes the outputs from
the packaged inputs by rounding, with numpy alone, and copies the inputs
beside them so that `onnxc test-onnx --errata` uses an output only for the
very inputs it was computed from.

Usage: /usr/bin/python3 make_errata.py DATA_DIR OUT_DIR
  DATA_DIR  the packaged test data, e.g. /usr/share/libonnx-testdata/data
  OUT_DIR   the errata folder, tests/conformance/errata
"""

import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TESTS = [
    "node/test_cast_FLOAT_to_BFLOAT16",
    "node/test_castlike_FLOAT_to_BFLOAT16",
    "node/test_castlike_FLOAT_to_BFLOAT16_expanded",
]


def bfloat16_bits(x):
    """Round float32 values to bfloat16, nearest with ties to even, and
    return the 16-bit patterns. NaN stays NaN with its sign."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(x)
    quiet = ((bits >> 16) | 0x40) & 0xFFFF
    return np.where(nan, quiet, rounded).astype(np.uint16)


def write_test(data_dir, out_dir, test):
    src = os.path.join(data_dir, test, "test_data_set_0")
    dst = os.path.join(out_dir, test, "test_data_set_0")
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name.startswith("input_"):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
    tensor = onnx.TensorProto()
    with open(os.path.join(src, "input_0.pb"), "rb") as f:
        tensor.ParseFromString(f.read())
    x = numpy_helper.to_array(tensor)
    expected = onnx.TensorProto()
    with open(os.path.join(src, "output_0.pb"), "rb") as f:
        expected.ParseFromString(f.read())
    out = onnx.TensorProto()
    out.name = expected.name
    out.data_type = onnx.TensorProto.BFLOAT16
    out.dims.extend(x.shape)
    out.raw_data = bfloat16_bits(x).tobytes()
    with open(os.path.join(dst, "output_0.pb"), "wb") as f:
        f.write(out.SerializeToString())
    print("%s: %s" % (test, out.raw_data.hex()))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    for test in TESTS:
        write_test(sys.argv[1], sys.argv[2], test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
