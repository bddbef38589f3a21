"""The shared fit loop: in-memory batches, history, atomic checkpoints, exact resume, NaN guard.

A *task* owns the models and the optimisation step; `fit` owns the loop:

    class Task:
        modules: dict[str, nn.Module]            # saved by name (registered models)
        optimizers: dict[str, torch.optim.Optimizer]
        def training_step(self, batch, pos) -> dict[str, Tensor | float]  # batch: tuple of tensors on device;
                                                                        # 0-d tensors are read in bulk, not per step
        def epoch_end(self, pos) -> dict[str, float]              # optional: evaluation, sample grids
        def extra_state(self) -> dict / load_extra_state(self, d) # optional: EMA weights, counters
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch

from ..core.runtime import pick_device, progress_bar, rng_state, set_rng_state
from ..models.checkpoint import read_checkpoint, save_models
from ..models.registry import model_spec


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class Position:
    """Where training is: `epoch` and `batch` (within the epoch) of the step about to run, global `step`."""
    epoch: int = 0
    batch: int = 0
    step: int = 0


@dataclass
class FitResult:
    history: pd.DataFrame      # one row per epoch: mean step metrics + epoch_end metrics + time
    steps: pd.DataFrame        # one row every `log_every` steps
    checkpoint: Path | None    # final checkpoint
    resumed_from: int | None   # step resumed from, if any


class ResumeMismatchError(ValueError):
    """A checkpoint cannot continue this run: another model, optimiser or trajectory; the message names the fields."""


_OPTIMIZER_FIELDS = ("lr", "betas", "momentum", "weight_decay", "eps", "alpha")


def training_signature(task: Any, batch_size: int, seed: int, drop_last: bool) -> dict:
    """What fixes a run's trajectory besides its length: models (kind and config), optimisers, batches, seed.

    Optimisers are described by their class and construction-time hyperparameters (`defaults`), which a
    learning-rate schedule does not change.
    """
    return {"models": {k: model_spec(m) for k, m in task.modules.items()},
            "optimizers": {k: {"type": type(o).__name__, **{f: o.defaults[f] for f in _OPTIMIZER_FIELDS
                                                            if f in o.defaults}}
                           for k, o in task.optimizers.items()},
            "batch_size": batch_size, "seed": seed, "drop_last": drop_last}


def _plain(v: Any) -> Any:
    """Tuples as lists, recursively, so a signature compares equal before and after a save."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new), key=str)
                for d in _differences(old.get(k, "<absent>"), new.get(k, "<absent>"), f"{prefix}{k}.")]
    return [] if old == new else [f"{prefix.rstrip('.')}: checkpoint {old!r}, this run {new!r}"]


def check_resumable(ck: dict, path: Path, signature: dict) -> None:
    """Raise `ResumeMismatchError` unless checkpoint `ck` (read from `path`) can continue a run with `signature`.

    Checkpoints written before signatures were stored are checked on what they hold (models, batch size, seed).
    """
    afresh = (f"To start afresh, delete {path}, pass resume=False, or train into another checkpoint path "
              "(a new run directory).")
    missing = [k for k in ("optim", "position", "rng", "state") if k not in ck]
    if missing:
        raise ResumeMismatchError(f"cannot resume from {path}: it holds models only (no {', '.join(missing)}), "
                                  f"e.g. an exported generator, not a training checkpoint. {afresh}")
    stored = {"models": ck.get("specs", {}), **ck.get("fit", {})}
    stored.pop("epochs", None)  # a longer or shorter run continues the same trajectory
    diffs = _differences(_plain({k: v for k, v in stored.items() if k in signature}),
                         _plain({k: v for k, v in signature.items() if k in stored}))
    if diffs:
        raise ResumeMismatchError(f"cannot resume from {path}: it was written by another run ("
                                  + "; ".join(diffs) + f"). {afresh}")


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of epoch `epoch`: a pure function of (seed, epoch), so resume needs no sampler state."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


@contextmanager
def _defer_sigint():
    """Turn Ctrl-C / a kernel interrupt into a flag checked between steps, so a checkpoint can be written."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if flag["hit"]:  # second press: stop at once
            previous(signum, frame) if callable(previous) else signal.default_int_handler(signum, frame)
        flag["hit"] = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def fit(task: Any, tensors: tuple[torch.Tensor, ...], *, epochs: int | None = None, max_steps: int | None = None,
        batch_size: int = 128, seed: int = 0, checkpoint: str | Path | None = None,
        checkpoint_every: int | None = None, resume: bool = True, drop_last: bool = False,
        log_every: int = 50, device: str | torch.device = "auto", progress: bool | None = None,
        on_step: Callable[[Position, dict], None] | None = None) -> FitResult:
    """Train `task` on in-memory `tensors` (all of length N, kept on the CPU, batches moved to device).

    Args:
        epochs / max_steps: stop after whichever comes first (at least one must be given).
        checkpoint: file written atomically at each epoch end, every `checkpoint_every` steps and on
            interrupt; when it exists and `resume`, training continues from it and ends with the same
            weights as an uninterrupted run (same seed and device).
        drop_last: skip a last partial batch (GANs prefer full batches).
        on_step: called after each step with the position and its metrics (tests use it to interrupt).
    """
    if epochs is None and max_steps is None:
        raise ValueError("give epochs or max_steps")
    for what, v in (("epochs", epochs), ("max_steps", max_steps), ("batch_size", batch_size)):
        if v is not None and (not isinstance(v, int) or v < 1):
            raise ValueError(f"{what} must be a positive integer; got {v!r}")
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError(f"all tensors need the same length; got {[len(t) for t in tensors]}")
    if n == 0:
        raise ValueError("no training data")
    per_epoch = n // batch_size if drop_last else math.ceil(n / batch_size)
    if per_epoch == 0:
        raise ValueError(f"{n} examples make no full batch of {batch_size}; lower batch_size")
    epochs = epochs if epochs is not None else math.ceil(max_steps / per_epoch)
    total = min(epochs * per_epoch, max_steps or epochs * per_epoch)
    device = pick_device(device)
    checkpoint = Path(checkpoint) if checkpoint else None
    for m in task.modules.values():
        m.to(device)

    pos, rows, steps, sums, resumed_from = Position(), [], [], {}, None
    signature = training_signature(task, batch_size, seed, drop_last)
    if checkpoint and resume and checkpoint.exists():
        ck = read_checkpoint(checkpoint, map_location=device)
        check_resumable(ck, checkpoint, signature)
        for k, m in task.modules.items():
            m.load_state_dict(ck["state"][k])
        for k, o in task.optimizers.items():
            o.load_state_dict(ck["optim"][k])
        if hasattr(task, "load_extra_state"):
            task.load_extra_state(ck.get("extra", {}))
        set_rng_state(ck["rng"])
        pos, rows, steps, sums = Position(**ck["position"]), ck["history"], ck["steps"], ck["sums"]
        resumed_from = pos.step
    last_good = {"path": checkpoint if resumed_from is not None else None, "step": resumed_from}

    pending: list[tuple[Position, dict]] = []  # steps whose metrics are not read yet (tensors stay on the device)

    def settle() -> dict[str, float]:
        """Read the pending steps' metrics in one transfer, guard against NaN, add them to the sums and the log."""
        values = [v.detach().float().reshape(()) for _, m in pending for v in m.values() if torch.is_tensor(v)]
        read = iter(torch.stack(values).tolist() if values else ())
        metrics = {}
        for at, step_metrics in pending:
            metrics = {k: next(read) if torch.is_tensor(v) else float(v) for k, v in step_metrics.items()}
            bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
            if bad:
                where = (f"a checkpoint at step {last_good['step']}: {last_good['path']}" if last_good["path"]
                         else "no checkpoint yet")
                raise TrainingDivergedError(
                    f"{', '.join(f'{k}={v}' for k, v in bad.items())} at step {at.step} "
                    f"(epoch {at.epoch}, batch {at.batch}); last good state: {where}. "
                    "Lower the learning rate or check the inputs, then resume from that checkpoint."
                )
            for k, v in metrics.items():
                s = sums.setdefault(k, [0.0, 0])
                s[0] += v
                s[1] += 1
            if (at.step + 1) % log_every == 0:
                steps.append({"step": at.step + 1, "epoch": at.epoch, **metrics})
        pending.clear()
        return metrics

    def save():
        settle()  # never checkpoint past a NaN
        if checkpoint is None:
            return
        save_models(checkpoint, task.modules, optim={k: o.state_dict() for k, o in task.optimizers.items()},
                    extra=task.extra_state() if hasattr(task, "extra_state") else {},
                    rng=rng_state(), position=vars(pos).copy(), history=rows, steps=steps, sums=sums,
                    fit={**{k: v for k, v in signature.items() if k != "models"}, "epochs": epochs})
        last_good.update(path=checkpoint, step=pos.step)

    t_start = time.perf_counter()
    bar = progress_bar(total=total, initial=pos.step, progress=progress, desc=type(task).__name__)
    with _defer_sigint() as interrupted:
        while pos.step < total:
            order = epoch_order(n, seed, pos.epoch)
            while pos.batch < per_epoch and pos.step < total:
                idx = order[pos.batch * batch_size:(pos.batch + 1) * batch_size]
                batch = tuple(t[idx].to(device, non_blocking=True) for t in tensors)
                for m in task.modules.values():
                    m.train()
                # metrics stay tensors until `settle` reads a batch of steps at once: no host sync per step
                pending.append((Position(**vars(pos)), task.training_step(batch, pos)))
                pos.batch += 1
                pos.step += 1
                if pos.step % log_every == 0 or on_step is not None:
                    metrics = settle()
                bar.update(1)
                if on_step is not None:
                    on_step(pos, metrics)
                if interrupted["hit"]:
                    save()
                    raise KeyboardInterrupt(f"training interrupted at step {pos.step}; checkpoint: {checkpoint}")
                if checkpoint_every and pos.step % checkpoint_every == 0 and pos.batch < per_epoch:
                    save()
            settle()
            if pos.batch >= per_epoch:  # a finished epoch
                for m in task.modules.values():
                    m.eval()
                row = {"epoch": pos.epoch + 1, "step": pos.step, **{k: s / c for k, (s, c) in sums.items()}}
                if hasattr(task, "epoch_end"):
                    row.update(task.epoch_end(pos))
                row["time_s"] = time.perf_counter() - t_start
                rows.append(row)
                pos.epoch, pos.batch, sums = pos.epoch + 1, 0, {}
                save()
    bar.close()
    if pos.batch:  # stopped by max_steps inside an epoch
        save()
    for m in task.modules.values():
        m.eval()
    return FitResult(pd.DataFrame(rows), pd.DataFrame(steps), checkpoint, resumed_from)
