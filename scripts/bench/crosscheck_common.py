"""What the scripts that run our checkpoints through the official implementations share: the
checkpoint reader, loading a tiny DiT or U-ViT checkpoint into facebookresearch/DiT's `models.py`
or baofff/U-ViT's `libs/uvit.py` (from local checkouts; nothing of them is copied here), the
sampler's starting noise (TensorCore's SplitMix64 "sample i" streams, re-implemented), and the
comparison of an x0 network's output with `dimr-eval sample --sampler ddim --steps 1`."""
import json, struct, sys
import numpy as np

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

def starting_noise(count):
    """The (count, 3, 32, 32) noise `dimr-eval sample --seed 0` starts from."""
    return np.stack([np.array([r.normal() for _ in range(3 * 32 * 32)], np.float32).reshape(3, 32, 32)
                     for r in (SplitMix64(0, f"sample {i}") for i in range(count))])

def compare_one_step(x0, samples, count):
    """Prints the largest difference in grey levels; 0 (pass) when it is at most 1 (rounding)."""
    import torch
    official = ((x0.clamp(-1, 1) + 1) * 127.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy().astype(int)
    ours = np.load(samples)["arr_0"][:count].astype(int)
    diff = np.abs(official - ours)
    print(f"{count} one-step samples: max |official − ours| = {diff.max()} grey levels, mean {diff.mean():.5f}")
    return 0 if diff.max() <= 1 else 1

def load_official(checkpoint, dit_repo=None, uvit_repo=None, weights="ema"):
    """The official model (eval mode) holding a tiny checkpoint's `weights` (ema or model):
    DiT patch 4, width 128, depth 4, 4 heads; U-ViT patch 4, width 128, depth 5, 4 heads. The one
    layout difference: our U-ViT's token order is [time | class | patches], the official
    [class | time | patches], so the first two rows of its position table swap."""
    if bool(dit_repo) == bool(uvit_repo):
        sys.exit("give one of --dit-repo (a DiT checkpoint) and --uvit-repo (a U-ViT checkpoint)")
    sys.path.insert(0, dit_repo or uvit_repo)
    import torch
    tensors = read_safetensors(checkpoint)
    if dit_repo:
        from models import DiT
        model = DiT(input_size=32, patch_size=4, in_channels=3, hidden_size=128, depth=4, num_heads=4,
                    num_classes=10, learn_sigma=False)
        ours = lambda name: name.replace("embedding_table.weight", "embedding_table")
        skip = {"pos_embed"}   # fixed sin-cos, not a checkpoint tensor; ours is computed the same way
    else:
        from libs.uvit import UViT
        # num_classes = 11: ten classes and the null label of classifier-free guidance, as in our table.
        model = UViT(img_size=32, patch_size=4, in_chans=3, embed_dim=128, depth=5, num_heads=4, mlp_ratio=4,
                     qkv_bias=False, mlp_time_embed=False, num_classes=11, conv=True, skip=True)
        ours = lambda name: name
        skip = set()
    state = model.state_dict()
    for name, official in state.items():
        if name in skip:
            continue
        key = f"{weights}.{ours(name)}"
        if key not in tensors:
            sys.exit(f"{checkpoint}: no tensor '{key}' for the official '{name}'")
        value = torch.from_numpy(tensors[key].copy())
        if uvit_repo and name == "pos_embed":
            value = value[[1, 0] + list(range(2, value.shape[0]))]
        if value.numel() != official.numel():
            sys.exit(f"{checkpoint}: '{key}' has shape {tuple(value.shape)}, the official '{name}' {tuple(official.shape)}")
        state[name] = value.reshape(official.shape)
    model.load_state_dict(state)
    return model.eval()
