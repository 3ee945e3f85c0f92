"""Check onnxc.Attention against the unfused ops on rows that Softmax turns
into NaN: a query row masked entirely with -inf, scores holding +inf and
NaN, and a masked key whose value row is inf.

Usage: check_attention_edges.py ONNXC WORK_DIR

Builds small ONNX models with onnx.helper, compiles each with all passes
(the attention must fuse) and with fuse-attention disabled, and compares
both against a numpy evaluation of the unfused graph.  NaN must match NaN.
The "heads" variants take q, k and v as [B, S, H * D] with the head split
(Reshape, Transpose) and merge written out, which the fused op must fold.
"""

import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# S spans two key blocks of the kernel (64 keys each), T = 5 query rows
# leave a partial tile (4 rows each), and D = 20 is not a multiple of the
# kernel's 8 or 16 lanes.  main() also runs S = 1100 and D = 16, a k too
# large for the kernel to transpose (more than 16384 floats per head).
B, H, T, S, D = 1, 2, 5, 70, 20
SIZES = ((70, 20), (1100, 16))


def softmax_last(x):
    # The ONNX reference: exp(x - max) / sum; all -inf rows give NaN.
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.max(x, axis=-1, keepdims=True)
        e = np.exp(x - m)
        return e / np.sum(e, axis=-1, keepdims=True)


def head_split_nodes(inits):
    """Nodes that split q, k and v [B, *, H * D] into heads as torch does."""
    inits += [numpy_helper.from_array(np.array([B, T, H, D], np.int64), "q_shape"),
              numpy_helper.from_array(np.array([B, S, H, D], np.int64), "kv_shape"),
              numpy_helper.from_array(np.array([B, T, H * D], np.int64), "o_shape")]
    return [helper.make_node("Reshape", ["q", "q_shape"], ["q4"]),
            helper.make_node("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", ["k", "kv_shape"], ["k4"]),
            helper.make_node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", ["v", "kv_shape"], ["v4"]),
            helper.make_node("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3])]


def build(path, mask_kind, heads):
    if heads:
        q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [B, T, H * D])
        k = helper.make_tensor_value_info("k", TensorProto.FLOAT, [B, S, H * D])
        v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [B, S, H * D])
        out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [B, T, H * D])
    else:
        q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [B, H, T, D])
        k = helper.make_tensor_value_info("k", TensorProto.FLOAT, [B, H, S, D])
        v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [B, H, S, D])
        out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [B, H, T, D])
    scale = numpy_helper.from_array(np.array(0.35355338, np.float32), "scale")
    inits = [scale]
    if heads:
        nodes = head_split_nodes(inits)
    else:
        nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2])]
    nodes += [helper.make_node("MatMul", ["qh" if heads else "q", "kt"], ["qk"]),
              helper.make_node("Mul", ["qk", "scale"], ["scores"])]
    if mask_kind == "add":
        mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [B, 1, T, S])
        nodes.append(helper.make_node("Add", ["scores", "mask"], ["masked"]))
    else:
        mask = helper.make_tensor_value_info("mask", TensorProto.BOOL, [B, 1, T, S])
        inits.append(numpy_helper.from_array(np.array(-np.inf, np.float32), "fill"))
        nodes.append(helper.make_node("Where", ["mask", "scores", "fill"], ["masked"]))
    nodes.append(helper.make_node("Softmax", ["masked"], ["probs"], axis=-1))
    if heads:
        nodes += [helper.make_node("MatMul", ["probs", "vh"], ["oh"]),
                  helper.make_node("Transpose", ["oh"], ["o4"], perm=[0, 2, 1, 3]),
                  helper.make_node("Reshape", ["o4", "o_shape"], ["out"])]
    else:
        nodes.append(helper.make_node("MatMul", ["probs", "v"], ["out"]))
    graph = helper.make_graph(nodes, "edges", [q, k, v, mask], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


def inputs(mask_kind, rng):
    q = rng.standard_normal((B, H, T, D)).astype(np.float32)
    k = rng.standard_normal((B, H, S, D)).astype(np.float32)
    v = rng.standard_normal((B, H, S, D)).astype(np.float32)
    keep = np.ones((B, 1, T, S), bool)
    keep[0, 0, 1, :] = False          # query row 1: every key masked
    keep[0, 0, 2, :66] = False        # row 2: the whole first block masked
    keep[0, 0, 3, 69] = False         # row 3: key 69 masked; its v is inf
    v[0, 1, 69, 0] = np.inf
    q[0, 1, 0, :] = np.inf            # head 1, row 0: +inf and NaN scores
    k[0, 0, 4, 0] = np.nan            # head 0: key 4 gives NaN scores
    if mask_kind == "add":
        mask = np.where(keep, 0.0, -np.inf).astype(np.float32)
    else:
        mask = keep
    return q, k, v, mask


def reference(q, k, v, mask, mask_kind):
    with np.errstate(invalid="ignore", over="ignore"):
        scores = (q @ np.swapaxes(k, -1, -2)) * np.float32(0.35355338)
        if mask_kind == "add":
            scores = scores + mask
        else:
            scores = np.where(mask, scores, np.float32(-np.inf))
        return softmax_last(scores.astype(np.float32)) @ v


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    print(result.stdout, end="")
    return result


def merge_heads(x):
    """[B, H, *, D] to [B, *, H * D], the layout of the "heads" models."""
    return np.ascontiguousarray(np.swapaxes(x, 1, 2)).reshape(B, x.shape[2], H * D)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    onnxc, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    failures = 0
    global S, D
    cases = [(size, mask_kind, heads) for size in SIZES
             for mask_kind, heads in (("add", False), ("where", False),
                                      ("add", True), ("where", True))]
    for (S, D), mask_kind, heads in cases:
        case = "%s%s_s%d" % (mask_kind, "_heads" if heads else "", S)
        model = os.path.join(work, "attention_%s.onnx" % case)
        build(model, mask_kind, heads)
        q, k, v, mask = inputs(mask_kind, rng)
        want = reference(q, k, v, mask, mask_kind)
        if heads:
            q, k, v, want = merge_heads(q), merge_heads(k), merge_heads(v), merge_heads(want)
        feeds = []
        for name, x in zip("qkv", (q, k, v)):
            np.save(os.path.join(work, name + ".npy"), x)
            feeds += ["-i", "%s=%s" % (name, os.path.join(work, name + ".npy"))]
        np.save(os.path.join(work, "mask.npy"), mask)
        feeds += ["-i", "mask=" + os.path.join(work, "mask.npy")]
        for variant, extra in (("fused", ["--stats"]),
                               ("unfused", ["--disable-pass=fuse-attention"])):
            lib = os.path.join(work, "lib%s_%s.so" % (case, variant))
            built = run([onnxc, "compile", model, "-o", lib, "--name", "m"] + extra)
            if built.returncode != 0:
                failures += 1
                continue
            if variant == "fused" and "Attention fused" not in built.stdout:
                print("FAILED: %s: the attention did not fuse" % case)
                failures += 1
            folds = re.findall(r"head (?:splits|merges) folded +(\d+)", built.stdout)
            if variant == "fused" and heads and folds != ["3", "1"]:
                print("FAILED: %s: folded %s head splits and merges, expected 3 and 1"
                      % (case, folds))
                failures += 1
            out_dir = os.path.join(work, "%s_%s" % (case, variant))
            if run([onnxc, "run", lib, "-o", out_dir] + feeds).returncode != 0:
                failures += 1
                continue
            got = np.load(os.path.join(out_dir, "out.npy"))
            nan_ok = np.array_equal(np.isnan(got), np.isnan(want))
            close = np.allclose(got[~np.isnan(want)], want[~np.isnan(want)],
                                rtol=1e-4, atol=1e-5)
            if not (nan_ok and close):
                print("FAILED: %s %s\n got %s\n want %s" % (case, variant, got, want))
                failures += 1
            else:
                print("%s %s: ok (%d NaN of %d)" % (case, variant,
                                                    np.isnan(got).sum(), got.size))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
