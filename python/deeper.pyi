"""Type stubs of deeper: the classic convolutional networks on any GPU (wgpu), from NumPy.

Errors: ValueError for bad shapes, dtypes, names and weight files that do not fit;
FileNotFoundError / OSError for unreadable files; RuntimeError (deeper's one-line message) for
the device: no adapter, a lost device, a limit, a timeout.
"""

from os import PathLike
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str
NETWORKS: List[str]
"""Every network name deeper knows: lenet5, alexnet, …, googlenet-paper."""

Prediction = Tuple[str, int, float]
"""(label, class index, softmax probability)."""

def devices() -> List[Dict[str, Any]]:
    """The GPU adapters wgpu can see, best first: name, backend, device_type, driver,
    driver_info, limits, subgroups ((min, max) or None), timestamps, features."""

def bench(net: str, batch: int = 1, size: Optional[int] = None, runs: int = 5) -> Dict[str, Any]:
    """Benchmarks `net` (random weights) layer by layer on the default GPU: the document
    `deeper bench NET --batch N --json` prints (layers, gpu_ms, end_to_end_ms, images_per_s…)."""

class Model:
    """A network compiled for one GPU at a fixed batch size.

    Model("lenet5")                                   built-in MNIST weights
    Model("resnet50", weights="resnet50.safetensors", batch=8)
    Model("resnet18", weights="random", size=64)      seeded random weights
    Model("resnet18", weights="my10.safetensors", labels="my10.txt")  own head (10 classes)
    Model("resnet50", weights="resnet50.safetensors", features="flatten")  2048-d embeddings

    classes:  the classifier's outputs; None: the weight file's classifier's rows, else the
              network's own (1000; 10 for lenet5). `deeper run --classes`.
    labels:   a text file, one class name per line, exactly `classes` of them: classify names
              the classes with them. `deeper run --labels`.
    features: a layer name as info() lists it ("flatten", "layer4.1.add"): calls return that
              layer's output, [N, F] after a flatten/linear/softmax layer, else [N, C, H, W];
              classify raises ValueError. `deeper run --features`.
    Unknown layers, a labels file with another count, a classes= the weights do not have, and
    labels= with features= raise ValueError.
    """

    def __init__(
        self,
        net: str,
        weights: Union[str, "PathLike[str]", None] = None,
        batch: int = 1,
        device: Union[int, str, None] = None,
        size: Optional[int] = None,
        seed: int = 0,
        classes: Optional[int] = None,
        labels: Union[str, "PathLike[str]", None] = None,
        features: Optional[str] = None,
    ) -> None: ...
    def __call__(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Logits [N, classes] of a preprocessed float32 array [N, C, H, W], 1 <= N <= batch,
        any memory layout; with `features`, that layer's output ([N, F] or [N, C, H, W])."""
    def classify(
        self, images: Iterable[Union[str, "PathLike[str]", bytes]], top: int = 5
    ) -> List[List[Prediction]]:
        """Per image (a path or the bytes of a JPEG/PNG file), its `top` predictions, preprocessed
        as `deeper run` does, named by `labels` when given. ValueError with `features`."""
    def info(self) -> Dict[str, Any]:
        """The layer table, as `deeper info NET --json` prints it."""
    @property
    def network(self) -> str: ...
    @property
    def batch(self) -> int: ...
    @property
    def input_shape(self) -> Tuple[int, int, int, int]: ...
    @property
    def classes(self) -> int:
        """The classifier's outputs (also with `features`, whose output size m(x) shows)."""
    @property
    def labels(self) -> Optional[List[str]]:
        """The names read from `labels`, or None."""
    @property
    def features(self) -> Optional[str]:
        """The layer whose output calls return, or None (the logits)."""
    @property
    def weights(self) -> str:
        """The weight file, "built-in (lenet5)" or "random(SEED)"."""
    @property
    def device(self) -> str:
        """The adapter in one line (name, backend, driver)."""
