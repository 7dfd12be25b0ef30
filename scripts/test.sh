#!/usr/bin/env bash
# The test command (README): set-up if needed, then every test target in a release build
# (the Inception and training tests run real networks; a debug build would be 20x slower).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift test -c release 2>&1
