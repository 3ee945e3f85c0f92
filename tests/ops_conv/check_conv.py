"""Compare onnxc's Conv, MaxPool and AveragePool with PyTorch.

Usage: check_conv.py ONNXC WORK_DIR

Each case exports a small PyTorch module with torch.onnx.export, compiles
it with onnxc, runs it on random inputs and compares every output with
PyTorch's: floats within max abs error <= 1e-4 * max(1, max |reference|)
(1e-2 for float16), MaxPool indices exactly.  A few cases that PyTorch
cannot export (auto_pad, float16 and int8 pools, AveragePool-19
dilations) are built with onnx.helper and checked against PyTorch's
functional ops, and so are ops on a constant X, which onnxc folds at
compile time with the kernels built into the compiler.
"""

import os
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

failures = []


def report(name, ok, details=()):
    print("%s %s" % ("ok  " if ok else "FAIL", name))
    for line in details:
        print("  " + line)
    if not ok:
        failures.append(name)


def compare(name, got, want, tol):
    if got.shape != want.shape:
        return "%s: shape %s, expected %s" % (name, got.shape, want.shape)
    if want.dtype.kind in "iub":
        if not np.array_equal(got, want):
            bad = np.argwhere(got != want)[:3].tolist()
            return "%s: differs at %s" % (name, bad)
        return None
    got = got.astype(np.float64)
    want = want.astype(np.float64)
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return "%s: NaN at %s, expected at %s" % (
            name, np.argwhere(np.isnan(got))[:3].tolist(),
            np.argwhere(np.isnan(want))[:3].tolist())
    got = np.nan_to_num(got, nan=0.0)
    want = np.nan_to_num(want, nan=0.0)
    limit = tol * max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    if not err <= limit:
        return "%s: max abs error %.3g > %.3g" % (name, err, limit)
    return None


def run_onnxc(onnxc, work, name, model_path, inputs, threads=1):
    """Compile and run model_path; return {output name: array} or a message."""
    lib = os.path.join(work, "lib%s.so" % name)
    out = os.path.join(work, name + "_out")
    cmd = [onnxc, "run", lib, "-o", out, "--threads", str(threads)]
    for key, value in inputs.items():
        path = os.path.join(work, "%s_%s.npy" % (name, key))
        np.save(path, value)
        cmd += ["-i", "%s=%s" % (key, path)]
    for step in ([onnxc, "compile", model_path, "-o", lib, "--name", "m"], cmd):
        result = subprocess.run(step, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                universal_newlines=True)
        if result.returncode != 0:
            return "%s failed: %s" % (step[1], result.stdout.strip())
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def check_outputs(name, got, want, tol):
    if isinstance(got, str):
        report(name, False, [got])
        return
    problems = []
    for key, value in want.items():
        if key not in got:
            problems.append("output %s is missing" % key)
            continue
        message = compare(key, got[key], value, tol)
        if message:
            problems.append(message)
    report(name, not problems, problems)


def check_module(onnxc, work, name, module, shapes, opset=13, threads=1,
                 dtype=torch.float32):
    """Export module on random inputs of shapes and compare with onnxc."""
    torch.manual_seed(len(name))
    module = module.eval().to(dtype)
    args = tuple(torch.randn(*s, dtype=dtype) for s in shapes)
    with torch.no_grad():
        ref = module(*args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    in_names = ["x%d" % i for i in range(len(args))]
    out_names = ["y%d" % i for i in range(len(ref))]
    path = os.path.join(work, name + ".onnx")
    torch.onnx.export(module, args, path, input_names=in_names,
                      output_names=out_names, opset_version=opset)
    inputs = {k: a.numpy() for k, a in zip(in_names, args)}
    want = {k: r.numpy() for k, r in zip(out_names, ref)}
    got = run_onnxc(onnxc, work, name, path, inputs, threads)
    check_outputs(name, got, want, 1e-4)


class PoolWithIndices(nn.Module):
    def __init__(self, pool):
        super().__init__()
        self.pool = pool

    def forward(self, x):
        y, i = self.pool(x)
        return y, i


class ConvFrontEnd(nn.Module):
    """Two strided Conv1d over log-mel frames, then a Transformer layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(20, 32, 3, padding=1)
        self.conv2 = nn.Conv1d(32, 32, 3, stride=2, padding=1)
        self.layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0,
                                                batch_first=True)

    def forward(self, x):
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        return self.layer(x.transpose(1, 2))


class PatchEmbed(nn.Module):
    """A ViT-style patch embedding and pooled Conv stem, then a layer."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.patch = nn.Conv2d(16, 32, 4, stride=4)
        self.layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0,
                                                batch_first=True)

    def forward(self, x):
        x = self.patch(self.pool(F.relu(self.stem(x))))
        return self.layer(x.flatten(2).transpose(1, 2))


MODULE_CASES = [
    # name, module, input shapes, keyword arguments of check_module
    ("conv1d_stride_pad", nn.Conv1d(8, 16, 5, stride=2, padding=2), [(2, 8, 33)], {}),
    ("conv1d_groups_dilation",
     nn.Conv1d(6, 12, 3, groups=3, dilation=2, padding=2), [(1, 6, 20)], {}),
    # More taps than pack_columns caches ranges for.
    ("conv1d_long_kernel", nn.Conv1d(2, 4, 80, stride=3, padding=40),
     [(1, 2, 200)], {}),
    ("conv1d_reflect", nn.Conv1d(4, 8, 3, padding=1, padding_mode="reflect"),
     [(1, 4, 17)], {}),
    # NOTE: padding_mode "circular" is left out: torch 1.13 exports its
    # left wrap as Slice(-3, -1) for a pad of 2, one element off.
    ("conv2d_3x3", nn.Conv2d(16, 32, 3, padding=1), [(2, 16, 15, 13)], {}),
    ("conv2d_groups_stride_dilation",
     nn.Conv2d(16, 32, 3, stride=2, padding=(1, 2), dilation=(2, 1), groups=4,
               bias=False), [(1, 16, 19, 14)], {}),
    ("conv2d_depthwise", nn.Conv2d(16, 16, 3, padding=1, groups=16),
     [(1, 16, 12, 12)], {}),
    ("conv2d_depthwise_multiplier",
     nn.Conv2d(8, 32, 5, stride=2, padding=2, groups=8), [(1, 8, 14, 14)], {}),
    ("conv2d_pointwise", nn.Conv2d(24, 40, 1), [(2, 24, 9, 11)], {}),
    ("conv2d_stride_1x1", nn.Conv2d(24, 40, 1, stride=2), [(1, 24, 9, 11)], {}),
    ("conv2d_stem_7x7", nn.Conv2d(3, 24, 7, stride=2, padding=3),
     [(1, 3, 32, 29)], {}),
    ("conv2d_replicate", nn.Conv2d(4, 8, 3, padding=1, padding_mode="replicate"),
     [(1, 4, 9, 9)], {}),
    ("conv2d_long_k", nn.Conv2d(160, 24, 3, padding=1), [(1, 160, 8, 8)], {}),
    ("conv2d_two_threads", nn.Conv2d(32, 64, 3, padding=1), [(1, 32, 20, 20)],
     {"threads": 2}),
    ("conv2d_three_threads_rows", nn.Conv2d(64, 96, 3), [(1, 64, 4, 4)],
     {"threads": 3}),
    ("conv2d_float64", nn.Conv2d(6, 10, 3, stride=2, padding=1, groups=2),
     [(2, 6, 9, 9)], {"dtype": torch.float64}),
    ("conv3d", nn.Conv3d(4, 8, 3, stride=(1, 2, 2), padding=1),
     [(1, 4, 6, 7, 8)], {}),
    ("conv2d_opset11", nn.Conv2d(5, 7, (2, 4), stride=(2, 1)),
     [(1, 5, 9, 12)], {"opset": 11}),
    ("convtranspose1d_stride", nn.ConvTranspose1d(6, 4, 5, stride=3, padding=2,
                                                  output_padding=1),
     [(2, 6, 11)], {}),
    ("convtranspose2d_groups_dilation",
     nn.ConvTranspose2d(8, 12, 3, stride=2, padding=(1, 2), dilation=(2, 1),
                        groups=4, bias=False),
     [(1, 8, 7, 6)], {}),
    ("convtranspose2d_float64", nn.ConvTranspose2d(3, 5, (2, 4), stride=(2, 1)),
     [(2, 3, 5, 4)], {"dtype": torch.float64}),
    ("convtranspose3d", nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1,
                                           output_padding=1),
     [(1, 2, 3, 4, 3)], {}),
    ("maxpool2d_ceil_indices",
     PoolWithIndices(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True,
                                  return_indices=True)),
     [(2, 3, 10, 9)], {}),
    ("maxpool2d_ceil_odd", nn.MaxPool2d(2, ceil_mode=True), [(1, 4, 7, 9)], {}),
    # ceil_mode's last window would start in the end pad: 3 outputs, not 4.
    ("maxpool2d_ceil_drop_last", nn.MaxPool2d(2, stride=2, padding=1,
                                              ceil_mode=True),
     [(1, 2, 5, 5)], {}),
    ("maxpool2d_indices_opset10",
     PoolWithIndices(nn.MaxPool2d(2, return_indices=True)), [(1, 3, 8, 6)],
     {"opset": 10}),
    ("maxpool1d_dilation", nn.MaxPool1d(3, stride=2, padding=1, dilation=2),
     [(2, 5, 21)], {}),
    ("maxpool3d", nn.MaxPool3d(2, stride=(1, 2, 2)), [(1, 2, 5, 6, 7)], {}),
    ("avgpool2d_include_pad", nn.AvgPool2d(3, stride=2, padding=1,
                                           count_include_pad=True),
     [(2, 3, 11, 10)], {}),
    ("avgpool2d_exclude_pad", nn.AvgPool2d(3, stride=2, padding=1,
                                           count_include_pad=False),
     [(2, 3, 11, 10)], {}),
    ("avgpool2d_ceil_include_pad", nn.AvgPool2d(3, stride=2, padding=1,
                                                ceil_mode=True,
                                                count_include_pad=True),
     [(1, 3, 10, 10)], {}),
    ("avgpool2d_ceil_exclude_pad", nn.AvgPool2d(2, ceil_mode=True,
                                                count_include_pad=False),
     [(1, 3, 7, 9)], {}),
    ("avgpool1d", nn.AvgPool1d(4, stride=3, padding=2), [(2, 4, 19)], {}),
    ("conv_front_end_transformer", ConvFrontEnd(), [(2, 20, 24)], {"opset": 14}),
    ("patch_embed_transformer", PatchEmbed(), [(1, 3, 16, 16)], {"opset": 17}),
]


def helper_model(path, op, dtype, shape, opset, weights=(), indices=False,
                 **attrs):
    """Save a one-node model of op on input x and constant weights, with
    MaxPool's output Indices as i when indices is set."""
    outputs = [helper.make_tensor_value_info("y", dtype, None)]
    names = ["y"]
    if indices:
        outputs.append(helper.make_tensor_value_info("i", TensorProto.INT64, None))
        names.append("i")
    inits = [numpy_helper.from_array(w, "w%d" % k)
             for k, w in enumerate(weights)]
    node = helper.make_node(op, ["x"] + [t.name for t in inits], names, **attrs)
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", dtype, shape)],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, path)


def max_pool_reference(x, k, stride, pad):
    """2-D MaxPool of x [N, C, H, W] with square windows, ignoring padding:
    the maximum, or the first NaN, in row-major order, and its flat index."""
    n, c, h, w = x.shape
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    y = np.zeros((n, c, oh, ow), x.dtype)
    idx = np.zeros((n, c, oh, ow), np.int64)
    for p in range(n * c):
        plane = x.reshape(n * c, h * w)[p]
        for i in range(oh):
            for j in range(ow):
                best = None
                for r in range(i * stride - pad, i * stride - pad + k):
                    for q in range(j * stride - pad, j * stride - pad + k):
                        if not (0 <= r < h and 0 <= q < w):
                            continue
                        v = plane[r * w + q]
                        b = None if best is None else plane[best]
                        if best is None or v > b or (np.isnan(v) and not np.isnan(b)):
                            best = r * w + q
                y.reshape(n * c, oh, ow)[p, i, j] = plane[best]
                idx.reshape(n * c, oh, ow)[p, i, j] = p * h * w + best
    return y, idx


def check_helper_models(onnxc, work):
    rng = np.random.default_rng(3)
    x16 = rng.standard_normal((1, 3, 9, 8)).astype(np.float16)
    t16 = torch.from_numpy(x16.astype(np.float32))
    xi8 = rng.integers(-128, 128, (2, 2, 7, 7)).astype(np.int8)
    ti8 = torch.from_numpy(xi8.astype(np.float32))
    x32 = rng.standard_normal((1, 2, 11, 10)).astype(np.float32)
    t32 = torch.from_numpy(x32)
    xnan = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    xnan[0, 0, 1, 1] = xnan[0, 0, 2, 2] = xnan[0, 1, 4, 3] = np.nan
    ynan, inan = max_pool_reference(xnan, 3, 2, 1)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    tw, tb = torch.from_numpy(w), torch.from_numpy(b)

    cases = [
        # name, op, dtype, x, expected outputs, tolerance, attributes
        # (weights: Conv's W and B)
        ("conv_same_upper", "Conv", TensorProto.FLOAT, x32,
         {"y": F.conv2d(F.pad(t32, (0, 1, 1, 1)), tw, tb, stride=2).numpy()},
         1e-4, {"weights": (w, b), "auto_pad": "SAME_UPPER", "strides": [2, 2]}),
        ("conv_same_lower", "Conv", TensorProto.FLOAT, x32,
         {"y": F.conv2d(F.pad(t32, (1, 0, 1, 1)), tw, tb, stride=2).numpy()},
         1e-4, {"weights": (w, b), "auto_pad": "SAME_LOWER", "strides": [2, 2]}),
        ("conv_valid_no_kernel_shape", "Conv", TensorProto.FLOAT, x32,
         {"y": F.conv2d(t32, tw, dilation=(1, 2)).numpy()}, 1e-4,
         {"weights": (w,), "auto_pad": "VALID", "dilations": [1, 2]}),
        ("maxpool_float16", "MaxPool", TensorProto.FLOAT16, x16,
         {"y": F.max_pool2d(t16, 3, 2, 1).numpy().astype(np.float16)}, 0,
         {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("averagepool_float16", "AveragePool", TensorProto.FLOAT16, x16,
         {"y": F.avg_pool2d(t16, 2, 2, 1, count_include_pad=False)
          .numpy().astype(np.float16)}, 1e-2,
         {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("maxpool_int8", "MaxPool", TensorProto.INT8, xi8,
         {"y": F.max_pool2d(ti8, 2, 2, ceil_mode=True).numpy().astype(np.int8)},
         0, {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
        ("maxpool_storage_order_1", "MaxPool", TensorProto.FLOAT, x32,
         {"y": F.max_pool2d(t32, 3, 2).numpy(),
          # Column-major within each plane: index = w * H + h.
          "i": (lambda i: (i // 10) + (i % 10) * 11 + 0)(
              F.max_pool2d(t32, 3, 2, return_indices=True)[1].numpy())
          + np.arange(2).reshape(1, 2, 1, 1) * 110}, 0,
         {"kernel_shape": [3, 3], "strides": [2, 2], "storage_order": 1}),
        ("maxpool_nan_first", "MaxPool", TensorProto.FLOAT, xnan,
         {"y": ynan, "i": inan}, 0,
         {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("maxpool_nan_no_indices", "MaxPool", TensorProto.FLOAT, xnan,
         {"y": ynan}, 0,
         {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("maxpool_same_upper", "MaxPool", TensorProto.FLOAT, x32,
         {"y": F.max_pool2d(F.pad(t32, (0, 1, 0, 1), value=-np.inf), 2, 2)
          .numpy()}, 0,
         {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        ("averagepool19_dilations", "AveragePool", TensorProto.FLOAT, x32,
         {"y": F.conv2d(t32.reshape(2, 1, 11, 10), torch.full((1, 1, 2, 2), 0.25),
                        dilation=2).reshape(1, 2, 9, 8).numpy()}, 1e-4,
         {"kernel_shape": [2, 2], "dilations": [2, 2]}),
    ]
    for name, op, dtype, x, want, tol, attrs in cases:
        path = os.path.join(work, name + ".onnx")
        opset = 19 if name == "averagepool19_dilations" else 12
        helper_model(path, op, dtype, x.shape, opset, indices="i" in want,
                     **attrs)
        got = run_onnxc(onnxc, work, name, path, {"x": x})
        check_outputs(name, got, want, tol)


def check_folded(onnxc, work):
    """Fold ops whose input X is a constant, which runs the kernels built
    into the compiler (sanitized in an ASan build) instead of the library."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 8, 9, 7)).astype(np.float32)
    t = torch.from_numpy(x)
    w = rng.standard_normal((12, 4, 3, 3)).astype(np.float32)
    w1 = rng.standard_normal((6, 8, 1, 1)).astype(np.float32)
    wd = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(12).astype(np.float32)
    y_idx = F.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True)
    cases = [
        # name, op, attributes, constant inputs after X, expected outputs
        ("folded_conv_groups", "Conv", {"group": 2, "pads": [1, 0, 1, 2]},
         [w, b], {"y": F.conv2d(F.pad(t, (0, 2, 1, 1)), torch.from_numpy(w),
                                torch.from_numpy(b), groups=2).numpy()}),
        ("folded_conv_pointwise", "Conv", {}, [w1],
         {"y": F.conv2d(t, torch.from_numpy(w1)).numpy()}),
        ("folded_conv_depthwise", "Conv",
         {"group": 8, "strides": [2, 1], "dilations": [1, 2]}, [wd],
         {"y": F.conv2d(t, torch.from_numpy(wd), stride=(2, 1), dilation=(1, 2),
                        groups=8).numpy()}),
        ("folded_maxpool_indices", "MaxPool",
         {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
          "ceil_mode": 1}, [],
         {"y": y_idx[0].numpy(),
          "i": y_idx[1].numpy() + np.arange(16).reshape(2, 8, 1, 1) * 63}),
        ("folded_averagepool_ceil", "AveragePool",
         {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 0],
          "ceil_mode": 1, "count_include_pad": 1}, [],
         {"y": F.avg_pool2d(t, (3, 2), 2, (1, 0), ceil_mode=True,
                            count_include_pad=True).numpy()}),
    ]
    for name, op, attrs, consts, want in cases:
        inits = [numpy_helper.from_array(a, "c%d" % k)
                 for k, a in enumerate([x] + consts)]
        outputs = list(want)
        node = helper.make_node(op, [i.name for i in inits], outputs, **attrs)
        infos = [helper.make_tensor_value_info(
            o, TensorProto.INT64 if o == "i" else TensorProto.FLOAT, None)
            for o in outputs]
        graph = helper.make_graph([node], "g", [], infos, inits)
        path = os.path.join(work, name + ".onnx")
        onnx.save(helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 13)]), path)
        got = run_onnxc(onnxc, work, name, path, {})
        check_outputs(name, got, want, 1e-4)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    onnxc, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    for name, module, shapes, kwargs in MODULE_CASES:
        try:
            check_module(onnxc, work, name, module, shapes, **kwargs)
        except Exception as e:  # an export failure is a failed case
            report(name, False, ["%s: %s" % (type(e).__name__, e)])
    check_helper_models(onnxc, work)
    check_folded(onnxc, work)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
