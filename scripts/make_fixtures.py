"""PyTorch parity fixtures for deeper: for each network, the PyTorch model (torchvision's, or the
definitions in torch_nets.py) with seeded random weights, in eval mode, run on a seeded random
input batch of 2, written as

  <out>/<net>/weights.safetensors   float32 state_dict (num_batches_tracked dropped)
  <out>/<net>/input.npy             float32 [2, C, S, S]
  <out>/<net>/logits.npy            float32 [2, classes], what PyTorch's float32 model gives
  <out>/<net>/meta.json             network, size, seed, parameter count, torch version

Weights follow deeper's own random init (src/graph/init.rs): He-normal conv/linear weights over
the fan-in (LeCun-normal for tanh LeNet-5), biases uniform in +-1/sqrt(fan_in), batch norms with
random affine parameters (weight U(0.5, 1.5), bias U(-0.2, 0.2); U(0.2, 0.6) for the last BN
of each ResNet residual branch, as in trained ResNets). BN running statistics are first
calibrated (one train-mode pass over a separate random batch, momentum 1) and then randomised
(mean + U(-0.2, 0.2)·std, var · U(0.7, 1.4)): BN is never an identity, and activations stay of
order one through ResNet-152 (with uncalibrated random statistics its logits reach 1e13).
Without the smaller residual gains, a deep random ResNet with calibrated BN is chaotic: PyTorch's
own float32 result is 2e-4 away from float64 (ResNet-152), so no float32 implementation could
be checked to 1e-4 on it. The conv before each LRN is scaled up 10x so that LRN sees
activations large enough to be non-linear.

Each fixture also records how well-conditioned it is: PyTorch's float32 logits against the same
model in float64 (`f32_vs_f64` in meta.json, logits_f64.npy), the floor of any float32 check.

Usage (Debian: python3-torch python3-torchvision python3-numpy python3-pil):
  python3 scripts/make_fixtures.py                        all 17 networks at native size
  python3 scripts/make_fixtures.py --nets resnet18@32,nin --out DIR
  python3 scripts/make_fixtures.py --ci --out target/fixtures    the lean CI subset (+ export)
  python3 scripts/make_fixtures.py --committed            fixtures/lenet5 and fixtures/preprocess

The parameter count of every model is checked against deeper's (`deeper info --json` when
target/release/deeper or $DEEPER_BIN exists, else the native-size table below); a mismatch
is an error.
"""
import argparse
import copy
import json
import math
import os
import subprocess
import sys
import time
import zlib

import numpy as np
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import torch_nets  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# The lean subset CI generates (about a minute here): every family and op kind (LRN, groups,
# ceil pools, BN, bottlenecks, concat, adaptive pools), mostly at small sizes; vgg16-bn for the
# conv + BN folding whose float64 fidelity matters most (tests/parity.rs); nin and googlenet at their native 224, whose 54x54, 14x14 and 6x6 planes are not
# multiples of conv2d_mm's 8-pixel column tiles: a 1x1 conv there must not drop the tail, and
# no small size exercises it. --ci also writes googlenet-export (export_torchvision.py's path,
# with transform_input).
CI = ("lenet5,alexnet@63,alexnet-paper@67,vgg16-bn@32,resnet18@32,resnet50@32,nin@224,"
      "googlenet@224,googlenet-paper@32")

# deeper's parameter counts at the native input size (`deeper info <net> --json`).
PARAMS = {
    "lenet5": 61706, "alexnet": 61100840, "alexnet-paper": 60965224, "vgg11": 132863336,
    "vgg13": 133047848, "vgg16": 138357544, "vgg19": 143667240, "vgg16-bn": 138365992,
    "vgg19-bn": 143678248, "resnet18": 11689512, "resnet34": 21797672, "resnet50": 25557032,
    "resnet101": 44549160, "resnet152": 60192808, "nin": 7595176, "googlenet": 6624904,
    "googlenet-paper": 6998552,
}
SIZE_DEPENDENT = {"lenet5", "alexnet-paper"}
LRN_INPUTS = {"alexnet-paper": ["conv1"], "googlenet-paper": ["conv1.conv"]}


def randomise(model, net, size, tanh=False):
    """deeper's init scheme (see the module docstring), drawn from torch's global generator."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0.0, math.sqrt((1.0 if tanh else 2.0) / fan_in))
                if name in LRN_INPUTS.get(net, []):
                    m.weight.mul_(10.0)
                if m.bias is not None:
                    m.bias.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        for m in model.modules():
            last = {BasicBlock: "bn2", Bottleneck: "bn3"}.get(type(m))
            if last:
                getattr(m, last).weight.uniform_(0.2, 0.6)
        if bns:
            momenta = [m.momentum for m in bns]
            for m in bns:
                m.momentum = 1.0
            model.train()
            model(torch.randn(4, torch_nets.channels(net), size, size))
            model.eval()
            for m, momentum in zip(bns, momenta):
                m.momentum = momentum
                std = m.running_var.sqrt()
                m.running_mean.add_(torch.empty_like(std).uniform_(-0.2, 0.2) * std)
                m.running_var.mul_(torch.empty_like(std).uniform_(0.7, 1.4))


def deeper_params(net, size):
    """deeper's parameter count for `net` at `size` (None when it cannot be known)."""
    exe = os.environ.get("DEEPER_BIN") or os.path.join(ROOT, "target/release/deeper")
    if os.path.exists(exe):
        out = subprocess.run([exe, "info", net, "--size", str(size), "--json"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"deeper info {net} --size {size} failed: {out.stderr.strip()}")
        return json.loads(out.stdout)["params"]
    if net in SIZE_DEPENDENT and size != torch_nets.native_size(net):
        return None
    return PARAMS[net]


def make(net, size, out, batch=2, seed=0):
    """Writes the fixture of `net` at `size` into `out/net`; returns (params, seconds, max
    |logit|, PyTorch f32 vs f64 relative L2 error)."""
    start = time.time()
    net_seed = seed * 1000003 + zlib.crc32(net.encode())
    torch.manual_seed(net_seed)
    model = torch_nets.build(net, size)
    randomise(model, net, size, tanh=(net == "lenet5"))
    params = torch_nets.param_count(model)
    expected = deeper_params(net, size)
    if expected is not None and expected != params:
        raise SystemExit(f"{net}@{size}: PyTorch has {params:,} parameters, deeper {expected:,}")
    x = torch.randn(batch, torch_nets.channels(net), size, size)
    with torch.no_grad():
        logits = model(x)
        exact = copy.deepcopy(model).double()(x.double()).numpy()
    if not torch.isfinite(logits).all():
        raise SystemExit(f"{net}@{size}: non-finite logits")
    f32_vs_f64 = float(np.linalg.norm(logits.numpy() - exact) / np.linalg.norm(exact))
    d = os.path.join(out, net)
    os.makedirs(d, exist_ok=True)
    safetensors_io.save(safetensors_io.state_dict_arrays(model.state_dict()),
                        os.path.join(d, "weights.safetensors"))
    np.save(os.path.join(d, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(d, "logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(d, "logits_f64.npy"), exact)
    meta = {"network": net, "size": size, "batch": batch, "seed": net_seed, "params": params,
            "f32_vs_f64": float(f"{f32_vs_f64:.3g}"),
            "torch": torch.__version__, "torchvision": __import__("torchvision").__version__}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return params, time.time() - start, float(logits.abs().max()), f32_vs_f64


def make_export(out, size=64):
    """<out>/googlenet-export: scripts/export_torchvision.py's output for googlenet (random
    weights, torchvision's pretrained configuration with transform_input, which the weight file's
    metadata asks deeper to apply), with input.npy and logits.npy beside it."""
    import export_torchvision as ex
    start = time.time()
    d = os.path.join(out, "googlenet-export")
    os.makedirs(d, exist_ok=True)
    model, w = ex.build("googlenet", "DEFAULT", random=True, size=size)
    ex.export(model, os.path.join(d, "weights.safetensors"), ex.metadata("googlenet", model, w))
    _, logits = ex.write_fixture(model, d, size)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"network": "googlenet", "size": size, "transform_input": True,
                   "source": "scripts/export_torchvision.py googlenet --random"}, f, indent=1)
        f.write("\n")
    params = torch_nets.param_count(model)
    print(f"| googlenet-export | {size} | {params:,} | {float(logits.abs().max()):.3g} | - | "
          f"{time.time() - start:.1f} |", flush=True)


def pattern_image(w=61, h=47):
    """A deterministic RGB test pattern: smooth ramps, a checkerboard and diagonal stripes, so
    that resampling sees both gradients and hard edges."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // (w - 1)).astype(np.uint8)
    g = np.where((x // 3 + y // 3) % 2 == 0, 230, 20).astype(np.uint8)
    b = ((x * 7 + y * 13) % 64 * 4 + (y * 255 // (h - 1)) // 8).astype(np.uint8)
    return np.stack([r, g, b], axis=-1)


def make_preprocess(out):
    """fixtures/preprocess: a 61x47 PNG and torchvision's Resize(32) + CenterCrop(28) +
    ToTensor + Normalize(ImageNet mean/std) of it, as [1, 3, 28, 28] float32."""
    from PIL import Image
    from torchvision import transforms
    os.makedirs(out, exist_ok=True)
    png = os.path.join(out, "pattern_61x47.png")
    Image.fromarray(pattern_image(), "RGB").save(png)
    t = transforms.Compose([
        transforms.Resize(32), transforms.CenterCrop(28), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = t(Image.open(png).convert("RGB")).unsqueeze(0)
    np.save(os.path.join(out, "expected_resize32_crop28.npy"), x.numpy().astype(np.float32))
    print(f"{png}: expected tensor {list(x.shape)}")


def parse_nets(spec, size):
    """'a,b@S,c' -> [(net, size)]; a size after @ wins over --size, then the native size."""
    nets = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        net, _, s = item.partition("@")
        if net not in torch_nets.NETWORKS:
            raise SystemExit(f"unknown network {net!r} (known: {', '.join(torch_nets.NETWORKS)})")
        nets.append((net, int(s) if s else size or torch_nets.native_size(net)))
    return nets


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nets", default=",".join(torch_nets.NETWORKS),
                   help="comma-separated networks, each optionally net@size (default: all 17)")
    p.add_argument("--size", type=int, help="input size for networks without @size")
    p.add_argument("--out", default=os.path.join(ROOT, "fixtures/large"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ci", action="store_true", help=f"the CI subset: {CI}")
    p.add_argument("--committed", action="store_true",
                   help="regenerate the committed fixtures (fixtures/lenet5, fixtures/preprocess)")
    p.add_argument("--preprocess", metavar="DIR", help="only write the preprocessing fixture")
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if a.preprocess:
        make_preprocess(a.preprocess)
        return
    if a.committed:
        make_preprocess(os.path.join(ROOT, "fixtures/preprocess"))
        a.nets, a.out = "lenet5", os.path.join(ROOT, "fixtures")
    nets = parse_nets(CI if a.ci else a.nets, a.size)
    total = time.time()
    print("| network | size | params | max abs logit | PyTorch f32 vs f64 | seconds |\n"
          "|---|---|---|---|---|---|")
    for net, size in nets:
        params, secs, peak, cond = make(net, size, a.out, seed=a.seed)
        print(f"| {net} | {size} | {params:,} | {peak:.3g} | {cond:.2e} | {secs:.1f} |",
              flush=True)
    if a.ci:
        make_export(a.out)
    print(f"{len(nets) + a.ci} fixture(s) in {a.out} ({time.time() - total:.1f} s)")


if __name__ == "__main__":
    main()
