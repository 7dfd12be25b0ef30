#!/usr/bin/env bash
# The main job (README): set-up, release build, then the end-to-end demo on the embedded data —
# train tiny DiT, U-ViT and DiMR, score their checkpoints, compare distortion rates, write the report.
# Extra arguments go to `dimr-eval demo` (e.g. --out DIR, --steps N).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Same configuration as scripts/test.sh's build (no testable imports): after the tests this is a no-op.
swift build -c release --product dimr-eval 2>&1 | tail -n 3
exec .build/release/dimr-eval demo "$@"
