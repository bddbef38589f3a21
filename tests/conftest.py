"""Shared fixtures: offline, quiet, fast; tiny real data and a tiny trained classifier."""
from __future__ import annotations

import os

os.environ.setdefault("LABKIT_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import labkit  # noqa: E402
from labkit import data  # noqa: E402
from tests.helpers import TINY_CLASSIFIER  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def digits_train():
    """scikit-learn's 8×8 digits, training part (offline, ~1440 images)."""
    return data.load("digits", "train")


@pytest.fixture(scope="session")
def digits_test():
    return data.load("digits", "test")


@pytest.fixture(scope="session")
def digits_classifier(digits_train):
    """A tiny classifier trained for a few epochs on digits (>90 % test accuracy), shared by tests."""
    model, _ = labkit.train_classifier(digits_train, cfg=TINY_CLASSIFIER,
                                       settings=labkit.ClassifierTraining(epochs=6, batch_size=64), seed=0)
    return model


@pytest.fixture
def tmp_runs(tmp_path, monkeypatch):
    """Point runs/ and caches at a temp dir."""
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path
