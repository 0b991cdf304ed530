#!/usr/bin/env bash
# PyTorch parity of every network at full size, as in the README: for each network, generate a
# fixture with scripts/make_fixtures.py (PyTorch model, seeded random weights, BN statistics
# randomised, eval mode, random input batch of 2) into fixtures/large/<net>, run
#     deeper run <net> --strict --weights weights.safetensors --input input.npy --save-logits …
# and compare in numpy with PyTorch's float32 logits.npy and with the same model's float64
# logits_f64.npy, the truth. Prints a markdown table: deeper vs PyTorch f32, deeper vs f64,
# PyTorch f32 vs f64 (how well-conditioned the fixture is: the floor of what a float32
# implementation can show) and the ratio of the last two. Exits 1 when a network is more than
# 1e-4 from PyTorch or farther from f64 than max(1e-5, 1.5 x PyTorch f32's own error).
#
# Usage: scripts/parity.sh [net,net,…]      (default: all 17 at 224; 227 alexnet-paper; 32 lenet5)
# Env:   PYTHON (default /usr/bin/python3), OUT (default fixtures/large), SEED (default 0: the
#        weights' and input's seed, for checks beyond the usual fixtures),
#        CLEAN=1 deletes each fixture after use (the VGG fixtures are ~550 MB each; ~4.5 GB all),
#        REUSE=1 keeps a fixture already in $OUT instead of generating it again.
# Needs torch, torchvision, numpy (Debian: python3-torch python3-torchvision python3-numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-fixtures/large}
ALL=$("$PYTHON" -c 'import sys; sys.path[:0] = ["scripts"]; import torch_nets as t
print(",".join(t.NETWORKS))')
NETS=${1:-$ALL}

cargo build --release --bin deeper >&2
mkdir -p "$OUT"
rows=()
failed=0
started=$(date +%s)
for net in ${NETS//,/ }; do
    dir="$OUT/$net"
    echo "== $net: fixture" >&2
    if [[ "${REUSE:-0}" != 1 || ! -f "$dir/logits_f64.npy" ]]; then
        "$PYTHON" scripts/make_fixtures.py --nets "$net" --out "$OUT" --seed "${SEED:-0}" >&2
    fi
    echo "== $net: deeper run" >&2
    t0=$(date +%s%N)
    ./target/release/deeper run "$net" --strict --weights "$dir/weights.safetensors" \
        --input "$dir/input.npy" --save-logits "$dir/deeper_logits.npy" >/dev/null
    t1=$(date +%s%N)
    row=$("$PYTHON" - "$dir" "$net" <<'EOF'
import sys
import numpy as np
d, net = sys.argv[1:]
want = np.load(f"{d}/logits.npy").astype(np.float64)
got = np.load(f"{d}/deeper_logits.npy").astype(np.float64)
assert got.shape == want.shape, (got.shape, want.shape)
rel = np.linalg.norm(got - want) / np.linalg.norm(want)
exact = np.load(f"{d}/logits_f64.npy")
ours = np.linalg.norm(got - exact) / np.linalg.norm(exact)
cond = np.linalg.norm(want - exact) / np.linalg.norm(exact)
size = np.load(f"{d}/input.npy", mmap_mode="r").shape[-1]
ok = rel <= 1e-4 and ours <= max(1e-5, 1.5 * cond)
print(f"| {net} ({size}×{size}) | {rel:.2e} | {ours:.2e} | {cond:.2e} | {ours / cond:.2f} "
      f"| {int(ok)}")
EOF
)
    echo "   ${row%|*}(deeper run: $(( (t1 - t0) / 1000000 )) ms)" >&2
    [[ "${row##*| }" == 1 ]] || failed=1
    rows+=("${row% |*} |")
    if [[ "${CLEAN:-0}" == 1 ]]; then rm -rf "$dir"; fi
done

echo
echo "| network | deeper vs PyTorch f32 | deeper vs f64 | PyTorch f32 vs f64 | ratio |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)')
adapter=$(./target/release/deeper devices 2>/dev/null | sed -n 's/^\[0\] \(.*\) — .*/\1/p' | head -1)
echo "$(date -u +%F): PyTorch $torch_version (CPU, float32) vs deeper on $adapter;" \
     "batch 2, random weights of seed ${SEED:-0}; $(( $(date +%s) - started )) s in all."
exit $failed
