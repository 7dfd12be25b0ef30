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
import argparse, json, struct, sys
import numpy as np

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("checkpoint"); p.add_argument("samples"); p.add_argument("--dit-repo", required=True)
p.add_argument("--weights", default="ema", choices=["ema", "model"]); p.add_argument("--count", type=int, default=8)
a = p.parse_args()
sys.path.insert(0, a.dit_repo)
import torch
from models import DiT

MASK = (1 << 64) - 1

class SplitMix64:
    """TensorCore's SplitMix64 with its named streams and Box-Muller normals (spare kept)."""
    def __init__(self, seed, stream):
        h = 0xcbf29ce484222325
        for byte in stream.encode():
            h = ((h ^ byte) * 0x100000001b3) & MASK
        self.state, self.spare = seed ^ h, None
        self.next()
    def next(self):
        self.state = (self.state + 0x9e3779b97f4a7c15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
        return z ^ (z >> 31)
    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53
    def normal(self):
        if self.spare is not None:
            value, self.spare = self.spare, None
            return value
        u1 = self.uniform()
        while u1 <= 0:
            u1 = self.uniform()
        u2, r = self.uniform(), np.sqrt(-2 * np.log(u1))
        self.spare = np.float32(r * np.sin(2 * np.pi * u2))
        return np.float32(r * np.cos(2 * np.pi * u2))

def read_safetensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    return {k: np.frombuffer(blob[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}

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
noise = np.stack([np.array([r.normal() for _ in range(3 * 32 * 32)], np.float32).reshape(3, 32, 32)
                  for r in (SplitMix64(0, f"sample {i}") for i in range(a.count))])
with torch.no_grad():
    x0 = model(torch.from_numpy(noise), torch.full((a.count,), 999.0), torch.arange(a.count) % 10)
official = ((x0.clamp(-1, 1) + 1) * 127.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy().astype(int)
ours = np.load(a.samples)["arr_0"][:a.count].astype(int)
diff = np.abs(official - ours)
print(f"{a.count} one-step samples: max |official − ours| = {diff.max()} grey levels, mean {diff.mean():.5f}")
sys.exit(0 if diff.max() <= 1 else 1)
