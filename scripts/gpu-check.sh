#!/usr/bin/env bash
# One prepared run on a lent GPU (the `device` tool: NVIDIA H100/H200, no Rust, no internet;
# its python3 has torch and torchvision), deeper beside PyTorch on the same card in one call.
#
#   scripts/gpu-check.sh prepare      here: build release binaries (deeper + the GPU test
#                                     binaries, gzipped) into .gpu/ and download the Vulkan
#                                     loader and GL dispatch debs the NVIDIA ICD needs into .gl/
#   then one device call:  run(command="bash scripts/gpu-check.sh run", carry=[".gpu", ".gl"],
#                              timeout_s=600)
#
# `run` (on the device machine), writing into $OUT as it goes (a timeout keeps what is done):
#   gpu.txt devices.txt       the card, driver and adapters
#   deeper_b1.jsonl           `deeper bench <net> --batch 1 --json` for every network
#   torch.jsonl               scripts/torch_bench.py: PyTorch fp32, TF32 off, same nets/batches
#   deeper_b32.jsonl          the same at batch 32 for $B32_NETS (default: the 7 networks of
#                             ../shared/GPU-H200.md; B32_NETS=all for every network)
#   table.md                  scripts/gpu_table.py: one table of both plus the ratio, rewritten
#                             after each phase
#   autotune.json             the autotuner's cache after the run (empty at the start unless
#                             prepare was given AUTOTUNE_SEED=FILE), for the next run
#   nan.txt                   tests/nan.rs, run first
#   layers.jsonl              `deeper bench conv|linear --json` on six conv and three FC shapes:
#                             every kernel variant's time (tiled, winogradtiled, gemv, …)
#   rule_b1.jsonl             `deeper bench <net> --no-autotune --json` (the untuned rule) for
#                             $RULE_NETS at batch 1: against deeper_b1.jsonl, rule vs tuned
#   threads.txt               `deeper bench resnet50 --threads 4`: 4 callers on one model vs 1
#   tests.txt main_job.txt    the GPU test binaries (DEEPER_REQUIRE_GPU=1), the main job
#   timings.txt               seconds per phase
# Every phase has its own time limit and the run stops starting phases after $BUDGET seconds
# (default 360), so the whole call fits in about 8 minutes of device time with the start.
#
# For a trial elsewhere (e.g. llvmpipe), NETS, B32_NETS, TESTS, BUDGET, TORCH_DEVICE (cpu) and
# PYTHON (one with torch) replace the defaults.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."

ALL_NETS="lenet5 alexnet alexnet-paper vgg11 vgg13 vgg16 vgg19 vgg16-bn vgg19-bn resnet18
resnet34 resnet50 resnet101 resnet152 nin googlenet googlenet-paper"
NETS=${NETS:-$ALL_NETS}
TESTS=${TESTS:-nan autotune ops ops_edge pool conv_kernels models parity bench}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
export BIN=${BIN:-/tmp/deeper-gpu-check}

prepare() {
    local ex
    ex=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$ex")"
    grep -qx '/.gpu/' "$ex" 2>/dev/null || echo '/.gpu/' >> "$ex"
    grep -qx '/.gl/' "$ex" 2>/dev/null || echo '/.gl/' >> "$ex"
    rm -rf .gpu && mkdir -p .gpu
    cargo build --release --bin deeper
    cp target/release/deeper .gpu/
    for t in $TESTS; do
        # The test target's own executable (the build also lists the `deeper` binary the
        # tests run, in no fixed order).
        exe=$(cargo test --release --no-run --test "$t" --message-format=json 2>/dev/null \
            | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line) if line.startswith("{") else {}
    t = m.get("target", {})
    if t.get("name") == sys.argv[1] and "test" in t.get("kind", []) and m.get("executable"):
        print(m["executable"])' "$t" | tail -1)
        [ -n "$exe" ] && cp "$exe" ".gpu/test-$t"
    done
    pwd > .gpu/manifest_dir
    git rev-parse --short HEAD > .gpu/commit
    # Tuning on first use is part of what is measured; AUTOTUNE_SEED=FILE starts from a cache.
    [ -n "${AUTOTUNE_SEED:-}" ] && cp "$AUTOTUNE_SEED" .gpu/autotune.json
    gzip -9 .gpu/deeper .gpu/test-*
    if [ ! -d .gl ]; then
        mkdir -p .gl /tmp/amd64/partial
        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update -qq
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 \
            libgles2)
    fi
    du -sh .gpu .gl
}

# `phase NAME LIMIT CMD...`: runs CMD (a program, or `self` = this script's internal command)
# with a time limit, cut to what is left of the budget, unless the budget is spent; records
# its seconds. A failing phase does not stop the run.
phase() {
    local name=$1 limit=$2
    shift 2
    local now=$((SECONDS - START))
    if [ "$now" -ge "$BUDGET" ]; then
        echo "$name: skipped (budget of ${BUDGET}s spent at ${now}s)" | tee -a "$out/timings.txt"
        return 0
    fi
    [ $((now + limit)) -gt "$BUDGET" ] && limit=$((BUDGET - now))
    local t=$SECONDS rc=0
    [ "$1" = self ] && set -- bash "$SELF" "${@:2}"
    timeout "$limit" "$@" || rc=$?
    echo "$name: $((SECONDS - t)) s (exit $rc)" | tee -a "$out/timings.txt"
}

# `bench_nets BATCH FILE NET... [--FLAG...]`: `deeper bench NET --json` for each NET, the
# flags (e.g. --no-autotune) passed to each.
bench_nets() {
    local batch=$1 file=$2 nets=() flags=()
    shift 2
    for a in "$@"; do
        case "$a" in --*) flags+=("$a") ;; *) nets+=("$a") ;; esac
    done
    for net in "${nets[@]}"; do
        "$BIN/deeper" bench "$net" --batch "$batch" --runs 10 --json "${flags[@]}" >> "$file" \
            2>> "$out/bench.err" || echo "deeper bench $net --batch $batch failed" >&2
    done
}

write_table() {
    local files=()
    for f in "$out"/deeper_b1.jsonl "$out"/deeper_b32.jsonl "$out"/torch.jsonl; do
        [ -s "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    local card
    card=$(sed -n 2p "$out/gpu.txt" 2>/dev/null | tr -d '\r')
    [ -n "$card" ] && card="$card (name, driver)" || card=$(head -1 "$out/devices.txt")
    "$PYTHON" scripts/gpu_table.py --header "$card; deeper $(cat .gpu/commit 2>/dev/null), \
$(date -u +%F)" "${files[@]}" > "$out/table.md" || true
}

# `layers`: single layers of the classic shapes on every kernel variant (`deeper bench conv|linear
# --json`: each variant's time), where the tiled kernels and the GEMV show what they reach.
bench_layers() {
    local f="$out/layers.jsonl" d="$BIN/deeper"
    for args in "--in 256 --out 256 --size 56 --kernel 3 --pad 1 --batch 32" \
        "--in 512 --out 512 --size 7 --kernel 3 --pad 1 --batch 32" \
        "--in 2048 --out 512 --size 7 --kernel 1 --batch 32" \
        "--in 64 --out 64 --size 56 --kernel 3 --pad 1 --batch 1" \
        "--in 512 --out 512 --size 14 --kernel 3 --pad 1 --batch 1" \
        "--in 512 --out 512 --size 7 --kernel 3 --pad 1 --batch 1"; do
        # shellcheck disable=SC2086
        "$d" bench conv $args --runs 10 --json >> "$f" 2>> "$out/bench.err" || true
    done
    for args in "--in 25088 --out 4096 --batch 1" "--in 25088 --out 4096 --batch 32" \
        "--in 2048 --out 1000 --batch 32"; do
        # shellcheck disable=SC2086
        "$d" bench linear $args --runs 10 --json >> "$f" 2>> "$out/bench.err" || true
    done
}

run_tests() {
    for t in $TESTS; do
        [ -x "$BIN/test-$t" ] || continue
        echo "== $t" >> "$out/tests.txt"
        timeout 90 "$BIN/test-$t" >> "$out/tests.txt" 2>&1 || echo "== $t FAILED ($?)" >> "$out/tests.txt"
        grep -E '^test result|FAILED|panicked' "$out/tests.txt" | tail -2
    done
}

run() {
    START=$SECONDS
    BUDGET=${BUDGET:-360}
    export out=${OUT:-/tmp/gpu-check}
    mkdir -p "$out"
    : > "$out/timings.txt"
    if ! ldconfig -p | grep -q libvulkan.so.1; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
        export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export DEEPER_REQUIRE_GPU=1 XDG_RUNTIME_DIR=/tmp DEEPER_AUTOTUNE_CACHE="$out/autotune.json"
    mkdir -p "$BIN"
    for f in .gpu/*.gz; do
        gunzip -c "$f" > "$BIN/$(basename "$f" .gz)" && chmod +x "$BIN/$(basename "$f" .gz)"
    done
    [ -f .gpu/autotune.json ] && cp .gpu/autotune.json "$out/autotune.json"
    # Test binaries look for the project (fixtures, data, the deeper binary) where they were built.
    here=$(pwd)
    dir=$(cat .gpu/manifest_dir 2>/dev/null || echo "$here")
    if [ "$dir" != "$here" ] && [ ! -e "$dir" ]; then
        mkdir -p "$(dirname "$dir")" && ln -s "$here" "$dir"
    fi
    mkdir -p target/release && cp "$BIN/deeper" target/release/deeper
    nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt" || true
    "$BIN/deeper" devices > "$out/devices.txt" 2>&1 || true
    head -1 "$out/devices.txt"
    # NaN first: short, and the one GPU-only correctness question open.
    phase "nan test" 40 sh -c "'$BIN/test-nan' > '$out/nan.txt' 2>&1"
    local b32=${B32_NETS:-alexnet vgg16 vgg19 resnet18 resnet50 resnet152 googlenet}
    [ "$b32" = all ] && b32=$ALL_NETS
    # shellcheck disable=SC2086
    phase "deeper bench b1" 150 self _bench 1 "$out/deeper_b1.jsonl" $NETS
    write_table
    # shellcheck disable=SC2086
    phase "pytorch b1" 100 "$PYTHON" scripts/torch_bench.py --batches 1 --nets $NETS \
        --device "$TORCH_DEVICE" --out "$out/torch.jsonl"
    write_table
    # shellcheck disable=SC2086
    phase "deeper bench b32" 120 self _bench 32 "$out/deeper_b32.jsonl" $b32
    write_table
    # shellcheck disable=SC2086
    phase "pytorch b32" 60 "$PYTHON" scripts/torch_bench.py --batches 32 --nets $b32 \
        --device "$TORCH_DEVICE" --out "$out/torch.jsonl"
    write_table
    phase "layers" 60 self _layers
    # shellcheck disable=SC2086
    phase "rule b1" 30 self _bench 1 "$out/rule_b1.jsonl" ${RULE_NETS:-resnet18 resnet50 googlenet} \
        --no-autotune
    phase "threads" 30 sh -c "'$BIN/deeper' bench resnet50 --threads 4 --runs 10 > '$out/threads.txt' 2>&1"
    phase "tests" 150 self _tests
    phase "main job" 60 sh -c "'$BIN/deeper' > '$out/main_job.txt' 2>&1"
    cat "$out/table.md" 2>/dev/null || true
    cat "$out/timings.txt"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    _bench) out=${out:-${OUT:-/tmp/gpu-check}}; shift; bench_nets "$@" ;;
    _tests) out=${out:-${OUT:-/tmp/gpu-check}}; run_tests ;;
    _layers) out=${out:-${OUT:-/tmp/gpu-check}}; bench_layers ;;
    *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
