"""`make lab` as a user runs it: JupyterLab on loopback only, with its token, and as root with --allow-root
(the usual user in a container), which jupyter otherwise refuses."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_binds_loopback_keeps_the_token_and_allows_root_only_for_root(tmp_path):
    fake = tmp_path / "jupyter"  # stands in for the venv's jupyter: prints the arguments it was given
    fake.write_text('#!/bin/sh\necho "ARGS: $*"\n')
    fake.chmod(0o755)
    out = subprocess.run(["make", "-o", "setup", "lab", f"BIN={tmp_path}"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    args = next(line for line in out.splitlines() if line.startswith("ARGS: ")).split()[1:]
    assert args[:2] == ["lab", "notebooks/"] and "--ip=127.0.0.1" in args and "--no-browser" in args
    assert not any("token" in a.lower() or "password" in a.lower() for a in args)  # jupyter's token stays on
    assert ("--allow-root" in args) == (os.geteuid() == 0)
