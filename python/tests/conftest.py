"""Shared fixtures of the Python suite: the repository's paths, the CLI binary, and PyTorch
parity fixtures written by scripts/make_fixtures.py into a temporary directory."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DIGITS = os.path.join(ROOT, "data", "digits")
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def cli():
    """The `deeper` binary (`$DEEPER_BIN`, else target/release/deeper): the CLI the package must
    agree with. Missing is a failure, not a skip (build it with `cargo build --release`)."""
    exe = os.environ.get("DEEPER_BIN") or os.path.join(ROOT, "target", "release", "deeper")
    assert os.path.exists(exe), f"{exe} missing: run `cargo build --release` first"
    return exe


def run_cli(*args):
    """`deeper ARGS --json` as a parsed document."""
    out = subprocess.run([cli(), *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def digits():
    """The ten built-in digit images, 0.png … 9.png."""
    return [os.path.join(DIGITS, f"{d}.png") for d in range(10)]


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    """A function net, size -> the directory of its PyTorch fixture (made once per session)."""
    import make_fixtures

    out = tmp_path_factory.mktemp("fixtures")
    made = {}

    def get(net, size):
        if (net, size) not in made:
            make_fixtures.make(net, size, str(out / f"{net}@{size}"))
            made[(net, size)] = out / f"{net}@{size}" / net
        return made[(net, size)]

    return get
