"""PyTorch twins of dimr-eval's tiny models (Sources/DiMRTrainer/Models/DiMR.swift, DiT.swift,
UViT.swift) for `dimr-eval bench train`: the same layers and sizes, written for torch (the
parameter counts match the Swift models'), timed per training step (forward + loss + backward +
gradient clipping + AdamW + the EMA of the weights, as the Swift step does) on the same number of threads, in eager mode or with --compile.
Prints one JSON line: {"median_step_seconds": ..., "parameters": ..., "torch": ..., "compiled": ...}.
Only the tiny presets are modelled."""
import argparse, json, math, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--arch", default="dimr", choices=["dimr", "dit", "uvit"]); p.add_argument("--preset", default="tiny")
p.add_argument("--batch-size", type=int, default=32); p.add_argument("--steps", type=int, default=10)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--compile", action="store_true", help="time torch.compile(model) instead of eager")
a = p.parse_args()
assert a.preset == "tiny", "the twins model the tiny presets only"
torch.set_num_threads(a.threads); torch.manual_seed(0)

# ---- DiMR tiny (2R: transformer at 8x8, ConvNeXt at 32x32), TD-LN / TD-RMSNorm ----
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


# ---- shared by DiT and U-ViT: the timestep sinusoid (cos, sin) as in Layers.swift ----
def sinusoid(t, dim, max_period=10000.0):
    half = dim // 2
    f = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    a = t[:, None].float() * f[None]
    return torch.cat([torch.cos(a), torch.sin(a)], -1)
def sincos_2d(dim, grid):
    def one(d, pos):
        w = 1.0 / 10000 ** (torch.arange(d // 2, dtype=torch.float64) / (d / 2))
        o = pos.reshape(-1)[:, None] * w[None]
        return torch.cat([torch.sin(o), torch.cos(o)], 1)
    g = torch.arange(grid, dtype=torch.float64)
    gy, gx = torch.meshgrid(g, g, indexing="ij")
    return torch.cat([one(dim // 2, gx), one(dim // 2, gy)], 1).float()
class Attention(nn.Module):
    def __init__(s, d, heads, bias): super().__init__(); s.h = heads; s.qkv = nn.Linear(d, 3 * d, bias=bias); s.proj = nn.Linear(d, d)
    def forward(s, x):
        B, T, D = x.shape
        q, k, v = s.qkv(x).reshape(B, T, 3, s.h, D // s.h).permute(2, 0, 3, 1, 4)
        return s.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, D))
def patchify_out(h, grid, patch):  # (B, T, p*p*3) -> (B, 3, H, W)
    B = h.shape[0]
    return h.reshape(B, grid, grid, patch, patch, 3).permute(0, 5, 1, 3, 2, 4).reshape(B, 3, grid * patch, grid * patch)

# ---- DiT tiny (patch 4, dim 128, depth 4, heads 4): adaLN-Zero blocks ----
class DiTBlock(nn.Module):
    def __init__(s, d, heads):
        super().__init__(); s.attn = Attention(d, heads, True); s.fc1 = nn.Linear(d, 4 * d); s.fc2 = nn.Linear(4 * d, d)
        s.ada = nn.Linear(d, 6 * d)
    def forward(s, x, c):
        sa, ca, ga, sm, cm, gm = s.ada(c)[:, None].chunk(6, -1)
        x = x + ga * s.attn(F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + ca) + sa)
        return x + gm * s.fc2(F.gelu(s.fc1(F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + cm) + sm), approximate="tanh"))
class DiT(nn.Module):
    def __init__(s, d=128, depth=4, heads=4, patch=4, classes=11):
        super().__init__(); s.p = patch; s.g = 32 // patch
        s.embed = nn.Conv2d(3, d, patch, stride=patch); s.register_buffer("pos", sincos_2d(d, s.g))
        s.t1 = nn.Linear(256, d); s.t2 = nn.Linear(d, d); s.cls = nn.Embedding(classes, d)
        s.blocks = nn.ModuleList([DiTBlock(d, heads) for _ in range(depth)])
        s.final_ada = nn.Linear(d, 2 * d); s.final = nn.Linear(d, patch * patch * 3)
    def forward(s, x, y, t):
        h = s.embed(x).flatten(2).transpose(1, 2) + s.pos
        c = F.silu(s.t2(F.silu(s.t1(sinusoid(t, 256)))) + s.cls(y))
        for b in s.blocks: h = b(h, c)
        sh, sc = s.final_ada(c)[:, None].chunk(2, -1)
        return [patchify_out(s.final(F.layer_norm(h, h.shape[-1:], eps=1e-6) * (1 + sc) + sh), s.g, s.p)]

# ---- U-ViT tiny (patch 4, dim 128, depth 5, heads 4): time and class tokens, long skips ----
class UViTBlock(nn.Module):
    def __init__(s, d, heads, skip):
        super().__init__(); s.skip = nn.Linear(2 * d, d) if skip else None
        s.n1 = nn.LayerNorm(d); s.attn = Attention(d, heads, False); s.n2 = nn.LayerNorm(d)
        s.fc1 = nn.Linear(d, 4 * d); s.fc2 = nn.Linear(4 * d, d)
    def forward(s, x, skip=None):
        if s.skip is not None: x = s.skip(torch.cat([x, skip], -1))
        x = x + s.attn(s.n1(x))
        return x + s.fc2(F.gelu(s.fc1(s.n2(x))))
class UViT(nn.Module):
    def __init__(s, d=128, depth=5, heads=4, patch=4, classes=11):
        super().__init__(); s.p = patch; s.g = 32 // patch; s.d = d
        s.embed = nn.Conv2d(3, d, patch, stride=patch); s.cls = nn.Embedding(classes, d)
        s.pos = nn.Parameter(torch.randn(2 + s.g * s.g, d) * 0.02)
        s.inb = nn.ModuleList([UViTBlock(d, heads, False) for _ in range(depth // 2)]); s.mid = UViTBlock(d, heads, False)
        s.outb = nn.ModuleList([UViTBlock(d, heads, True) for _ in range(depth // 2)])
        s.norm = nn.LayerNorm(d); s.dec = nn.Linear(d, patch * patch * 3); s.final = nn.Conv2d(3, 3, 3, padding=1)
    def forward(s, x, y, t):
        h = torch.cat([sinusoid(t, s.d)[:, None], s.cls(y)[:, None], s.embed(x).flatten(2).transpose(1, 2)], 1) + s.pos
        skips = []
        for b in s.inb: h = b(h); skips.append(h)
        h = s.mid(h)
        for b in s.outb: h = b(h, skips.pop())
        return [s.final(patchify_out(s.dec(s.norm(h))[:, 2:], s.g, s.p))]

m = {"dimr": DiMR, "dit": DiT, "uvit": UViT}[a.arch]()
parameters = sum(p.numel() for p in m.parameters())
net = torch.compile(m) if a.compile else m
opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.03)
# The sampling weights' EMA, updated every step as DiT's and U-ViT's trainers do (and ours), with
# the fused multi-tensor ops (timm's ModelEmaV3 with foreach): the fastest eager form.
live = list(m.parameters()); ema = [q.detach().clone() for q in live]
B = a.batch_size
def step():
    x0 = torch.rand(B, 3, 32, 32) * 2 - 1; y = torch.randint(0, 11, (B,)); n = torch.randint(0, 1000, (B,))
    eps = torch.randn_like(x0); ab = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)[n].view(B, 1, 1, 1)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    if a.arch == "dimr":  # DiMR reads t in [-1, 1] and has a multi-scale loss
        o0, o1 = net(xt, y, 2 * (n + 1).float() / 1000 - 1)
        loss = 0.25 * F.mse_loss(o0, F.avg_pool2d(eps, 4) * 4) + F.mse_loss(o1, eps)
    else:
        loss = F.mse_loss(net(xt, y, n.float())[0], eps)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    with torch.no_grad():
        torch._foreach_mul_(ema, 0.999); torch._foreach_add_(ema, live, alpha=0.001)
for _ in range(3 if a.compile else 2): step()
times = []
for _ in range(a.steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"median_step_seconds": times[len(times) // 2], "parameters": parameters,
                  "torch": torch.__version__, "threads": a.threads, "compiled": a.compile}))
