#!/usr/bin/env bash
# Builds Rucksack's libFuzzer targets with AddressSanitizer and runs each for SECONDS (default 60)
# on a seed corpus made from the committed fixtures. A crash, a sanitizer report or a leak ends
# the run non-zero and leaves the input as crash-* in the working directory.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET ...]   (targets: FuzzModelFile FuzzSafeTensors FuzzNPY FuzzGzipIDX)
# FUZZ_SEED (default 1) seeds libFuzzer, so that CI explores the same inputs each run; set it to
# something else locally to explore further.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzModelFile FuzzSafeTensors FuzzNPY FuzzGzipIDX)

seeds() {
    case "$1" in
        FuzzModelFile) find Tests/RucksackCLITests/Fixtures -name model.json ;;
        FuzzSafeTensors) find Tests/RucksackCoreTests/Fixtures -name '*.safetensors' -size -64k ;;
        FuzzNPY) find Tests/RucksackCoreTests/Fixtures -name '*.npy' -size -64k ;;
        FuzzGzipIDX) ls Sources/RucksackExamples/Resources/mnist-subset/*labels* ;;
    esac
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
    echo "== $target: build"
    RUCKSACK_FUZZ=1 swift build --scratch-path .build-fuzz --product "$target" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >/dev/null
    corpus="$work/$target"
    mkdir -p "$corpus"
    seeds "$target" | while read -r seed; do cp "$seed" "$corpus/$(echo "$seed" | tr '/' '_')"; done
    echo "== $target: fuzz for $seconds s from $(ls "$corpus" | wc -l) seeds"
    status=0
    .build-fuzz/debug/"$target" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 "$corpus" \
        >"$work/$target.log" 2>&1 || status=$?
    grep -E "^(Done|stat::number_of_executed_units)" "$work/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$work/$target.log"
        echo "== $target found a problem (exit $status); the input is in crash-*, leak-* or oom-*"
        exit "$status"
    fi
done
