"""PyTorch fp32 (TF32 off) on the networks `deeper bench` times, measured the way deeper's
`end_to_end_ms` is: host input -> device, forward pass, logits back on the host; the median
(and range) of `--runs` timed passes after `--warmup` passes (cudnn.benchmark picks its
algorithms during the warm-up). On CUDA, `gpu_ms` is the median forward time of a
device-resident input by CUDA events. Weights are torchvision's random initialisation (speed
does not depend on them). The comparison table is written by scripts/gpu_table.py.

    python3 scripts/torch_bench.py --nets resnet50 vgg16 --batches 1 32 --out torch.jsonl
    python3 scripts/torch_bench.py --device cpu --nets lenet5 --size 32 --runs 3

One JSON line per network and batch, appended to --out (flushed as it goes, so a run that is
cut short keeps what it measured) or printed: {"framework": "pytorch", "torch", "device",
"network", "batch", "size", "runs", "end_to_end_ms", "end_to_end_ms_range", "gpu_ms",
"images_per_s"}. A network that fails is reported on stderr and skipped.
"""
import argparse
import json
import statistics
import sys
import time

import torch

import torch_nets


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def bench(net, batch, size, device, runs, warmup):
    model = torch_nets.build(net, size).to(device)
    size = size or torch_nets.native_size(net)
    host = torch.randn(batch, torch_nets.channels(net), size, size)
    cuda = device.type == "cuda"
    with torch.no_grad():
        def end_to_end():
            return model(host.to(device)).cpu()

        for _ in range(warmup):
            end_to_end()
        e2e = timed(end_to_end, runs)
        gpu_ms = None
        if cuda:
            x = host.to(device)
            ms = []
            for _ in range(runs):
                start = torch.cuda.Event(enable_timing=True)
                stop = torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                stop.record()
                torch.cuda.synchronize()
                ms.append(start.elapsed_time(stop))
            gpu_ms = statistics.median(ms)
    med = statistics.median(e2e)
    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    return {"framework": "pytorch", "torch": torch.__version__, "device": name,
            "network": net, "batch": batch, "size": size, "runs": runs,
            "end_to_end_ms": med, "end_to_end_ms_range": [min(e2e), max(e2e)],
            "gpu_ms": gpu_ms, "images_per_s": batch / med * 1e3}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nets", nargs="+", default=torch_nets.NETWORKS)
    ap.add_argument("--batches", nargs="+", type=int, default=[1])
    ap.add_argument("--size", type=int, default=None, help="input size (default: native)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", help="append JSON lines here (default: stdout)")
    a = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    device = torch.device(a.device)
    out = open(a.out, "a") if a.out else sys.stdout
    failed = 0
    for batch in a.batches:
        for net in a.nets:
            try:
                row = bench(net, batch, a.size, device, a.runs, a.warmup)
            except Exception as e:  # one network's failure must not lose the others
                print(f"torch_bench: {net} batch {batch}: {e}", file=sys.stderr)
                failed += 1
                continue
            print(json.dumps(row), file=out, flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
