"""Seeding, device choice, training precision, atomic writes and quiet progress bars."""
from __future__ import annotations

import functools
import glob
import json
import os
import random
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """`"auto"` picks cuda, then mps, then cpu; anything else is passed to `torch.device`."""
    if isinstance(device, torch.device):
        return device
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


PRECISIONS = ("auto", "bf16", "fp32")


@functools.lru_cache(maxsize=None)
def _cpu_has_native_bf16() -> bool:
    """An x86 CPU with AVX-512 BF16 or AMX-BF16 (Linux `/proc/cpuinfo` flags); elsewhere False."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def native_bf16(device: str | torch.device) -> bool:
    """Whether `device` runs bf16 matrix products in hardware (then at about twice the fp32 rate)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu" and _cpu_has_native_bf16()


def uses_bf16(device: str | torch.device, precision: str = "auto") -> bool:
    """Whether training at `precision` ("auto": bf16 where `native_bf16(device)`, "bf16" or "fp32") uses bf16."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    return precision == "bf16" or (precision == "auto" and native_bf16(device))


def training_autocast(device: str | torch.device, precision: str = "auto"):
    """Context for a training step's forward pass and loss: convolutions and matrix products in bf16 when
    `uses_bf16(device, precision)`. Parameters, gradients and optimiser state stay fp32 (mixed precision);
    losses, exp and log run in fp32 (autocast's fp32 list)."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(device, precision))


STALE_TEMP_AGE_S = 15 * 60  # a temp file untouched this long has no live writer (writes take seconds)


def _temp_prefix(path: Path) -> str:
    """`.<name>.<host>.<pid>.`: who writes a temp file, so a later save can tell a dead writer's leftovers."""
    return f".{path.name}.{socket.gethostname()}.{os.getpid()}."


def _writer_alive(host: str, pid: str) -> bool:
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's writer (shared folder): only its age can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temp files earlier atomic writes of `path` left behind when their process was killed.

    A temp file is stale when its writer (host and pid in its name) is a dead process on this machine, or when
    it has not been touched for `STALE_TEMP_AGE_S` (writers on other machines, pre-pid names). A live writer's
    temp file is never removed, so concurrent saves stay safe. Returns the removed files.
    """
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        parts = tmp.name[len(path.name) + 2:-len(".tmp")].split(".")
        host, pid = (".".join(parts[:-2]), parts[-2]) if len(parts) >= 3 else ("", "")
        try:
            old = time.time() - tmp.stat().st_mtime > STALE_TEMP_AGE_S
            if old or not _writer_alive(host, pid):
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:  # its writer finished or another save removed it meanwhile
            pass
    return removed


def _atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str) -> Path:
    """Write through a temp file in the same directory, fsync, then `os.replace`.

    A reader sees the old file or the new one, never half of one; a failed write leaves no temp file, and the
    temp files of writers that were killed (SIGKILL gives no chance to clean up) are removed by the next save.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """`torch.save` that never leaves a truncated file behind."""
    return _atomic_write(path, lambda f: torch.save(obj, f), "wb")


def atomic_write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write bytes atomically."""
    return _atomic_write(path, lambda f: f.write(data), "wb")


def atomic_write_text(text: str, path: str | os.PathLike) -> Path:
    """Write text atomically."""
    return _atomic_write(path, lambda f: f.write(text), "w")


def atomic_write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON atomically (sorted keys, NaN allowed as in Python's json)."""
    return atomic_write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n", path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def progress_enabled(progress: bool | None) -> bool:
    """`None` means: on, unless `TQDM_DISABLE` or `LABKIT_PROGRESS=0` says otherwise (headless runs)."""
    if progress is not None:
        return progress
    if os.environ.get("TQDM_DISABLE", "") not in ("", "0"):
        return False
    return os.environ.get("LABKIT_PROGRESS", "1") not in ("0", "false")


def progress_bar(iterable: Iterable | None = None, *, progress: bool | None = None, **kwargs):
    """`tqdm.auto` bar (a widget in JupyterLab), silent when progress is off."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not progress_enabled(progress), leave=False, **kwargs)


def rng_state() -> dict:
    """All global RNG states, for checkpoints: plain numbers, tuples and tensors only (loadable with weights_only)."""
    key, pos, has_gauss, cached = np.random.get_state(legacy=True)[1:]
    state = {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured (also the numpy tuple that checkpoints of labkit 0.1 hold)."""
    random.setstate(state["python"])
    npy = state["numpy"]
    if isinstance(npy, dict):
        npy = ("MT19937", npy["key"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["cached_gaussian"])
    np.random.set_state(npy)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
