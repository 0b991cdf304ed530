"""PyTorch's torchvision ResNet-50 at fp32 on CUDA, TF32 disabled, the reference `deeper bench`
is compared with on a lent GPU (issue 5): median images/s over timed batches.

    python3 scripts/torch_resnet50_bench.py --batch 32 --runs 20
Prints one JSON line: {"framework": "pytorch", "torch": ..., "device": ..., "batch": ..,
"median_ms": .., "images_per_s": ..}.
"""
import argparse
import json
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    model = torchvision.models.resnet50().cuda().eval()
    x = torch.randn(a.batch, 3, 224, 224, device="cuda")
    times = []
    with torch.no_grad():
        for _ in range(5):
            model(x)
        torch.cuda.synchronize()
        for _ in range(a.runs):
            t = time.perf_counter()
            model(x)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({"framework": "pytorch", "torch": torch.__version__,
                      "device": torch.cuda.get_device_name(), "batch": a.batch,
                      "median_ms": med, "images_per_s": a.batch / med * 1e3}))


if __name__ == "__main__":
    main()
