#!/usr/bin/env python3
"""Is our U-ViT the paper's U-ViT? Loads a `dimr-eval train --arch uvit` checkpoint into the
official implementation (baofff/U-ViT libs/uvit.py, from a local checkout; nothing of it is copied
here) and compares its x0 prediction at t = 999 with `dimr-eval sample --sampler ddim --steps 1`
from the same starting noise.

    git clone https://github.com/baofff/U-ViT /tmp/U-ViT              # plus: pip install torch einops
    dimr-eval train --arch uvit --steps 300 --no-score --out /tmp/uvit-run
    dimr-eval sample /tmp/uvit-run --count 8 --sampler ddim --steps 1 -o /tmp/uvit-one-step.npz
    python3 scripts/bench/official_uvit_crosscheck.py /tmp/uvit-run/checkpoints/step-00000300.safetensors \
        /tmp/uvit-one-step.npz --uvit-repo /tmp/U-ViT

Only for x0-predicting tiny U-ViTs (patch 4, width 128, depth 5, 4 heads; the recipe's target).
The one layout difference: our token order is [time | class | patches], the official
[class | time | patches], so the first two rows of the position table swap.
"""
import argparse, sys

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("checkpoint"); p.add_argument("samples"); p.add_argument("--uvit-repo", required=True)
p.add_argument("--weights", default="ema", choices=["ema", "model"]); p.add_argument("--count", type=int, default=8)
a = p.parse_args()
sys.path.insert(0, a.uvit_repo)
import torch
from libs.uvit import UViT
from crosscheck_common import read_safetensors, starting_noise, compare_one_step

tensors = read_safetensors(a.checkpoint)
# num_classes = 11: ten classes and the null label of classifier-free guidance, as in our table.
model = UViT(img_size=32, patch_size=4, in_chans=3, embed_dim=128, depth=5, num_heads=4, mlp_ratio=4,
             qkv_bias=False, mlp_time_embed=False, num_classes=11, conv=True, skip=True)
state = model.state_dict()
for name, official in state.items():
    ours = f"{a.weights}.{name}"
    if ours not in tensors:
        sys.exit(f"{a.checkpoint}: no tensor '{ours}' for the official '{name}'")
    value = torch.from_numpy(tensors[ours].copy())
    if name == "pos_embed":
        value = value[[1, 0] + list(range(2, value.shape[0]))]
    if value.numel() != official.numel():
        sys.exit(f"{a.checkpoint}: '{ours}' has shape {tuple(value.shape)}, the official '{name}' {tuple(official.shape)}")
    state[name] = value.reshape(official.shape)
model.load_state_dict(state)
model.eval()
noise = starting_noise(a.count)
with torch.no_grad():
    x0 = model(torch.from_numpy(noise), torch.full((a.count,), 999.0), torch.arange(a.count) % 10)
sys.exit(compare_one_step(x0, a.samples, a.count))
