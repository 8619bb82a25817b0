"""Shared fixtures: one Rig and one Bridge per test module, under a temporary directory."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "rig"))
sys.path.insert(0, str(HERE))

from rig import Rig  # noqa: E402
from bridge import Bridge  # noqa: E402


def bridge_exe():
    exe = os.environ.get("XB_EXE")
    if not exe or not Path(exe).exists():
        pytest.fail("XB_EXE must name the built xoauthbridge (CTest sets it)")
    return exe


@pytest.fixture(scope="module")
def rig():
    # Not under pytest's tmp_path: Dovecot runs as nobody and must be able to enter it.
    d = tempfile.mkdtemp(prefix="xb-rig-")
    try:
        with Rig(d) as r:
            yield r
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def xb(rig, tmp_path_factory):
    with Bridge(bridge_exe(), rig, tmp_path_factory.mktemp("xb")) as b:
        yield b
