"""The reference side of `dimr-eval bench metrics`: times the anchors' numpy precision/recall
(reference.manifold_pr), prdc.compute_prdc (k = 5, unless --no-prdc), the ADM/scipy Fréchet
distance and pytorch-fid's, on the inputs `bench metrics` wrote to DIR (real.npy, fake.npy,
a.npz, b.npz). The anchors kit (../shared/anchors, or $ANCHORS_KIT) provides `reference`.
Prints one JSON line: {"pr": [p, r], "knn": s, "prdc": s, "fid": ..., "fid_scipy": s, "fid_pytorch": s}."""
import argparse, json, os, sys, time
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("dir"); p.add_argument("--anchors-kit", required=True); p.add_argument("--no-prdc", action="store_true")
a = p.parse_args()
sys.path.insert(0, a.anchors_kit)
import reference
real, fake = np.load(os.path.join(a.dir, "real.npy")), np.load(os.path.join(a.dir, "fake.npy"))
sa, sb = np.load(os.path.join(a.dir, "a.npz")), np.load(os.path.join(a.dir, "b.npz"))
out = {}
t = time.perf_counter(); out["pr"] = list(reference.manifold_pr(real, fake)); out["knn"] = time.perf_counter() - t
if not a.no_prdc:
    import prdc
    t = time.perf_counter(); prdc.compute_prdc(real, fake, 5); out["prdc"] = time.perf_counter() - t
t = time.perf_counter(); out["fid"] = reference.frechet(sa["mu"], sa["sigma"], sb["mu"], sb["sigma"]); out["fid_scipy"] = time.perf_counter() - t
from pytorch_fid.fid_score import calculate_frechet_distance
t = time.perf_counter(); calculate_frechet_distance(sa["mu"], sa["sigma"], sb["mu"], sb["sigma"]); out["fid_pytorch"] = time.perf_counter() - t
print(json.dumps(out))
