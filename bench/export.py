"""Export the benchmark models to ONNX with fixed seeds and sample inputs.

Usage:

    /usr/bin/python3 bench/export.py [--out-dir DIR] [--models NAME ...] [--force]

For every model NAME this writes, into DIR/NAME (default bench/out/NAME):

    model.onnx        opset 17, static shapes (no symbolic dims)
    input_<name>.npy  one file per graph input
    meta.json         inputs, outputs, opset, parameter count and the MatMul/Gemm
                      FLOP count computed from the exported graph

A model whose meta.json already exists is skipped unless --force is given.
Requires torch 1.13 and onnx 1.12 (the Debian python, /usr/bin/python3).
"""

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import onnx
import torch
import torch.nn as nn

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "tests" / "models"))
from export import BertEncoder, perturb_degenerate_parameters  # noqa: E402

# Opset 17 exports nn.LayerNorm as one LayerNormalization node, so both
# runtimes start from the same fused op.
OPSET = 17

# Vocabulary of the BERT-like encoder: the size of bert-base-uncased. The
# embedding lookup is a Gather, so the vocabulary size changes the weight size
# (94 MB of 440 MB) but not the FLOP count.
BERT_VOCAB = 30522

# Vocabulary of the T5/Marian-like encoder-decoder. It is smaller than real
# translation vocabularies to keep the export and the library small, so the
# tied LM head is a smaller share of the FLOPs than in a real model.
SEQ2SEQ_VOCAB = 8000


class CausalTransformer(nn.Module):
    """nn.Transformer over float src/tgt sequences with a causal tgt mask."""

    def __init__(self, d_model: int, heads: int, layers: int, ff_dim: int, tgt_len: int):
        super().__init__()
        self.transformer = nn.Transformer(
            d_model=d_model,
            nhead=heads,
            num_encoder_layers=layers,
            num_decoder_layers=layers,
            dim_feedforward=ff_dim,
            dropout=0.0,
            batch_first=True,
        )
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_len)
        self.register_buffer("causal_mask", mask)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        return self.transformer(src, tgt, tgt_mask=self.causal_mask)


def sinusoidal_positions(max_len: int, d_model: int) -> torch.Tensor:
    """Return the [max_len, d_model] sine/cosine position table.

    The table is the one of "Attention Is All You Need" (Vaswani et al., 2017).
    """
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                          * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class Seq2SeqLM(nn.Module):
    """Marian-like encoder-decoder: shared token embedding scaled by sqrt(d_model),
    sinusoidal positions, nn.Transformer, and an LM head tied to the embedding."""

    def __init__(self, vocab: int, d_model: int, heads: int, layers: int, ff_dim: int,
                 max_len: int, tgt_len: int):
        super().__init__()
        self.scale = math.sqrt(d_model)
        self.embedding = nn.Embedding(vocab, d_model)
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model))
        self.transformer = nn.Transformer(
            d_model=d_model,
            nhead=heads,
            num_encoder_layers=layers,
            num_decoder_layers=layers,
            dim_feedforward=ff_dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
        )
        self.register_buffer("causal_mask",
                             nn.Transformer.generate_square_subsequent_mask(tgt_len))
        self.final_logits_bias = nn.Parameter(torch.zeros(vocab))

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids) * self.scale + self.positions[: ids.size(1)]

    def forward(self, input_ids: torch.Tensor,
                decoder_input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(self.embed(input_ids), self.embed(decoder_input_ids),
                                  tgt_mask=self.causal_mask)
        return torch.matmul(hidden, self.embedding.weight.t()) + self.final_logits_bias


@dataclass
class BenchModel:
    """One benchmark model: builder, ordered graph inputs and output names."""

    name: str
    description: str
    build: Callable[[], nn.Module]
    # Input name -> function of a torch.Generator that draws the input.
    inputs: Dict[str, Callable[[torch.Generator], torch.Tensor]]
    outputs: List[str]
    seed: int


def float_input(shape: Tuple[int, ...]):
    return lambda generator: torch.randn(*shape, generator=generator)


def token_input(vocab: int, shape: Tuple[int, ...]):
    return lambda generator: torch.randint(0, vocab, shape, generator=generator)


def bert_attention_mask(generator: torch.Generator) -> torch.Tensor:
    """Return a [1, 128] int64 mask of 120 ones then 8 zeros (padding keys)."""
    mask = torch.ones(1, 128, dtype=torch.long)
    mask[0, -8:] = 0
    return mask


def bench_models() -> List[BenchModel]:
    return [
        BenchModel(
            name="transformer",
            description="nn.Transformer d_model 256, 4 heads, 3+3 layers, ff 1024, "
                        "src [1,32,256], tgt [1,16,256], causal tgt mask",
            build=lambda: CausalTransformer(256, heads=4, layers=3, ff_dim=1024,
                                            tgt_len=16),
            inputs={"src": float_input((1, 32, 256)), "tgt": float_input((1, 16, 256))},
            outputs=["output"],
            seed=1001,
        ),
        BenchModel(
            name="bert",
            description=f"BERT-base-like encoder, 12 layers, hidden 768, 12 heads, "
                        f"ff 3072, erf GELU, vocab {BERT_VOCAB}, seq 128",
            build=lambda: BertEncoder(BERT_VOCAB, 768, 12, num_heads=12, ff_dim=3072,
                                      max_positions=512),
            inputs={"input_ids": token_input(BERT_VOCAB, (1, 128)),
                    "attention_mask": bert_attention_mask},
            outputs=["last_hidden_state", "pooler_output"],
            seed=1002,
        ),
        BenchModel(
            name="seq2seq",
            description=f"Marian-like encoder-decoder, d_model 512, 6+6 layers, 8 heads, "
                        f"ff 2048, GELU, vocab {SEQ2SEQ_VOCAB}, shared embedding, "
                        f"sinusoidal positions, src 64, tgt 16",
            build=lambda: Seq2SeqLM(SEQ2SEQ_VOCAB, 512, heads=8, layers=6, ff_dim=2048,
                                    max_len=512, tgt_len=16),
            inputs={"input_ids": token_input(SEQ2SEQ_VOCAB, (1, 64)),
                    "decoder_input_ids": token_input(SEQ2SEQ_VOCAB, (1, 16))},
            outputs=["logits"],
            seed=1003,
        ),
    ]


def static_shape(value: onnx.ValueInfoProto) -> List[int]:
    """Return the dims of a value, raising ValueError if any is unknown."""
    dims = value.type.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        raise ValueError(f"{value.name}: shape is not static")
    return [d.dim_value for d in dims]


def matmul_flops(model: onnx.ModelProto) -> Tuple[int, int]:
    """Estimate the FLOPs of the MatMul and Gemm nodes as 2*M*N*K each.

    Batched MatMuls count 2*M*N*K per broadcast batch element. Returns the
    FLOP total and the number of nodes counted. Shapes come from ONNX shape
    inference, so the model must have static input shapes.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    shapes = {}
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        shapes[value.name] = static_shape(value)
    for tensor in graph.initializer:
        shapes[tensor.name] = list(tensor.dims)

    total, nodes = 0, 0
    for node in graph.node:
        if node.op_type == "MatMul":
            a, b = shapes[node.input[0]], shapes[node.input[1]]
            out = shapes[node.output[0]]
            if len(a) < 2 or len(b) < 2:
                raise ValueError(f"{node.name}: MatMul with a 1-D operand; the FLOP "
                                 f"count supports only operands of rank >= 2")
            k = a[-1]
            total += 2 * math.prod(out) * k
        elif node.op_type == "Gemm":
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            a = shapes[node.input[0]]
            k = a[0] if trans_a else a[1]
            total += 2 * math.prod(shapes[node.output[0]]) * k
        else:
            continue
        nodes += 1
    return total, nodes


def export_model(spec: BenchModel, model_dir: Path) -> dict:
    """Export one model with its inputs into model_dir and return its metadata."""
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(spec.seed)
    model = spec.build().eval()
    perturb_degenerate_parameters(model)
    generator = torch.Generator().manual_seed(spec.seed)
    inputs = {name: sample(generator) for name, sample in spec.inputs.items()}
    for name, tensor in inputs.items():
        np.save(model_dir / f"input_{name}.npy", tensor.numpy())

    # Autograd stays enabled on purpose: in eval mode under torch.no_grad(),
    # torch 1.13's nn.Transformer layers take fused fast paths that the
    # exporter cannot trace.
    path = model_dir / "model.onnx"
    torch.onnx.export(
        model,
        tuple(inputs.values()),
        str(path),
        opset_version=OPSET,
        input_names=list(inputs),
        output_names=spec.outputs,
        do_constant_folding=True,
    )
    onnx_model = onnx.load(str(path))
    onnx.checker.check_model(onnx_model)
    flops, matmul_nodes = matmul_flops(onnx_model)
    ops = sorted({node.op_type for node in onnx_model.graph.node})
    meta = {
        "name": spec.name,
        "description": spec.description,
        "opset": OPSET,
        "seed": spec.seed,
        "torch_version": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "inputs": [{"name": name, "file": f"input_{name}.npy",
                    "shape": list(tensor.shape), "dtype": str(tensor.numpy().dtype)}
                   for name, tensor in inputs.items()],
        "outputs": spec.outputs,
        "matmul_flops": flops,
        "matmul_nodes": matmul_nodes,
        "op_types": ops,
    }
    (model_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def parse_args(argv: List[str], names: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=BENCH_DIR / "out",
                        help="output directory (default: bench/out)")
    parser.add_argument("--models", nargs="+", choices=names, default=names,
                        help="models to export (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="export again even if DIR/NAME/meta.json exists")
    return parser.parse_args(argv)


def main(argv: List[str]) -> int:
    specs = bench_models()
    args = parse_args(argv, [s.name for s in specs])
    for spec in specs:
        if spec.name not in args.models:
            continue
        model_dir = args.out_dir / spec.name
        if (model_dir / "meta.json").exists() and not args.force:
            print(f"{spec.name}: {model_dir} exists, skipped (--force exports again)")
            continue
        start = time.monotonic()
        meta = export_model(spec, model_dir)
        print(f"{spec.name}: exported in {time.monotonic() - start:.1f} s, "
              f"{meta['parameters'] / 1e6:.1f} M parameters, "
              f"{meta['matmul_flops'] / 1e9:.2f} GFLOP in {meta['matmul_nodes']} "
              f"MatMul/Gemm nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
