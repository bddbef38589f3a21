"""Diversity saturation: GAN-train (VAE-train) accuracy against the number of training images per class.

A *pool* is a labelled dataset (a large generated set, or the real training set); a *point* trains
a fresh evaluation classifier on a seeded class-balanced subset of `n_per_class` images of a pool and
scores it on the real test set. The generated curve beside the real curve tells how many real images
per class a model's samples are worth (`effective_size`).

A point trains to convergence, as the papers train their second classifier: whole epochs with early
stopping on a held-out split of the same pool (`hold_out`: disjoint from every subset, never the test set),
the best epoch's weights kept (`labkit.train.early_stopping`); epochs and whether patience ran out are
recorded per point. A fixed step budget (`SaturationSettings.stopping=None`) remains for quick checks.

Points are independent and deterministic (single-threaded by default, seeded), so they run on any
`concurrent.futures.Executor` (a local process pool, a Dask cluster named by `scheduler`, submitit's) with
identical results;
finished points are kept in a JSON-lines file and skipped on rerun. `train_point` is top-level and
receives only the tensors it needs (the subset and the test set), so pickling stays small.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..core.cluster import executor_for, run_all
from ..core.record import MetricRecord, tagged
from ..core.runtime import atomic_write_text, progress_bar
from ..data.dataset import ImageDataset, balanced_indices
from ..features.cache import cache_key, images_sha256
from ..metrics.classifier import GAN_TRAIN_SETTINGS
from ..models.classifier import ClassifierConfig
from ..train.classifier import ClassifierTraining, accuracy, train_classifier
from ..train.early_stopping import EarlyStopping, train_until_converged
from .effective_size import EffectiveSize, effective_size, invert_curve, monotone_fit  # notebooks import them here too

RECORDS_FILE = "saturation.jsonl"
TIMING_FIELDS = ("wall_s",)  # the only record fields that differ between two runs of the same point


@dataclass(frozen=True)
class SaturationSettings:
    steps: int = GAN_TRAIN_SETTINGS.steps            # fixed-budget points: optimiser steps, whatever the set size
    batch_size: int = GAN_TRAIN_SETTINGS.batch_size  # images per step
    lr: float = GAN_TRAIN_SETTINGS.lr                # Adam peak learning rate (cosine-decayed)
    threads: int = 1                                 # torch CPU threads inside a point (fixed: same result anywhere)
    device: str = "cpu"                              # where a point trains ("auto": cuda when present)
    cfg: ClassifierConfig | None = None              # classifier architecture; None: the default for the data
    stopping: EarlyStopping | None = None            # set: train to convergence on a held-out split (`steps` unused)

    @classmethod
    def for_data(cls, ds: ImageDataset, *, steps: int = GAN_TRAIN_SETTINGS.steps, batch_size: int = 256,
                 lr: float = GAN_TRAIN_SETTINGS.lr, widths: Sequence[int] | None = None, device: str = "cpu",
                 stopping: EarlyStopping | None = None) -> "SaturationSettings":
        """The protocol for classifiers of `ds`'s geometry (channels, size, classes) with conv `widths`.

        Args:
            ds: a dataset of the images the points train on; steps, batch_size, lr: the training recipe.
            widths: conv widths of the point classifier (None: the classifier's default).
            device: stored as given (it is part of every point's key).
            stopping: train each point to convergence (early stopping) instead of for `steps`.
        """
        geometry = dict(channels=ds.shape[0], image_size=ds.shape[1], num_classes=ds.num_classes)
        cfg = ClassifierConfig(**geometry, **({} if widths is None else {"widths": tuple(widths)}))
        return cls(steps=steps, batch_size=batch_size, lr=lr, device=device, cfg=cfg, stopping=stopping)

    @classmethod
    def like(cls, classifier_cfg: ClassifierConfig, *, batch_size: int = 256, lr: float = GAN_TRAIN_SETTINGS.lr,
             device: str = "cpu", stopping: EarlyStopping = EarlyStopping(), steps: int = 0) -> "SaturationSettings":
        """Points whose classifier has `classifier_cfg`'s architecture (the papers' C2 = C1), trained to
        convergence by `stopping`, or for `steps` optimiser steps when `steps` > 0."""
        if steps:
            return cls(steps=steps, batch_size=batch_size, lr=lr, device=device, cfg=classifier_cfg)
        return cls(batch_size=batch_size, lr=lr, device=device, cfg=classifier_cfg, stopping=stopping)


@dataclass(frozen=True)
class SaturationPoint:
    curve: str                 # "real", or the generated pool's name
    n_per_class: int           # training images per class
    seed: int                  # subset and classifier seed
    data_id: str = ""          # sha256 prefix of the pool (images and targets) and of the test set
    protocol: dict = field(default_factory=dict)  # settings that determine the result

    def key(self) -> str:
        """Identity of the point: everything that determines its accuracy."""
        return cache_key({"curve": self.curve, "n_per_class": self.n_per_class, "seed": self.seed,
                          "data_id": self.data_id, **self.protocol})


def _protocol(settings: SaturationSettings) -> dict:
    cfg = asdict(settings.cfg) if settings.cfg is not None else None
    budget = ({"steps": settings.steps} if settings.stopping is None
              else {"early_stopping": asdict(settings.stopping)})
    return {**budget, "batch_size": settings.batch_size, "lr": settings.lr, "threads": settings.threads,
            "device": settings.device, "classifier_cfg": cfg}


def train_point(point: SaturationPoint, images: torch.Tensor, targets: torch.Tensor, test_images: torch.Tensor,
                test_labels: torch.Tensor, settings: SaturationSettings, val_images: torch.Tensor | None = None,
                val_targets: torch.Tensor | None = None) -> dict:
    """Train one classifier on (images, targets), to convergence or for the step budget; its test accuracy.

    Args:
        point: what is computed (its fields go into the record).
        images: uint8 (N, C, H, W) training images (the pool subset).
        targets: float (N, K) one-hot or soft training targets.
        test_images: uint8 (M, C, H, W) real test images; test_labels: int64 (M,).
        settings: budget or early stopping, batch size, learning rate, threads, device, architecture.
        val_images, val_targets: the pool's held-out split, (V, C, H, W) and (V, K); early stopping scores it.

    Returns:
        the record: the point's fields, `accuracy`, `n_train`, `n_test`, `key`, `wall_s` and, when trained to
        convergence, `epochs` (run), `best_epoch`, `val_accuracy`, `stopped_early` (patience ran out) and `n_val`.
    """
    t0 = time.perf_counter()
    k = targets.shape[1]
    names = tuple(str(i) for i in range(k))
    train = ImageDataset(images, targets.argmax(1), names, name=point.curve, soft_labels=targets.float())
    test = ImageDataset(test_images, test_labels, names, name="test", split="test")
    previous = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    converged = {}
    try:
        training = ClassifierTraining(steps=settings.steps, batch_size=settings.batch_size, lr=settings.lr)
        if settings.stopping is None:
            model, _ = train_classifier(train, cfg=settings.cfg, settings=training, seed=point.seed,
                                        device=settings.device, progress=False)
        else:
            if val_images is None or val_targets is None:
                raise ValueError(f"point {point.curve!r}: early stopping needs the pool's held-out split")
            val = ImageDataset(val_images, val_targets.argmax(1), names, name=f"{point.curve}:held-out", split="val")
            model, fitted = train_until_converged(train, val, cfg=settings.cfg, settings=training,
                                                  stopping=settings.stopping, seed=point.seed, device=settings.device)
            converged = {"epochs": fitted.epochs_run, "best_epoch": fitted.best_epoch,
                         "val_accuracy": fitted.best_val_accuracy, "stopped_early": fitted.stopped_early,
                         "n_val": len(val)}
        acc = accuracy(model, test)
    finally:
        torch.set_num_threads(previous)
    return {"curve": point.curve, "n_per_class": point.n_per_class, "seed": point.seed, "data_id": point.data_id,
            **point.protocol, "accuracy": acc, "n_train": len(train), "n_test": len(test), **converged,
            "key": point.key(), "wall_s": round(time.perf_counter() - t0, 3)}


def read_records(path: str | Path) -> list[dict]:
    """Records of a JSON-lines file (empty when it does not exist); a damaged line is dropped with a warning,
    so its point is trained again and the file rewritten without it."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        try:
            rec = json.loads(line) if line.strip() else None
        except ValueError:
            rec = False
        if rec is False or (rec is not None and not (isinstance(rec, dict) and "key" in rec)):
            warnings.warn(f"{path}, line {i}: damaged saturation record dropped; its point is trained again",
                          stacklevel=2)
        elif rec is not None:
            records.append(rec)
    return records


def _write_records(path: Path, records: list[dict]) -> None:
    atomic_write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records), path)


def pool_id(pool: ImageDataset, test: ImageDataset, val: ImageDataset | None = None) -> str:
    """sha256 prefix of a pool's images and targets, of its held-out split (if any) and of the test set."""
    parts = [images_sha256(pool.images), images_sha256(pool.targets()), images_sha256(test.images),
             images_sha256(test.labels)]
    if val is not None:
        parts += [images_sha256(val.images), images_sha256(val.targets())]
    return cache_key({"parts": parts})[:16]


def hold_out(pool: ImageDataset, n_per_class: int, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """(the rest, `n_per_class` held-out images per class): a pool split for early stopping, disjoint, seeded.

    Subsets of a point are drawn from the rest only, so the split that picks the epoch never trains it.
    """
    held = balanced_indices(pool.labels, n_per_class, pool.num_classes, seed)
    rest = np.setdiff1d(np.arange(len(pool)), held)
    return pool.subset(rest), pool.subset(np.sort(held), split="val")


def hold_out_all(pools: Mapping[str, ImageDataset], n_per_class: int, seed: int = 0
                 ) -> tuple[dict[str, ImageDataset], dict[str, ImageDataset]]:
    """`hold_out` of every pool: (name -> the rest, name -> its held-out split)."""
    split = {name: hold_out(pool, n_per_class, seed) for name, pool in pools.items()}
    return {k: v[0] for k, v in split.items()}, {k: v[1] for k, v in split.items()}


def plan_points(pools: Mapping[str, ImageDataset], test: ImageDataset,
                sizes: Mapping[str, Sequence[int]] | Sequence[int],
                seeds: int | Sequence[int], settings: SaturationSettings,
                val: Mapping[str, ImageDataset] | None = None, one_seed_from: int = 0) -> list[SaturationPoint]:
    """Every (curve, n_per_class, seed) point (only the first seed at sizes from `one_seed_from` on, when it is
    set); errors when a pool has too few images of some class, or when early stopping has no proper held-out
    split for a pool."""
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    protocol = _protocol(settings)
    val = dict(val or {}) if settings.stopping is not None else {}
    missing = [c for c in pools if c not in val] if settings.stopping is not None else []
    if missing:
        raise ValueError(f"early stopping needs a held-out split of every pool; none for {missing} "
                         "(`hold_out` splits one off a pool)")
    for curve, v in val.items():
        if v.split == "test" or images_sha256(v.images) == images_sha256(test.images):
            raise ValueError(f"the held-out split of {curve!r} is the test set; split one off the pool (`hold_out`)")
    points = []
    for curve, pool in pools.items():
        grid = sizes[curve] if isinstance(sizes, Mapping) else sizes
        most = int(pool.class_counts().min())
        too_big = [n for n in grid if n > most]
        if too_big:
            raise ValueError(f"pool {curve!r} has only {most} images in its smallest class; sizes {too_big} are "
                             "too large: generate more images or shorten the grid")
        if pool.shape != test.shape or pool.num_classes != test.num_classes:
            raise ValueError(f"pool {curve!r} ({pool.shape}, {pool.num_classes} classes) does not match the test "
                             f"set ({test.shape}, {test.num_classes} classes)")
        pid = pool_id(pool, test, val.get(curve))
        points += [SaturationPoint(curve, int(n), int(s), pid, protocol) for n in grid
                   for s in (seeds[:1] if one_seed_from and n >= one_seed_from else seeds)]
    return points


def saturation_curves(pools: Mapping[str, ImageDataset], test: ImageDataset,
                      sizes: Mapping[str, Sequence[int]] | Sequence[int], *, seeds: int | Sequence[int] = 3,
                      settings: SaturationSettings = SaturationSettings(), executor: cf.Executor | None = None,
                      workers: int | None = 1, path: str | Path | None = None, max_in_flight: int | None = None,
                      progress: bool | None = None, scheduler: str = "",
                      val: Mapping[str, ImageDataset] | None = None, one_seed_from: int = 0) -> pd.DataFrame:
    """Accuracy on `test` of classifiers trained on n images per class of each pool, for every size and seed.

    Args:
        pools: curve name -> labelled dataset to subsample ("real": the real training set; a model: a large
            generated set from `labkit.generate`, soft labels used as targets when present).
        test: the real test set every classifier is scored on.
        sizes: images per class, one grid for all pools or one per pool name.
        seeds: number of seeds (0, 1, ...) or the seeds; a seed picks the subset and the classifier init.
        settings: the training protocol of a point (`SaturationSettings`).
        executor: any `concurrent.futures.Executor`; None: the Dask cluster `scheduler` names, else a local
            process pool of `workers` processes (spawned, one torch thread each), or this process when `workers` is 1.
        workers: size of the local pool (None: the CPU count).
        scheduler: `tcp://HOST:PORT` or `local:N` (see `labkit.core.cluster`); "": no cluster.
        path: JSON-lines file of finished points (e.g. `<run>/saturation.jsonl`): points already there are
            skipped, each new one is added as it finishes (atomic rewrite).
        max_in_flight: points submitted at once (bounds the memory of their subsets held for sending);
            default 2 × workers for the local pool, 16 for a given executor (raise it for a large cluster).
        val: curve name -> the pool's held-out split (`hold_out`; the pool given is then the rest), which early
            stopping scores; needed for every pool when `settings.stopping` is set.
        one_seed_from: sizes from this one on train the first seed only (their cost grows with the size); 0: all
            seeds everywhere. Their mean then has no ± of its own.

    Returns:
        one row per point (sorted by curve, n_per_class, seed): accuracy, protocol, wall_s;
        `attrs["computed"]` and `attrs["skipped"]` count new and reused points.
    """
    points = plan_points(pools, test, sizes, seeds, settings, val, one_seed_from)
    held = {c: (v.images, v.targets()) for c, v in (val or {}).items()} if settings.stopping is not None else {}
    path = Path(path) if path else None
    stored = read_records(path) if path else []
    done = {r["key"]: r for r in stored}
    todo = [p for p in points if p.key() not in done]
    todo.sort(key=lambda p: (p.seed, -p.n_per_class))  # seed by seed (a partial run covers every size), longest first
    workers = workers or os.cpu_count() or 1
    records = list(stored)
    bar = progress_bar(total=len(todo), progress=progress, desc="saturation points")
    targets = {c: p.targets() for c, p in pools.items()}
    with contextlib.ExitStack() as stack:
        stack.callback(bar.close)
        if executor is None and todo and scheduler:
            executor = stack.enter_context(executor_for(scheduler))
        elif executor is None and todo and workers > 1:
            executor = stack.enter_context(cf.ProcessPoolExecutor(
                max_workers=min(workers, len(todo)), mp_context=multiprocessing.get_context("spawn")))
            max_in_flight = max_in_flight or 2 * workers
        calls = (_arguments(p, pools, targets, held, test, settings) for p in todo)
        for _, record in run_all(train_point, calls, executor, max_in_flight or 16):
            records.append(record)
            if path:
                _write_records(path, records)
            bar.update(1)
    wanted = {p.key() for p in points}
    mine = [r for r in records if r["key"] in wanted]
    df = pd.DataFrame(mine).sort_values(["curve", "n_per_class", "seed"]).reset_index(drop=True)
    df.attrs.update(computed=len(todo), skipped=len(points) - len(todo))
    return df


def _arguments(p: SaturationPoint, pools, targets, held, test, settings):
    pool = pools[p.curve]
    idx = torch.as_tensor(balanced_indices(pool.labels, p.n_per_class, pool.num_classes, p.seed))
    return (p, pool.images[idx], targets[p.curve][idx], test.images, test.labels, settings,
            *held.get(p.curve, (None, None)))


def summarize(records: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof 1) and count of accuracy per (curve, n_per_class)."""
    g = records.groupby(["curve", "n_per_class"])["accuracy"]
    return g.agg(mean="mean", std="std", count="count").reset_index()


def strip_timing(record: dict) -> dict:
    """A record without its timing fields: what two runs of the same point must agree on."""
    return {k: v for k, v in record.items() if k not in TIMING_FIELDS}


def plot_saturation(records: pd.DataFrame, estimates: Sequence[EffectiveSize] = (), real: str = "real", ax=None,
                    title: str | None = None):
    """Mean ± std bands of accuracy against images per class (log x), real curve dashed, plateaus marked."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    by_curve = {e.curve: e for e in estimates}
    for name, sub in records.groupby("curve", sort=False):
        sns.lineplot(data=sub, x="n_per_class", y="accuracy", errorbar="sd", marker="o", label=name,
                     linestyle="--" if name == real else "-", ax=ax)
        colour = ax.get_lines()[-1].get_color()
        e = by_curve.get(name)
        if e is not None:
            ax.axhline(e.plateau, ls=":", lw=1, color=colour)
            if e.status == "ok":
                ax.axvline(e.n_effective, ls=":", lw=1, color=colour)
    ax.set_xscale("log")
    sizes, labels, last = sorted(records["n_per_class"].unique()), [], -np.inf
    for n in sizes:  # label a size unless it crowds the previous label
        labels.append(str(n) if np.log10(n) - last >= 0.35 else "")
        last = np.log10(n) if labels[-1] else last
    ax.set_xticks(sizes, labels)
    ax.minorticks_off()
    ax.set_xlabel("training images per class")
    ax.set_ylabel("accuracy on the real test set")
    ax.set_title(title or "diversity saturation (mean ± std over seeds)")
    ax.figure.tight_layout()
    return ax.figure


def saturation_records(points: pd.DataFrame, estimates: Sequence[EffectiveSize],
                       left_out: Mapping[str, str] | None = None) -> list[MetricRecord]:
    """What notebook 05 records, tagged `experiment="saturation"`: mean ± std accuracy per curve and size, each
    curve's plateau, effective size (with its band and status) and saturation point, and the pools left out."""
    out = [MetricRecord("saturation_accuracy", row.mean, row.std, protocol={"curve": row.curve,
                                                                           "n_per_class": row.n_per_class})
           for row in summarize(points).itertuples()]
    if "epochs" in points:  # trained to convergence: how long each (curve, size) trained, how often patience ran out
        for (curve, n), g in points.groupby(["curve", "n_per_class"]):
            out.append(MetricRecord("saturation_epochs", float(g["epochs"].mean()), float(g["epochs"].std()),
                                    protocol={"curve": curve, "n_per_class": int(n),
                                              "stopped_early": float(g["stopped_early"].astype(float).mean())}))
    for e in estimates:
        out += [MetricRecord("plateau_accuracy", e.plateau, e.plateau_std, protocol={"curve": e.curve}),
                MetricRecord("effective_size", e.n_effective, protocol={
                    "curve": e.curve, "low": e.low, "high": e.high, "status": e.status, "shown": e.text,
                    "real_min": e.real_min, "real_max": e.real_max, "band_from": e.band_from}),
                MetricRecord("saturation_n", e.saturation_n, protocol={"curve": e.curve, "saturated": e.saturated})]
    out += [MetricRecord("pool_failed", 1, protocol={"curve": name, "reason": why})
            for name, why in (left_out or {}).items()]
    return tagged(out, "saturation")
