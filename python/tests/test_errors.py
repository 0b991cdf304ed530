"""Every error path: the right Python exception with deeper's one-line message, and the
interpreter (and the model) fine afterwards."""
import numpy as np
import pytest

import deeper


@pytest.fixture(scope="module")
def lenet():
    return deeper.Model("lenet5", batch=2)


def one_line(e):
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


def test_unknown_network():
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet51")
    assert "unknown network 'resnet51'" in one_line(e) and "resnet50" in one_line(e)


def test_weights_needed_missing_or_not_fitting(tmp_path):
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18")
    assert "no built-in weights" in one_line(e) and "random" in one_line(e)
    with pytest.raises(FileNotFoundError) as e:
        deeper.Model("lenet5", weights=tmp_path / "nope.safetensors")
    assert "nope.safetensors" in one_line(e)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError):
        deeper.Model("lenet5", weights=garbage)
    lenet_file = tmp_path / "lenet.safetensors"
    import shutil
    from conftest import ROOT
    shutil.copy(f"{ROOT}/data/lenet5_mnist.safetensors", lenet_file)
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18", weights=lenet_file, size=32)
    assert "conv1.weight" in one_line(e)
    with pytest.raises(ValueError) as e:
        deeper.Model("lenet5", size=64)
    assert "weight" in one_line(e)


@pytest.mark.parametrize("kwargs", [{"batch": 0}, {"size": 0}])
def test_bad_batch_or_size(kwargs):
    with pytest.raises(ValueError):
        deeper.Model("lenet5", **kwargs)


def test_bad_devices():
    with pytest.raises(ValueError) as e:
        deeper.Model("lenet5", device=99)
    assert "device 99" in one_line(e)
    with pytest.raises(RuntimeError) as e:
        deeper.Model("lenet5", device="no-such-adapter-xyz")
    assert "no GPU adapter" in one_line(e)
    with pytest.raises(TypeError):
        deeper.Model("lenet5", device=1.5)


@pytest.mark.parametrize("x,what", [
    (np.zeros((1, 1, 32, 32), np.float64), "float64"),
    (np.zeros((1, 1, 32, 32), np.float16), "float16"),
    (np.zeros((1, 1, 32, 32), np.int32), "int32"),
    (np.zeros((1, 32, 32), np.float32), "3-D"),
    ([[[[0.0]]]], "list"),
    ("x", "str"),
])
def test_wrong_dtype_or_rank(lenet, x, what):
    with pytest.raises(ValueError) as e:
        lenet(x)
    assert what in one_line(e) and "float32" in one_line(e)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (1, 1, 28, 28), (3, 1, 32, 32),
                                   (0, 1, 32, 32)])
def test_wrong_shape(lenet, shape):
    with pytest.raises(ValueError) as e:
        lenet(np.zeros(shape, np.float32))
    assert "[N, 1, 32, 32]" in one_line(e)


def test_classify_errors(lenet, tmp_path, digits):
    with pytest.raises(FileNotFoundError):
        lenet.classify([tmp_path / "missing.png"])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError) as e:
        lenet.classify([text])
    assert "notes.png" in one_line(e)
    with pytest.raises(ValueError) as e:
        lenet.classify([b"\x89PNG garbage"])
    assert "image 0 (bytes)" in one_line(e)
    with pytest.raises(ValueError):
        lenet.classify(digits[:1], top=0)
    with pytest.raises(TypeError):
        lenet.classify(digits[0])
    with pytest.raises(TypeError):
        lenet.classify([3])


def test_device_limits_are_runtime_errors():
    with pytest.raises(RuntimeError) as e:
        deeper.Model("resnet18", weights="random", batch=4096)
    assert "device limit" in one_line(e)


def test_bench_errors():
    with pytest.raises(ValueError):
        deeper.bench("nope")
    with pytest.raises(ValueError):
        deeper.bench("lenet5", batch=0)


def test_the_model_still_works_after_errors(lenet, digits):
    for bad in (np.zeros((1, 1, 8, 8), np.float32), np.zeros((1, 1, 32, 32))):
        with pytest.raises(ValueError):
            lenet(bad)
    assert lenet.classify(digits[7:8], top=1)[0][0][0] == "7"


def test_unexpected_weight_keys_warn_as_the_cli_does(tmp_path):
    import numpy as np
    import safetensors_io
    from conftest import ROOT

    tensors = safetensors_io.load(f"{ROOT}/data/lenet5_mnist.safetensors")
    tensors["extra.weight"] = np.ones((2, 2), np.float32)
    path = tmp_path / "extra.safetensors"
    safetensors_io.save(tensors, str(path))
    with pytest.warns(UserWarning, match="1 unexpected key.s. ignored: extra.weight"):
        m = deeper.Model("lenet5", weights=path)
    assert m.weights == str(path)
