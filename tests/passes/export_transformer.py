"""Export nn.Transformer with 3 encoder and 3 decoder layers, GELU and a
causal target mask, at opsets 14 and 17, with reference outputs, for
checking that every LayerNorm, attention block and GELU fuses.

Usage: /usr/bin/python3 export_transformer.py OUTDIR

Writes OUTDIR/transformer3_opN/{model.onnx, meta.json, b2/...} in the
layout of tests/models/export.py, so check_fusion.py can check it.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

SRC_LEN, TGT_LEN, BATCH, D_MODEL = 10, 7, 2, 32


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = nn.Transformer(
            d_model=D_MODEL, nhead=4, num_encoder_layers=3,
            num_decoder_layers=3, dim_feedforward=64, dropout=0.0,
            activation="gelu", batch_first=True)
        self.register_buffer(
            "causal", nn.Transformer.generate_square_subsequent_mask(TGT_LEN))

    def forward(self, src, tgt):
        return self.transformer(src, tgt, tgt_mask=self.causal)


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = Model().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    src = torch.randn(BATCH, SRC_LEN, D_MODEL)
    tgt = torch.randn(BATCH, TGT_LEN, D_MODEL)
    # Grad stays on so that torch 1.13 takes the traced Python path rather
    # than its fused encoder kernel, as in tests/models/export.py.
    ref = model(src, tgt).detach().numpy()
    for opset in (14, 17):
        name = "transformer3_op%d" % opset
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "b2"), exist_ok=True)
        torch.onnx.export(model, (src, tgt), os.path.join(d, "model.onnx"),
                          opset_version=opset, input_names=["src", "tgt"],
                          output_names=["output"])
        files = {}
        for key, x in (("src", src.numpy()), ("tgt", tgt.numpy()),
                       ("output", ref)):
            files[key] = "b2/%s.npy" % key
            np.save(os.path.join(d, files[key]), x)
        meta = {
            "name": name,
            "dims": {"b2": {}},
            "inputs": [{"name": n, "file": {"b2": files[n]}}
                       for n in ("src", "tgt")],
            "outputs": [{"name": "output", "file": {"b2": files["output"]}}],
        }
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print("wrote " + d)


if __name__ == "__main__":
    main()
