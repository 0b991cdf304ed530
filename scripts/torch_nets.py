"""PyTorch definitions of every network `deeper` knows, with deeper's weight key names.

torchvision provides alexnet, vgg*, vgg*_bn, resnet* and googlenet; the networks it lacks are
defined here with exactly the module names (and so the `state_dict` keys) deeper's builders use:

  lenet5           conv1, conv2, fc1, fc2, fc3; tanh; 2x2 average pooling; 1x32x32 input
  alexnet-paper    conv1..conv5, fc6..fc8; LRN(5, 5e-4, 0.75, 2) after the ReLU of conv1 and
                   conv2 (PyTorch's alpha is the paper's 1e-4 times n); groups 2 on conv2/4/5
  nin              conv1, cccp1, cccp2, conv2, cccp3, ..., conv4, cccp7, cccp8, all with ReLU;
                   max pools 3/2 ceil_mode; global average pooling
  googlenet-paper  torchvision's GoogLeNet topology with conv biases and no batch norm
                   (keys `<name>.conv.weight`, `<name>.conv.bias`), a true 5x5 pad 2 in branch3,
                   LRN(5, 1e-4, 0.75, 1) after maxpool1 and after conv3

`build(net, size)` returns any of the 17 as an nn.Module (eval mode, float32).
"""
import torch
import torchvision
from torch import nn

NETWORKS = [
    "lenet5", "alexnet", "alexnet-paper", "vgg11", "vgg13", "vgg16", "vgg19", "vgg16-bn",
    "vgg19-bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "nin",
    "googlenet", "googlenet-paper",
]


def native_size(net):
    """The input size deeper uses by default (as `deeper::models::native_size`)."""
    return {"lenet5": 32, "alexnet-paper": 227}.get(net, 224)


def channels(net):
    return 1 if net == "lenet5" else 3


class LeNet5(nn.Module):
    def __init__(self, size=32, classes=10):
        super().__init__()
        s = (size - 12) // 4
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * s * s, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        pool = nn.functional.avg_pool2d
        x = pool(torch.tanh(self.conv1(x)), 2)
        x = pool(torch.tanh(self.conv2(x)), 2)
        x = torch.tanh(self.fc1(x.flatten(1)))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


class AlexNetPaper(nn.Module):
    def __init__(self, size=227, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        s = size
        for k, st in [(11, 4), (3, 2), (3, 2), (3, 2)]:
            s = (s - k) // st + 1
        self.fc6 = nn.Linear(256 * s * s, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, classes)
        self.lrn = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
        self.pool = nn.MaxPool2d(3, 2)

    def forward(self, x):
        relu = torch.relu
        x = self.pool(self.lrn(relu(self.conv1(x))))
        x = self.pool(self.lrn(relu(self.conv2(x))))
        x = relu(self.conv5(relu(self.conv4(relu(self.conv3(x))))))
        x = self.pool(x).flatten(1)
        return self.fc8(relu(self.fc7(relu(self.fc6(x)))))


class NiN(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        blocks = [(3, 96, 96, 11, 4, 0), (96, 256, 256, 5, 1, 2), (256, 384, 384, 3, 1, 1),
                  (384, 1024, classes, 3, 1, 1)]
        for n, (cin, width, cout, k, s, p) in enumerate(blocks, 1):
            setattr(self, f"conv{n}", nn.Conv2d(cin, width, k, stride=s, padding=p))
            setattr(self, f"cccp{2 * n - 1}", nn.Conv2d(width, width, 1))
            setattr(self, f"cccp{2 * n}", nn.Conv2d(width, cout, 1))
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)

    def forward(self, x):
        for n in range(1, 5):
            for name in [f"conv{n}", f"cccp{2 * n - 1}", f"cccp{2 * n}"]:
                x = torch.relu(getattr(self, name)(x))
            if n < 4:
                x = self.pool(x)
        return nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)


class PaperConv(nn.Module):
    """Conv with bias and ReLU, wrapped so that its keys are `<name>.conv.{weight,bias}`."""

    def __init__(self, cin, cout, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding)

    def forward(self, x):
        return torch.relu(self.conv(x))


class PaperInception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, proj):
        super().__init__()
        self.branch1 = PaperConv(cin, c1, 1)
        self.branch2 = nn.Sequential(PaperConv(cin, c3r, 1), PaperConv(c3r, c3, 3, padding=1))
        self.branch3 = nn.Sequential(PaperConv(cin, c5r, 1), PaperConv(c5r, c5, 5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                     PaperConv(cin, proj, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNetPaper(nn.Module):
    WIDTHS = {
        "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
        "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
        "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
        "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
        "5b": (832, 384, 192, 384, 48, 128, 128),
    }

    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = PaperConv(3, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = PaperConv(64, 64, 1)
        self.conv3 = PaperConv(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        for m, w in self.WIDTHS.items():
            setattr(self, f"inception{m}", PaperInception(*w))
        self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        x = self.lrn(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.lrn(self.conv3(self.conv2(x))))
        for m in self.WIDTHS:
            if m in ("4a", "5a"):
                x = (self.maxpool3 if m == "4a" else self.maxpool4)(x)
            x = getattr(self, f"inception{m}")(x)
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def torchvision_name(net):
    """deeper's name -> torchvision's builder name (None for the networks defined here)."""
    if net in ("lenet5", "alexnet-paper", "nin", "googlenet-paper"):
        return None
    return net.replace("-", "_")


def build(net, size=None):
    """The PyTorch model of deeper's `net` for `size`x`size` inputs, in eval mode."""
    size = size or native_size(net)
    if net == "lenet5":
        model = LeNet5(size)
    elif net == "alexnet-paper":
        model = AlexNetPaper(size)
    elif net == "nin":
        model = NiN()
    elif net == "googlenet-paper":
        model = GoogLeNetPaper()
    elif net == "googlenet":
        model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                             transform_input=False)
    elif net in NETWORKS:
        model = getattr(torchvision.models, torchvision_name(net))(weights=None)
    else:
        raise SystemExit(f"unknown network {net!r} (known: {', '.join(NETWORKS)})")
    return model.float().eval()


def param_count(model):
    """Trainable parameters (BN running statistics are buffers and not counted), as deeper's."""
    return sum(p.numel() for p in model.parameters())
