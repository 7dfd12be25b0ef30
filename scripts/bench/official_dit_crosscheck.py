#!/usr/bin/env python3
"""Is our DiT the paper's DiT? Loads a `dimr-eval train --arch dit` checkpoint into the official
implementation (facebookresearch/DiT models.py, from a local checkout; nothing of it is copied
here) and compares its x0 prediction at t = 999 with `dimr-eval sample --sampler ddim --steps 1`
from the same starting noise (SplitMix64 "sample i" streams, re-implemented below).

    git clone https://github.com/facebookresearch/DiT /tmp/DiT     # plus: pip install torch timm
    dimr-eval train --arch dit --prediction data --steps 300 --no-score --out /tmp/dit-run
    dimr-eval sample /tmp/dit-run --count 8 --sampler ddim --steps 1 -o /tmp/dit-one-step.npz
    python3 scripts/bench/official_dit_crosscheck.py /tmp/dit-run/checkpoints/step-00000300.safetensors \
        /tmp/dit-one-step.npz --dit-repo /tmp/DiT

Only for x0-predicting tiny DiTs (patch 4, width 128, depth 4, 4 heads): an x0 model's output is
the one-step DDIM sample itself, so any difference is a difference of the networks.
"""
import argparse, sys

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("checkpoint"); p.add_argument("samples"); p.add_argument("--dit-repo", required=True)
p.add_argument("--weights", default="ema", choices=["ema", "model"]); p.add_argument("--count", type=int, default=8)
a = p.parse_args()
sys.path.insert(0, a.dit_repo)
import torch
from models import DiT
from crosscheck_common import read_safetensors, starting_noise, compare_one_step

tensors = read_safetensors(a.checkpoint)
model = DiT(input_size=32, patch_size=4, in_channels=3, hidden_size=128, depth=4, num_heads=4, num_classes=10, learn_sigma=False)
state = model.state_dict()
for name in state:
    if name == "pos_embed":
        continue    # fixed sin-cos, not a checkpoint tensor; ours is computed the same way
    ours = f"{a.weights}." + name.replace("embedding_table.weight", "embedding_table")
    if ours not in tensors:
        sys.exit(f"{a.checkpoint}: no tensor '{ours}' for the official '{name}'")
    state[name] = torch.from_numpy(tensors[ours].copy())
model.load_state_dict(state)
model.eval()
noise = starting_noise(a.count)
with torch.no_grad():
    x0 = model(torch.from_numpy(noise), torch.full((a.count,), 999.0), torch.arange(a.count) % 10)
sys.exit(compare_one_step(x0, a.samples, a.count))
