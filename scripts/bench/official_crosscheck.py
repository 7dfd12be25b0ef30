#!/usr/bin/env python3
"""Is our DiT / U-ViT the paper's? Loads a tiny `dimr-eval train --arch dit|uvit` checkpoint into
the official implementation (facebookresearch/DiT `models.py` or baofff/U-ViT `libs/uvit.py`,
from a local checkout) and compares its x0 prediction at t = 999 with `dimr-eval sample --sampler
ddim --steps 1` from the same starting noise. Exit status 0 when they agree to 1 grey level.

    git clone https://github.com/facebookresearch/DiT /tmp/DiT     # pip install torch timm
    git clone https://github.com/baofff/U-ViT /tmp/U-ViT           # pip install torch einops
    dimr-eval train --arch uvit --steps 300 --no-score --out /tmp/uvit-run
    dimr-eval sample /tmp/uvit-run --count 8 --sampler ddim --steps 1 -o /tmp/uvit-one-step.npz
    python3 scripts/bench/official_crosscheck.py /tmp/uvit-run/checkpoints/step-00000300.safetensors \
        /tmp/uvit-one-step.npz --uvit-repo /tmp/U-ViT               # or --dit-repo /tmp/DiT for a DiT run

Only for x0-predicting models (the recipe's target): an x0 model's output is the one-step DDIM
sample itself, so any difference is a difference of the networks.
"""
import argparse, sys
from crosscheck_common import load_official, starting_noise, compare_one_step

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("checkpoint"); p.add_argument("samples"); p.add_argument("--dit-repo"); p.add_argument("--uvit-repo")
p.add_argument("--weights", default="ema", choices=["ema", "model"]); p.add_argument("--count", type=int, default=8)
a = p.parse_args()
model = load_official(a.checkpoint, a.dit_repo, a.uvit_repo, a.weights)
import torch
with torch.no_grad():
    x0 = model(torch.from_numpy(starting_noise(a.count)), torch.full((a.count,), 999.0), torch.arange(a.count) % 10)
sys.exit(compare_one_step(x0, a.samples, a.count))
