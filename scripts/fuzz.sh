#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads user files, with libFuzzer and
# AddressSanitizer (swiftc -sanitize=fuzzer,address; Sources/dimr-eval-fuzz/FuzzTargets.swift).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 60); default: every target
#   scripts/fuzz.sh 0                         runs each corpus once (seeds and regressions), no mutation
#
# Targets: npy npz pickle torch safetensors jpeg png stats features. Each starts from a corpus of
# the fixtures (fixtures/io, fixtures/inception/*.pt, fixtures/fuzz/seeds/TARGET) and the saved
# crash inputs (fixtures/fuzz/regressions/TARGET), kept in .build-fuzz/corpus/TARGET between runs.
# A crash, a leak, an out-of-memory (> 2 GB) or a hang (> 10 s on one input) is written to
# .build-fuzz/crashes/TARGET/ and makes the script exit 1 after the other targets have run.
# Turn each into a regression: fix it, copy the input to fixtures/fuzz/regressions/TARGET/ (the
# CLI tests replay them through the normal build). FUZZ_NICE=19 runs the fuzzers under nice.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all=(npy npz pickle torch safetensors jpeg png stats features)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

scratch=.build-fuzz
echo "building the fuzz targets (libFuzzer + AddressSanitizer) in $scratch" >&2
swift build -c release --scratch-path "$scratch" --product dimr-eval-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER -Xcc -fsanitize=fuzzer-no-link,address \
    -Xlinker --undefined=LLVMFuzzerRunDriver -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver >&2
# (SwiftPM makes the target's own entry point `main`; it calls LLVMFuzzerRunDriver, kept and
# exported by the two linker flags, instead of libFuzzer's main.)
binary="$scratch/release/dimr-eval-fuzz"

seeds() {   # the fixture files that seed a target
    case "$1" in
        npy) ls fixtures/io/npy/*.npy fixtures/io/bad/*.npy fixtures/io/npz/*.npy ;;
        npz) ls fixtures/io/npz/*.npz fixtures/io/bad/*.npz ;;
        pickle) ls fixtures/fuzz/seeds/pickle/* ;;
        torch) ls fixtures/inception/checkpoint_*.pt fixtures/fuzz/seeds/torch/* ;;
        safetensors) ls fixtures/io/safetensors/*.safetensors ;;
        jpeg) ls fixtures/io/images/*.jpg fixtures/io/variants/*.jpg fixtures/io/bad/*.jpg fixtures/io/folder/*.JPG ;;
        png) ls fixtures/io/images/*.png fixtures/io/variants/*.png fixtures/io/bad/*.png fixtures/io/folder/*.png ;;
        stats) ls fixtures/fuzz/seeds/stats/* fixtures/io/npz/named*.npz ;;
        features) ls fixtures/fuzz/seeds/features/* fixtures/io/npz/adm_*.npz ;;
    esac
    ls fixtures/fuzz/regressions/"$1"/* 2>/dev/null || true
}
max_len() {   # largest input tried: the biggest seed is 15 kB (features); zips need room
    case "$1" in
        npy|safetensors|pickle) echo 4096 ;;
        jpeg|png|torch) echo 8192 ;;
        npz|stats|features) echo 20000 ;;
    esac
}

summary="$scratch/fuzz-summary.txt"
: > "$summary"
failed=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target" crashes="$scratch/crashes/$target"
    mkdir -p "$corpus" "$crashes"
    for f in $(seeds "$target"); do cp -n "$f" "$corpus/seed-$(basename "$f")" 2>/dev/null || true; done
    log="$scratch/fuzz-$target.log"
    echo "fuzzing $target for ${seconds}s ($(ls "$corpus" | wc -l) corpus inputs)" >&2
    set +e
    if [ "$seconds" -eq 0 ]; then duration=(-runs=0); else duration=(-max_total_time="$seconds"); fi
    DIMR_FUZZ_TARGET="$target" LSAN_OPTIONS="suppressions=$PWD/scripts/fuzz-lsan.supp:print_suppressions=0" nice -n "${FUZZ_NICE:-0}" "$binary" "$corpus" \
        "${duration[@]}" -max_len="$(max_len "$target")" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$crashes/" -print_final_stats=1 > "$log" 2>&1
    status=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    found=$(ls "$crashes" | wc -l)
    line="$target: ${runs:-0} executions in ${seconds}s, corpus $(ls "$corpus" | wc -l), findings $found (exit $status)"
    echo "$line" | tee -a "$summary" >&2
    if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        grep -m 5 -E 'ERROR|Fatal error|SUMMARY|deadly signal' "$log" >&2 || true
    fi
done
total=$(grep -o '^[a-z]*: [0-9]*' "$summary" | awk '{s += $2} END {print s + 0}')
echo "total: $total executions over ${#targets[@]} targets (summary: $summary)" | tee -a "$summary" >&2
exit $failed
