"""Several GAN variants trained on one budget and judged by the same convergence checks (notebook 03)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from ..core import plots
from ..data.dataset import ImageDataset
from .gan import GANRun, assess, export_generator, snapshot_figure, train_gan


def generator_file(variant: str, main: str) -> str:
    """Where a variant's generator goes: `generator.pt` for the main variant, `generator-<variant>.pt` otherwise."""
    return "generator.pt" if variant == main else f"generator-{variant}.pt"


def train_variants(train: ImageDataset, steps: Mapping[str, int], *, main: str, real: ImageDataset,
                   out: str | Path, classifier: torch.nn.Module | None = None, n_eval: int = 10_000, seed: int = 0,
                   device: str | torch.device = "auto") -> tuple[dict[str, GANRun], dict[str, dict[str, Any]]]:
    """Train each variant for its `steps`, export its generator into `out`, draw its snapshots and assess it.

    The `main` variant trains with a resumable checkpoint (`out/training.pt`) and also gets a loss figure.
    Returns the runs and the `assess` results, both by variant.
    """
    out = Path(out)
    runs, results = {}, {}
    for variant, n in steps.items():
        checkpoint = out / "training.pt" if variant == main else None
        r = train_gan(train, variant, steps=n, seed=seed, device=device, checkpoint=checkpoint)
        export_generator(r, out / generator_file(variant, main))
        if r.result is not None:
            suffix = "" if variant == main else f"-{variant}"
            plots.save(snapshot_figure(r.task.snapshots), out / f"snapshots{suffix}.png")
            if variant == main:
                plots.save(plots.curves(r.result.steps, "step", ["d_loss", "g_loss", "wasserstein", "critic_gap"],
                                        title=f"{variant} losses"), out / "losses.png")
        runs[variant], results[variant] = r, assess(r, real, classifier=classifier, n=n_eval, seed=seed)
    return runs, results
