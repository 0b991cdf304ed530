"""examples/ray_batch_inference.py in Ray's local mode with 2 actors on a few hundred generated
digit images: every image appears exactly once in the Parquet output, with the top-5 labels
`deeper run` gives it."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import DIGITS, ROOT, run_cli

pytest.importorskip("ray", reason="pip install 'ray[data]' pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

IMAGES = 300


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """IMAGES PNGs: the ten built-in digits shifted by up to 3 pixels, with noise (seeded)."""
    from PIL import Image

    rng = np.random.default_rng(15)
    out = tmp_path_factory.mktemp("images")
    base = [np.asarray(Image.open(os.path.join(DIGITS, f"{d}.png")).convert("L"))
            for d in range(10)]
    paths = []
    for i in range(IMAGES):
        img = np.roll(base[i % 10], tuple(rng.integers(-3, 4, 2)), axis=(0, 1)).astype(float)
        img = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
        p = out / f"img{i:04d}.png"
        Image.fromarray(img, "L").save(p)
        paths.append(str(p))
    return out, paths


def test_ray_example_labels_every_image_once_as_deeper_run_does(images, tmp_path):
    folder, paths = images
    out = tmp_path / "labels.parquet"
    cmd = [sys.executable, os.path.join(ROOT, "examples", "ray_batch_inference.py"), str(folder),
           "--net", "lenet5", "--batch", "16", "--actors", "2", "--actor-cpus", "0.5",
           "--out", str(out)]
    env = dict(os.environ, RAY_ADDRESS="")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    print(r.stdout)
    assert f"{IMAGES} images in" in r.stdout and "2 actor(s)" in r.stdout
    rows = pq.read_table(out).to_pylist()
    got = {os.path.abspath(row["path"]): row for row in rows}
    assert len(rows) == IMAGES and sorted(got) == sorted(paths), "each image exactly once"
    cli = run_cli("run", "lenet5", "--image", *paths, "--top", "5")
    for name, res in zip(paths, cli["results"]):
        row = got[os.path.abspath(name)]
        assert row["top_labels"] == [q["label"] for q in res["top"]], name
        assert row["top_classes"] == [q["class"] for q in res["top"]], name
        np.testing.assert_allclose(row["top_probs"], [q["prob"] for q in res["top"]],
                                   rtol=1e-6)
        assert row["label"] == res["top"][0]["label"]
