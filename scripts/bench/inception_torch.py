"""PyTorch's side of `dimr-eval bench inception`: the same work as ours — IMAGES generated 256×256
uint8 images, torch-fidelity's TF-1 bilinear resize to 299, (x − 128)/128, in batches — through
the TorchScript FID network (WEIGHTS.pt) and, given EAGER.pth, pytorch-fid's eager InceptionV3 in
channels-last. Prints one JSON line: {"rates": {name: images/s}, "poolDifference": ..., "skipped": ...}."""
import argparse, json, time
import numpy as np, torch
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as resize

p = argparse.ArgumentParser()
p.add_argument("weights"); p.add_argument("eager", nargs="?")
p.add_argument("--images", type=int, required=True); p.add_argument("--batch-size", type=int, required=True)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.set_flush_denormal(True)
nets = {"torchscript": (torch.jit.load(a.weights, map_location="cpu").eval(), False)}
answer = {}
try:
    import pytorch_fid.inception as fid
except ImportError:
    fid = None
    answer["skipped"] = "pytorch_fid is not installed in the anchors venv"
if a.eager and fid is not None:
    sd = torch.load(a.eager, map_location="cpu")
    sd.setdefault("fc.weight", torch.zeros(1008, 2048)); sd.setdefault("fc.bias", torch.zeros(1008))
    fid.load_state_dict_from_url = lambda *args, **kwargs: sd
    eager = fid.InceptionV3([3], resize_input=False, normalize_input=False).eval()
    nets["pytorch-fid channels-last"] = (eager.to(memory_format=torch.channels_last), True)
n, b = a.images, a.batch_size
x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (n, 256, 256, 3), dtype=np.uint8))
def prepare(imgs, channels_last):
    t = (resize(imgs.permute(0, 3, 1, 2).float(), size=(299, 299), align_corners=False) - 128) / 128
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t
def pool(net, t):
    out = net(t)
    return (out[0] if isinstance(out, list) else out).reshape(t.shape[0], -1)
def run(net, channels_last, imgs):
    with torch.inference_mode():
        for i in range(0, len(imgs), b):
            pool(net, prepare(imgs[i:i + b], channels_last))
rates = {}
for name, (net, channels_last) in nets.items():
    run(net, channels_last, x[:b])  # warm-up
    t0 = time.time(); run(net, channels_last, x); rates[name] = n / (time.time() - t0)
answer["rates"] = rates
if len(nets) > 1:
    with torch.inference_mode():
        first, second = [pool(net, prepare(x[:2], cl)) for net, cl in nets.values()]
    answer["poolDifference"] = float((first - second).abs().max())
print(json.dumps(answer))
