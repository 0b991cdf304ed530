#!/usr/bin/env bash
# Peers side by side, in one run on this machine's device: deeper (`deeper bench
# <net> --json`, end-to-end median), Burn 0.22.1's wgpu backend (peers/burn, same device,
# upload + forward + readback median, and its first forward), and, for context, ONNX Runtime
# and PyTorch on the CPU with 2 threads (scripts/peers_cpu.py). Batch 1, 224x224, f32, random
# weights, median of RUNS runs. Then the layer suite's convolutions, deeper (summed GPU time
# from timestamps, `deeper bench --layers --json`) against Burn (forward + device sync, input
# already on the device). Prints two markdown tables; raw JSON lines go to $OUT/peers.jsonl.
#
# Usage: scripts/peers.sh [net ...]    (default: resnet18 resnet50 googlenet vgg16 alexnet)
# Env:   RUNS (default 9), OUT (default target/peers), PYTHON (default .venv/bin/python, made
#        here with --system-site-packages over Debian's torch, plus onnxruntime from PyPI).
# Burn runs resnet18, resnet50, googlenet, vgg16 and alexnet (and the last two's convolutions
# alone); wonnx 0.5.1 is not run here (it needs its Gemm rewritten to load these models).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-9}
OUT=${OUT:-target/peers}
NETS=("${@:-resnet18 resnet50 googlenet vgg16 alexnet}")
NETS=(${NETS[*]})
mkdir -p "$OUT"
if [ -z "${PYTHON:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        /usr/bin/python3 -m venv --system-site-packages .venv
        .venv/bin/pip install -q onnxruntime==1.32.0
    fi
    PYTHON=.venv/bin/python
fi
cargo build --release --bin deeper >&2
cargo build --release --manifest-path peers/burn/Cargo.toml >&2
jsonl="$OUT/peers.jsonl"
: > "$jsonl"
for net in "${NETS[@]}"; do
    echo "== deeper $net" >&2
    ./target/release/deeper bench "$net" --runs "$RUNS" --json |
        "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin)
print(json.dumps({"framework": "deeper", "network": d["network"], "median_ms": d["end_to_end_ms"],
                  "first_ms": d["cold_start_ms"], "runs": '"$RUNS"'}))' >> "$jsonl"
done
burn_nets=()
for net in "${NETS[@]}"; do
    case $net in
        resnet18|resnet50|googlenet) burn_nets+=("$net") ;;
        vgg16|alexnet) burn_nets+=("$net" "$net-convs") ;;
    esac
done
if [ ${#burn_nets[@]} -gt 0 ]; then
    echo "== burn ${burn_nets[*]}" >&2
    peers/burn/target/release/deeper-peer-burn --runs "$RUNS" "${burn_nets[@]}" |
        "$PYTHON" -c 'import json, sys
for l in sys.stdin: print(json.dumps({"framework": "burn", **json.loads(l)}))' >> "$jsonl"
fi
LAYERS=(alexnet.conv1 vgg.conv3 resnet50.1x1 resnet50.3x3 inception.5x5)
echo "== layers" >&2
./target/release/deeper bench --layers --runs "$RUNS" --json |
    "$PYTHON" -c 'import json, sys
for c in json.load(sys.stdin)["cases"]:
    print(json.dumps({"framework": "deeper-layer", "network": c["name"], "median_ms": c["gpu_ms"],
                      "gflops": c["gflops"], "what": c["what"], "kernel": c["kernel"]}))' >> "$jsonl"
peers/burn/target/release/deeper-peer-burn --runs "$RUNS" "${LAYERS[@]}" |
    "$PYTHON" -c 'import json, sys
for l in sys.stdin: print(json.dumps({"framework": "burn-layer", **json.loads(l)}))' >> "$jsonl"
echo "== cpu ${NETS[*]}" >&2
"$PYTHON" scripts/peers_cpu.py --runs "$RUNS" "${NETS[@]}" >> "$jsonl"
"$PYTHON" - "$jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
get = {(r["framework"], r["network"]): r for r in rows}
def cell(fw, net, first=False):
    r = get.get((fw, net))
    if r is None:
        return "—"
    if "error" in r:
        return "fails: " + r["error"][:60]
    s = f"{r['median_ms']:,.1f} ms"
    return s + (f" (first {r['first_ms'] / 1e3:,.1f} s)" if first and "first_ms" in r else "")
print("| network | deeper (wgpu) | Burn 0.22.1 (wgpu) | deeper / Burn | ONNX Runtime CPU | PyTorch CPU |")
print("|---|---:|---:|---:|---:|---:|")
for net in dict.fromkeys(r["network"] for r in rows if r["framework"] == "deeper"):
    d, b = get.get(("deeper", net)), get.get(("burn", net))
    ratio = f"{d['median_ms'] / b['median_ms']:.3f}" if b and "median_ms" in b else "—"
    burn = cell("burn", net, True)
    if ("burn", net + "-convs") in get:
        burn += "; convolutions alone " + cell("burn", net + "-convs")
    print(f"| {net} | {cell('deeper', net, True)} | {burn} | {ratio} | "
          f"{cell('onnxruntime-cpu', net)} | {cell('pytorch-cpu', net)} |")
print()
print("| layer | deeper GPU ms | GFLOP/s | Burn ms | GFLOP/s | deeper / Burn |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    if r["framework"] != "deeper-layer" or ("burn-layer", r["network"]) not in get:
        continue
    b = get[("burn-layer", r["network"])]
    if "error" in b:
        print(f"| {r['network']} ({r['what']}) | {r['median_ms']:.2f} | {r['gflops']:.1f} | "
              f"fails: {b['error'][:60]} | | |")
        continue
    print(f"| {r['network']} ({r['what']}) | {r['median_ms']:.2f} | {r['gflops']:.1f} | "
          f"{b['median_ms']:.2f} | {b['gflops']:.1f} | {r['median_ms'] / b['median_ms']:.3f} |")
PY
