"""PyTorch twin of dimr-eval's tiny DiMR (Sources/DiMRTrainer/Models/DiMR.swift) for
`dimr-eval bench train`: the same layers and sizes, written for torch, timed per training step
(forward + multi-scale loss + backward + AdamW) on the same number of threads.
Prints one JSON line: {"median_step_seconds": ..., "parameters": ..., "torch": ...}.
Only --arch dimr --preset tiny is modelled."""
import argparse, json, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--arch", default="dimr"); p.add_argument("--preset", default="tiny")
p.add_argument("--batch-size", type=int, default=32); p.add_argument("--steps", type=int, default=10)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
assert a.arch == "dimr" and a.preset == "tiny", "the twin models tiny DiMR only"
torch.set_num_threads(a.threads); torch.manual_seed(0)

class TDP(nn.Module):  # time-dependent vector: p1 + sigmoid((1+w)t+b)(p0-p1)
    def __init__(s, d, v):
        super().__init__(); s.p0 = nn.Parameter(torch.full((d,), v)); s.p1 = nn.Parameter(torch.full((d,), v))
        s.w = nn.Parameter(torch.zeros(d)); s.b = nn.Parameter(torch.zeros(d))
    def forward(s, t): return s.p1 + torch.sigmoid(t[:, None] * (1 + s.w) + s.b) * (s.p0 - s.p1)
class TDLN(nn.Module):
    def __init__(s, d): super().__init__(); s.g = TDP(d, 1.0); s.b = TDP(d, 0.0)
    def forward(s, x, t):
        sh = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
        return F.layer_norm(x, x.shape[-1:]) * s.g(t).view(sh) + s.b(t).view(sh)
class TDRMS(nn.Module):
    def __init__(s, d): super().__init__(); s.g = TDP(d, 1.0)
    def forward(s, x, t):
        sh = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
        r = x.norm(2, dim=-1, keepdim=True) * x.shape[-1] ** -0.5
        return x / (r + 1e-8) * s.g(t).view(sh)
class MLP(nn.Module):
    def __init__(s, d, h): super().__init__(); s.n = TDRMS(d); s.w01 = nn.Linear(d, 2 * h); s.w2 = nn.Linear(h, d)
    def forward(s, x, t):
        a, b = s.w01(s.n(x, t)).chunk(2, -1); return s.w2(F.gelu(a) * b)
class Block(nn.Module):
    def __init__(s, d, heads, conv):
        super().__init__(); s.conv = conv; s.mlp = MLP(d, 2 * d); s.heads = heads
        if conv: s.dw = nn.Conv2d(d, d, 7, padding=3, groups=d)
        else: s.n = TDRMS(d); s.qkv = nn.Linear(d, 3 * d, bias=False); s.proj = nn.Linear(d, d)
    def forward(s, x, t, g):
        B, T, D = x.shape
        if s.conv:
            y = s.dw(x.reshape(B, g, g, D).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(B, T, D)
        else:
            q, k, v = s.qkv(s.n(x, t)).reshape(B, T, 3, s.heads, D // s.heads).permute(2, 0, 3, 1, 4)
            y = s.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, D))
        x = x + y
        return x + s.mlp(x, t)
class Branch(nn.Module):
    def __init__(s, d, heads, nb, patch, conv, low=None, ratio=1, classes=11):
        super().__init__(); s.g = 32 // patch; s.conv = conv
        s.stem = nn.Conv2d(3, d, patch, stride=patch); s.pos = nn.Parameter(torch.randn(s.g * s.g, d) * .02)
        s.cls = None if conv else nn.Embedding(classes, d)
        if low: s.un1 = TDLN(low); s.up = nn.Linear(low, d * ratio * ratio); s.un2 = TDLN(d); s.r = ratio
        s.blocks = nn.ModuleList([Block(d, heads, conv) for _ in range(nb // 2 * 2 + 1)])
        s.skips = nn.ModuleList([nn.Linear(2 * d, d) for _ in range(nb // 2)])
        s.hn = TDLN(d); s.head = nn.Conv2d(d, 3, 3, padding=1)
    def forward(s, x, low, y, t):
        B = x.shape[0]; h = s.stem(x).permute(0, 2, 3, 1).reshape(B, -1, s.pos.shape[1]) + s.pos
        if low is not None:
            u = s.up(s.un1(low, t)).permute(0, 3, 1, 2)
            h = h + s.un2(F.pixel_shuffle(u, s.r).permute(0, 2, 3, 1), t).reshape(h.shape)
        if s.cls is not None: h = torch.cat([s.cls(y)[:, None], h], 1)
        feats, skips, n = [h], [], len(s.blocks) // 2
        for b in s.blocks[:n]: h = b(h, t, s.g); feats.append(h); skips.append(h)
        h = s.blocks[n](h, t, s.g); feats.append(h)
        for d, b in zip(s.skips, s.blocks[n + 1:]): h = b(d(torch.cat([h, skips.pop()], -1)), t, s.g); feats.append(h)
        cut = lambda v: (v if s.cls is None else v[:, 1:]).reshape(B, s.g, s.g, -1)
        h = cut(h); feats = [cut(f) for f in feats]
        return s.head(s.hn(h, t).permute(0, 3, 1, 2)), torch.cat(feats, -1)
class DiMR(nn.Module):
    def __init__(s):
        super().__init__()
        s.b0 = Branch(128, 4, 4, 4, False); s.b1 = Branch(32, 1, 2, 1, True, low=128 * 6, ratio=4)
    def forward(s, x, y, t):
        o0, f = s.b0(x, None, y, t); o1, _ = s.b1(x, f, y, t); return [o0, o1]

m = DiMR(); opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.03)
B = a.batch_size
def step():
    x0 = torch.rand(B, 3, 32, 32) * 2 - 1; y = torch.randint(0, 11, (B,)); n = torch.randint(0, 1000, (B,))
    eps = torch.randn_like(x0); ab = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)[n].view(B, 1, 1, 1)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps; t = 2 * (n + 1).float() / 1000 - 1
    o0, o1 = m(xt, y, t)
    tgt0 = F.avg_pool2d(eps, 4) * 4
    loss = 0.25 * F.mse_loss(o0, tgt0) + F.mse_loss(o1, eps)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
for _ in range(2): step()
times = []
for _ in range(a.steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"median_step_seconds": times[len(times) // 2], "parameters": sum(p.numel() for p in m.parameters()),
                  "torch": torch.__version__, "threads": a.threads}))
