"""CPU context for the peer comparison (scripts/peers.sh): ONNX Runtime (CPUExecutionProvider)
and PyTorch eager, both on 2 threads, on the same networks, batch 1, at deeper's input size,
f32, random weights (scripts/torch_nets.py builds them). The ONNX graph is exported from the
same PyTorch model. Median latency of --runs runs after 2 warm-up runs.

    python3 scripts/peers_cpu.py [--runs 9] [--threads 2] resnet18 resnet50 ...

Prints one JSON line per (framework, network): {"framework", "network", "median_ms", "runs"}.
ONNX Runtime is skipped (one JSON line with "error") where it is not installed.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import torch_nets  # noqa: E402


def median_ms(fn, runs):
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]


def ort_session(model, x, threads, tmp):
    import onnxruntime as ort

    path = os.path.join(tmp, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], opset_version=13)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("nets", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for net in a.nets:
        model = torch_nets.build(net)
        size = torch_nets.native_size(net)
        x = torch.randn(1, torch_nets.channels(net), size, size)
        with torch.no_grad():
            ms = median_ms(lambda: model(x), a.runs)
        print(json.dumps({"framework": "pytorch-cpu", "network": net, "median_ms": round(ms, 1),
                          "runs": a.runs}), flush=True)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                sess = ort_session(model, x, a.threads, tmp)
                feed = {"x": x.numpy()}
                ms = median_ms(lambda: sess.run(None, feed), a.runs)
            row = {"median_ms": round(ms, 1), "runs": a.runs}
        except ImportError as e:
            row = {"error": str(e)}
        print(json.dumps({"framework": "onnxruntime-cpu", "network": net, **row}), flush=True)


if __name__ == "__main__":
    main()
