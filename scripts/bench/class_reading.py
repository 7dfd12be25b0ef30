#!/usr/bin/env python3
"""How much does a trained U-ViT read its class token? (With --dit-repo instead: how much a DiT's
output depends on its label, for comparison.) Loads a `dimr-eval train --arch uvit`
checkpoint into baofff/U-ViT's `libs/uvit.py` (as official_crosscheck.py does), noises
embedded-shape images (an ADM batch with labels, e.g. `dimr-eval shapes --held-out`) to a few
timesteps of the linear schedule, and prints per block the share of the patch tokens' attention
that lands on the class token (uniform attention: 1 / (2 + patches)), and how much the x0
prediction moves when the true label is swapped for another (mean |Δ| in grey levels).

    python3 scripts/bench/class_reading.py RUN/checkpoints/step-00006000.safetensors \
        held-out.npz --uvit-repo /tmp/U-ViT
"""
import argparse
import numpy as np

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("checkpoint"); p.add_argument("images"); p.add_argument("--uvit-repo"); p.add_argument("--dit-repo")
p.add_argument("--count", type=int, default=64); p.add_argument("--timesteps", default="100,400,700,999")
a = p.parse_args()
from crosscheck_common import load_official
model = load_official(a.checkpoint, a.dit_repo, a.uvit_repo)
import torch

shares = {}
def recorder(block_name):
    def hook(module, inputs, output):
        x = inputs[0]
        B, L, C = x.shape
        qkv = module.qkv(x).reshape(B, L, 3, module.num_heads, C // module.num_heads).permute(2, 0, 3, 1, 4)
        attn = ((qkv[0] @ qkv[1].transpose(-2, -1)) * module.scale).softmax(-1)   # B H L L
        shares.setdefault(block_name, []).append(attn[:, :, 2:, 0].mean().item())  # patches → class (token 0 officially)
    return hook
if a.uvit_repo:
    blocks = [("in." + str(i), b) for i, b in enumerate(model.in_blocks)] + [("mid", model.mid_block)] \
        + [("out." + str(i), b) for i, b in enumerate(model.out_blocks)]
    for name, b in blocks:
        b.attn.register_forward_hook(recorder(name))

batch = np.load(a.images)
x0 = torch.from_numpy(batch["arr_0"][:a.count].astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2)
labels = torch.from_numpy(batch["arr_1"][:a.count].astype(np.int64))
betas = np.linspace(1e-4, 0.02, 1000); alpha_bar = np.cumprod(1 - betas)
g = torch.Generator().manual_seed(0)
if a.uvit_repo:
    print(f"uniform share: {1 / 66:.4f}")
for t in [int(s) for s in a.timesteps.split(",")]:
    shares.clear()
    noise = torch.randn(x0.shape, generator=g)
    xt = float(np.sqrt(alpha_bar[t])) * x0 + float(np.sqrt(1 - alpha_bar[t])) * noise
    with torch.no_grad():
        right = model(xt, torch.full((a.count,), float(t)), labels)
        wrong = model(xt, torch.full((a.count,), float(t)), (labels + 5) % 10)
    moved = ((right - wrong).abs().mean() * 127.5).item()
    share = ("  class-token share per block: " + "  ".join(f"{k} {np.mean(v):.4f}" for k, v in shares.items())) if shares else ""
    print(f"t={t:4d}{share}  |x0(label) - x0(label+5)| = {moved:.2f} grey levels")
