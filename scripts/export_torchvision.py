"""Exports a torchvision classification model to a .safetensors file that `deeper` loads.

    python3 scripts/export_torchvision.py resnet50 resnet50.safetensors
    deeper run resnet50 --weights resnet50.safetensors --image cat.jpg

`torchvision.models.<name>(weights="DEFAULT")` is downloaded by torchvision (internet access
needed once; it caches under ~/.cache/torch). Names are deeper's (vgg16-bn) or torchvision's
(vgg16_bn): alexnet, vgg11, vgg13, vgg16, vgg19, vgg16-bn, vgg19-bn, resnet18, resnet34,
resnet50, resnet101, resnet152, googlenet. (lenet5, alexnet-paper, nin and googlenet-paper are
not in torchvision: see scripts/torch_nets.py for the key names deeper expects.)

What is written: every floating-point tensor of the state_dict as float32 with PyTorch's key
names and shapes; `num_batches_tracked` counters and GoogLeNet's untrained aux heads dropped.
The safetensors `__metadata__` records how the weights expect their input, and `deeper run`
follows it:
  resize_size, crop_size, mean, std   the weights' own preprocessing (`weights.transforms()`;
                                      e.g. ResNet-50's DEFAULT, IMAGENET1K_V2, resizes to 232)
  transform_input = "true"            GoogLeNet's pretrained weights (ported from TensorFlow)
                                      expect torchvision's transform_input, which maps the
                                      ImageNet-normalised input to (x - 0.5) / 0.5 per channel;
                                      deeper applies it to the input tensor before the network

Options:
  --random         weights=None with seeded random weights (torchvision's pretrained
                   configuration otherwise: GoogLeNet keeps transform_input=True), to test
                   the whole path without internet access
  --weights NAME   a specific torchvision weights enum value (IMAGENET1K_V1) instead of DEFAULT
  --fixture DIR    also write DIR/input.npy (a seeded random [2,3,S,S] batch, S = --size,
                   default 224) and DIR/logits.npy (what the PyTorch model gives), to check
                   deeper against it (`make_fixtures.py --ci` does, as googlenet-export):
                   deeper run NET --weights FILE --input DIR/input.npy --save-logits out.npy

Needs torch, torchvision and numpy (Debian: python3-torch python3-torchvision python3-numpy).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

TORCHVISION = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg16_bn", "vgg19_bn", "resnet18",
               "resnet34", "resnet50", "resnet101", "resnet152", "googlenet"]


def build(name, weights, random, size=224):
    """The torchvision model (eval mode) and the weights enum value used (None when random)."""
    kwargs = {}
    if random:
        w = None
        if name == "googlenet":
            kwargs = dict(aux_logits=False, transform_input=True, init_weights=True)
    else:
        enum = torchvision.models.get_model_weights(name)
        w = enum.DEFAULT if weights == "DEFAULT" else enum[weights]
    model = getattr(torchvision.models, name)(weights=w, **kwargs).float().eval()
    if random:
        import make_fixtures
        torch.manual_seed(0)
        make_fixtures.randomise(model, name, size)
    return model, w


def metadata(name, model, w):
    """The safetensors __metadata__: where the weights come from and the input they expect."""
    meta = {"format": "pt", "source": f"torchvision.models.{name}(weights={w or 'None'})",
            "torchvision": torchvision.__version__}
    if w is not None:
        t = w.transforms()
        meta.update(resize_size=str(t.resize_size[0]), crop_size=str(t.crop_size[0]),
                    mean=",".join(map(repr, t.mean)), std=",".join(map(repr, t.std)))
    if getattr(model, "transform_input", False):
        meta["transform_input"] = "true"
    return meta


def export(model, path, meta):
    """Writes the float tensors (no counters, no aux heads) and returns how many were written."""
    tensors = {k: v for k, v in safetensors_io.state_dict_arrays(model.state_dict()).items()
               if not k.startswith(("aux1.", "aux2."))}
    safetensors_io.save(tensors, path, metadata=meta)
    return len(tensors), sum(a.size for a in tensors.values())


def write_fixture(model, folder, size=224):
    """folder/input.npy (seeded random [2, 3, size, size]) and folder/logits.npy."""
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(1)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        logits = model(x)
    np.save(os.path.join(folder, "input.npy"), x.numpy())
    np.save(os.path.join(folder, "logits.npy"), logits.numpy())
    return x, logits


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", help="network (deeper's or torchvision's name)")
    p.add_argument("out", help="output .safetensors file")
    p.add_argument("--random", action="store_true", help="seeded random weights, no download")
    p.add_argument("--weights", default="DEFAULT", help="torchvision weights name (DEFAULT)")
    p.add_argument("--fixture", metavar="DIR", help="also write input.npy and logits.npy here")
    p.add_argument("--size", type=int, default=224, help="input size of the --fixture batch")
    a = p.parse_args()
    name = a.name.replace("-", "_")
    if name not in TORCHVISION:
        raise SystemExit(f"{a.name}: not a torchvision model deeper runs "
                         f"(choose from {', '.join(TORCHVISION)})")
    model, w = build(name, a.weights, a.random, a.size)
    meta = metadata(name, model, w)
    count, params = export(model, a.out, meta)
    print(f"{a.out}: {count} tensors, {params:,} values, metadata {meta}")
    if a.fixture:
        x, logits = write_fixture(model, a.fixture, a.size)
        print(f"{a.fixture}: input.npy {list(x.shape)}, logits.npy {list(logits.shape)}")


if __name__ == "__main__":
    main()
