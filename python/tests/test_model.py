"""deeper from Python against PyTorch and against the CLI: torchvision's own models with the same
weights (judged against float64, as tests/parity.rs judges them), LeNet-5's built-in digits,
`deeper run` / `deeper info` agreement, bench, devices, layouts, threads and the GIL."""
import json
import os
import threading
import time

import numpy as np
import pytest

import deeper
from conftest import DIGITS, run_cli


def fidelity(got, fixture):
    """(ours, torch's, bound): relative L2 errors against the float64 logits, and the bound
    max(1e-5, 1.5 x PyTorch float32's own error)."""
    exact = np.load(fixture / "logits_f64.npy")
    meta = json.loads((fixture / "meta.json").read_text())
    ours = float(np.linalg.norm(got.astype(np.float64) - exact) / np.linalg.norm(exact))
    torch_err = float(meta["f32_vs_f64"])
    return ours, torch_err, max(1e-5, 1.5 * torch_err)


@pytest.mark.parametrize("net,size", [("lenet5", 32), ("resnet18", 64), ("vgg16-bn", 32)])
def test_matches_torchvision_against_float64(fixtures, net, size):
    d = fixtures(net, size)
    x = np.load(d / "input.npy")
    m = deeper.Model(net, weights=str(d / "weights.safetensors"), batch=x.shape[0], size=size)
    got = m(x)
    assert got.dtype == np.float32 and got.shape == (x.shape[0], m.classes)
    ours, torch_err, bound = fidelity(got, d)
    print(f"{net}@{size}: deeper vs f64 {ours:.2e}, torch f32 vs f64 {torch_err:.2e}")
    assert ours <= bound, f"{net}@{size}: {ours:.3e} from float64, bound {bound:.3e}"
    torch_f32 = np.load(d / "logits.npy")
    assert np.argmax(got, 1).tolist() == np.argmax(torch_f32, 1).tolist()


def test_googlenet_export_gets_transform_input(tmp_path):
    """export_torchvision.py's GoogLeNet asks for transform_input in its metadata: the model
    applies it, as torchvision's model does (checked against PyTorch's float32 logits)."""
    import make_fixtures

    make_fixtures.make_export(str(tmp_path), size=64)
    d = tmp_path / "googlenet-export"
    x, want = np.load(d / "input.npy"), np.load(d / "logits.npy")
    got = deeper.Model("googlenet", weights=d / "weights.safetensors", batch=2, size=64)(x)
    err = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert err < 1e-4, f"rel L2 {err:.2e} from PyTorch"


def test_any_layout_and_fewer_samples_than_the_batch(fixtures):
    d = fixtures("resnet18", 64)
    x = np.load(d / "input.npy")
    m = deeper.Model("resnet18", weights=d / "weights.safetensors", batch=3, size=64)
    full = m(x)
    fortran = np.asfortranarray(x)
    strided = np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1))).transpose(0, 3, 1, 2)
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(m(fortran), full)
    np.testing.assert_array_equal(m(strided), full)
    np.testing.assert_array_equal(m(x[1:2]), full[1:2])
    assert m(x[:1]).shape == (1, 1000)


def test_lenet5_builtin_weights_read_the_digits(digits):
    m = deeper.Model("lenet5", batch=4)
    assert m.weights == "built-in (lenet5)" and m.input_shape == (4, 1, 32, 32)
    preds = m.classify(digits, top=3)
    assert [p[0][0] for p in preds] == [str(d) for d in range(10)]
    assert [p[0][1] for p in preds] == list(range(10))
    for p in preds:
        assert len(p) == 3 and p[0][2] > 0.9 and p[0][2] >= p[1][2] >= p[2][2]


def test_classify_agrees_with_deeper_run(digits):
    cli = run_cli("run", "lenet5", "--image", *digits, "--top", "5")
    ours = deeper.Model("lenet5", batch=3).classify(digits)
    assert len(cli["results"]) == len(ours) == 10
    for r, p in zip(cli["results"], ours):
        assert [(q["label"], q["class"]) for q in r["top"]] == [(l, c) for l, c, _ in p]
        np.testing.assert_allclose([q["prob"] for q in r["top"]], [x for _, _, x in p],
                                   rtol=1e-6)


def test_classify_takes_bytes_and_path_objects(digits):
    import pathlib

    m = deeper.Model("lenet5")
    by_path = m.classify([pathlib.Path(p) for p in digits[:3]])
    by_bytes = m.classify([open(p, "rb").read() for p in digits[:3]])
    assert by_path == by_bytes


def test_logits_equal_deeper_runs_saved_logits(tmp_path):
    import subprocess

    from conftest import cli

    x = np.random.default_rng(1).standard_normal((3, 1, 32, 32), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    subprocess.run([cli(), "run", "lenet5", "--input", str(tmp_path / "x.npy"),
                    "--save-logits", str(tmp_path / "y.npy")], check=True, capture_output=True)
    np.testing.assert_array_equal(deeper.Model("lenet5", batch=3)(x), np.load(tmp_path / "y.npy"))


def test_info_is_deeper_info():
    m = deeper.Model("resnet18", weights="random", size=64)
    assert m.info() == run_cli("info", "resnet18", "--size", "64")
    assert m.weights == "random(0)" and m.classes == 1000


def test_bench_document():
    doc = deeper.bench("lenet5", batch=2, runs=2)
    assert doc["network"] == "lenet5" and doc["batch"] == 2
    assert doc["end_to_end_ms"] > 0 and doc["layers"]
    assert {"name", "gpu_ms", "gflops"} <= set(doc["layers"][0])


def test_devices_and_device_choice():
    ds = deeper.devices()
    assert ds and {"name", "backend", "limits", "subgroups", "timestamps"} <= set(ds[0])
    assert ds[0]["limits"]["max_storage_buffer_binding_size"] > 0
    m = deeper.Model("lenet5", device=0)
    assert m.device.startswith(ds[0]["name"])
    assert deeper.Model("lenet5", device=ds[0]["name"][:6]).device == m.device


def test_threads_share_a_model_and_the_gil_is_released(fixtures):
    d = fixtures("resnet18", 64)
    x = np.load(d / "input.npy")
    m = deeper.Model("resnet18", weights=d / "weights.safetensors", batch=2, size=64)
    want = m(x)
    results, ticks = [], [0]
    workers = [threading.Thread(target=lambda: results.append(m(x))) for _ in range(3)]
    for w in workers:
        w.start()
    while any(w.is_alive() for w in workers):
        ticks[0] += 1
        time.sleep(0.001)
    assert len(results) == 3
    for r in results:
        np.testing.assert_array_equal(r, want)
    # While three forward passes ran, this thread kept running Python: the GIL was free.
    assert ticks[0] > 10


def test_stubs_and_docstrings_ship():
    import importlib.util

    origin = importlib.util.find_spec("deeper").origin
    folder = os.path.dirname(origin)
    assert os.path.exists(os.path.join(folder, "__init__.pyi")) or os.path.exists(
        os.path.join(folder, "deeper.pyi")) or os.path.exists(origin + "i")
    assert "float32" in deeper.Model.__doc__ and deeper.Model.classify.__doc__
    assert "lenet5" in deeper.NETWORKS and DIGITS
