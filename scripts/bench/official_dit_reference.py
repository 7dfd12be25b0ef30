#!/usr/bin/env python3
"""How fast does the official DiT learn the embedded shapes at our budget? Trains the official
implementation (facebookresearch/DiT models.py + diffusion/, from a local checkout; nothing of it
is copied here: its own ε + learned-σ loss, uniform t) at the tiny size on images exported by
`dimr-eval shapes`, and writes DDPM samples as ADM batches at the chosen steps, to be scored with
`dimr-eval eval SAMPLES.npz HELD_OUT.npz`. RUNLOG.md, "The official DiT at the same budget".

    dimr-eval shapes --count 57600 -o /tmp/shapes-train.npz          # 1,800 steps × 32 images
    dimr-eval shapes --count 256 --held-out -o /tmp/shapes-held.npz
    python3 scripts/bench/official_dit_reference.py /tmp/shapes-train.npz --dit-repo /tmp/DiT --eval-at 900,1800
"""
import argparse, copy, sys, time
import numpy as np

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("data", help="ADM .npz from `dimr-eval shapes` (arr_0 uint8 NHWC, arr_1 labels)")
p.add_argument("--dit-repo", required=True)
p.add_argument("--steps", type=int, default=1800); p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--batch-size", type=int, default=32); p.add_argument("--eval-at", default="900,1800")
p.add_argument("--ema", type=float, default=0.999, help="EMA rate, with our (1+s)/(10+s) ramp")
p.add_argument("--sample-steps", default="100"); p.add_argument("--count", type=int, default=256)
p.add_argument("--threads", type=int, default=2); p.add_argument("--out", default="official-dit")
a = p.parse_args()
sys.path.insert(0, a.dit_repo)
import torch
from models import DiT
from diffusion import create_diffusion

data = np.load(a.data)
images, labels = data["arr_0"], data["arr_1"]
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = DiT(input_size=32, patch_size=4, in_channels=3, hidden_size=128, depth=4, num_heads=4, num_classes=10,
            learn_sigma=True, class_dropout_prob=0.1)
print("parameters", sum(q.numel() for q in model.parameters()), flush=True)
ema = copy.deepcopy(model).requires_grad_(False)
diffusion = create_diffusion(timestep_respacing="")
optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0)
evaluate_at = {int(s) for s in a.eval_at.split(",")}
start = time.time()
for step in range(1, a.steps + 1):
    rows = np.arange((step - 1) * a.batch_size, step * a.batch_size) % len(images)   # in order, like our trainer
    x = torch.from_numpy(images[rows]).permute(0, 3, 1, 2).float() / 127.5 - 1
    t = torch.randint(0, diffusion.num_timesteps, (a.batch_size,))
    loss = diffusion.training_losses(model, x, t, dict(y=torch.from_numpy(labels[rows].astype(np.int64))))["loss"].mean()
    optimizer.zero_grad(); loss.backward(); optimizer.step()
    decay = min(a.ema, (1 + step) / (10 + step))
    with torch.no_grad():
        for e, m in zip(ema.parameters(), model.parameters()):
            e.mul_(decay).add_(m.detach(), alpha=1 - decay)
    if step % 100 == 0:
        print(f"step {step} loss {loss.item():.4f} {time.time() - start:.0f} s", flush=True)
    if step in evaluate_at:
        sampler = create_diffusion(a.sample_steps)
        y = torch.arange(a.count) % 10
        z = torch.randn(a.count, 3, 32, 32, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            s = sampler.p_sample_loop(ema, z.shape, z, clip_denoised=True, model_kwargs=dict(y=y), progress=False, device="cpu")
        out = f"{a.out}-{step}.npz"
        np.savez(out, arr_0=((s + 1) * 127.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy(), arr_1=y.numpy())
        print(f"wrote {out} ({time.time() - start:.0f} s)", flush=True)
