"""Local pretrained weights: found by file name under `$LABKIT_WEIGHTS` (or given), verified by sha256."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..core import paths


class WeightsNotFoundError(FileNotFoundError):
    """A pretrained weight file is missing; the message says which file to place where."""


class WeightsMismatchError(ValueError):
    """A weight file's sha256 is not the expected one."""


def sha256_file(path: str | Path, chunk: int = 2**20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def resolve_weights(filename: str, weights_path: str | Path | None = None, *, sha256: str | None = None,
                    what: str = "weights", source: str = "") -> tuple[Path, str]:
    """Locate and verify a weight file; returns (path, full sha256).

    Args:
        filename: the expected file name, looked for in `$LABKIT_WEIGHTS` when `weights_path` is None.
        weights_path: an explicit file (or a directory holding `filename`).
        sha256: expected hex digest, or a prefix of it (torch hub names carry the first 8 hex digits).
        what: description for error messages.
        source: where the file can be obtained, for the error message.
    """
    if weights_path is None:
        path = paths.weights_dir() / filename
    else:
        path = Path(weights_path)
        if path.is_dir():
            path = path / filename
    if not path.is_file():
        hint = f" (obtain it from {source})" if source else ""
        raise WeightsNotFoundError(
            f"{what} not found at {path}. Place the file {filename!r}{hint} in {paths.weights_dir()} "
            f"(set $LABKIT_WEIGHTS to choose that directory) or pass weights_path=...; nothing is downloaded.")
    digest = sha256_file(path)
    if sha256 is not None and not digest.startswith(sha256.lower()):
        raise WeightsMismatchError(f"{what} at {path} has sha256 {digest}, expected {sha256}…; "
                                   "the file is damaged or is a different release")
    return path, digest
