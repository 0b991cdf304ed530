#!/usr/bin/env bash
# One prepared run on a lent GPU (the `device` tool: NVIDIA H100/H200, no Rust, no internet).
#
#   scripts/gpu-check.sh prepare      here: build release binaries (deeper + test binaries) into
#                                     .gpu/ and download the Vulkan loader debs into .gl/
#   then one device call:  run(command="bash scripts/gpu-check.sh run", carry=[".gpu", ".gl"])
#
# `run` (on the device machine) unpacks the Vulkan loader, lists adapters, runs the GPU test
# binaries with DEEPER_REQUIRE_GPU=1, the main job, `deeper bench resnet50 --batch 32 --json`
# and PyTorch's ResNet-50 (fp32, TF32 off, batch 32) for comparison; everything lands in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

prepare() {
    grep -qx '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
    grep -qx '/.gl/' .git/info/exclude || echo '/.gl/' >> .git/info/exclude
    rm -rf .gpu && mkdir -p .gpu
    cargo build --release --bin deeper
    cp target/release/deeper .gpu/
    for t in ops ops_edge pool nan conv_kernels models parity bench; do
        exe=$(cargo test --release --no-run --test "$t" --message-format=json 2>/dev/null \
            | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
        [ -n "$exe" ] && cp "$exe" ".gpu/test-$t"
    done
    if [ ! -d .gl ]; then
        mkdir -p .gl /tmp/amd64/partial
        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update -qq
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download libvulkan1)
    fi
    du -sh .gpu .gl
}

run() {
    out=${OUT:-/tmp/gpu-check}
    mkdir -p "$out"
    if ! ldconfig -p | grep -q libvulkan; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
        export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export DEEPER_REQUIRE_GPU=1 XDG_RUNTIME_DIR=/tmp
    nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt" || true
    .gpu/deeper devices | tee "$out/devices.txt"
    for t in .gpu/test-*; do "$t" 2>&1 | tail -3 | tee -a "$out/tests.txt"; done
    .gpu/deeper bench resnet50 --batch 32 --runs 10 --json > "$out/bench_resnet50_b32.json" || true
    .gpu/deeper bench resnet50 --batch 1 --runs 10 > "$out/bench_resnet50_b1.txt" || true
    .gpu/deeper bench --layers > "$out/bench_layers.txt" || true
    python3 scripts/torch_resnet50_bench.py --batch 32 > "$out/torch_resnet50_b32.json" || true
    .gpu/deeper > "$out/main_job.txt" 2>&1 || true
    tail -5 "$out"/*.txt "$out"/*.json
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
