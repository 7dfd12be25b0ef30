#!/usr/bin/env bash
# The test command (README): set-up if needed, then every test target in a release build
# (the Inception and training tests run real networks; a debug build would be 20x slower).
# Testable imports are off, so the libraries are compiled exactly as `swift build -c release`
# compiles them and scripts/demo.sh afterwards reuses this build instead of making a second one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift test -c release --disable-testable-imports 2>&1
