"""Reader for the IDX files of MNIST and Fashion-MNIST, with checks that name a bad file."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.uint8}


class CorruptDataError(ValueError):
    """A data file exists but is truncated or not what it claims to be."""


def read_idx(path: Path) -> np.ndarray:
    """Read an (optionally gzipped) IDX file into an array; raise `CorruptDataError` naming the file."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise CorruptDataError(f"cannot read {path}: {e}. Delete it and fetch the dataset again.") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise CorruptDataError(f"{path} is not an IDX file (bad magic number). Delete it and fetch the dataset again.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(f"{path} is truncated inside its header. Delete it and fetch the dataset again.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise CorruptDataError(
            f"{path} holds {len(raw)} bytes but its header announces {expected} for shape {shape}: "
            "the file is truncated or corrupt. Delete it and fetch the dataset again."
        )
    return np.frombuffer(raw, dtype=_DTYPES[raw[2]], offset=header).reshape(shape)
