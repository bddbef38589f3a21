"""The GAN comparison table: every GAN on the same budget, the papers' metrics and the convergence verdicts.

One row per generator: IS, FID, PRD F8 / F1/8, k-NN precision / recall / density / coverage and CMMD
from `labkit.metrics.evaluate`, plus LPIPS to real images (mean distance of generated to real images in
random pairs, lower = closer: the controlled-generation paper's LPIPS), pair-diversity (mean distance
between random pairs of samples, higher = more diverse), perceptual path length (lower = smoother) and,
optionally, SWD; beside them the verdicts of notebook 03 (diverged, converged, reason, smallest class
share). A generator whose samples cannot be evaluated (NaN) keeps its row, with the reason in `error`.

Choices, all in the records' protocol:
- Samples are the generator's own distribution: unconditional ones are labelled by the evaluation
  classifier's argmax but not class-balanced (balancing by rejection would hide mode dropping);
  conditional ones get balanced labels. Repeat r uses seed `seed + r`.
- The perceptual distance defaults to the offline `lpips-classifier` (the evaluation classifier's
  normalised activations); "vgg"/"alex" need their local backbone weights, "auto" takes VGG when
  present. The table names the distance it used.
- CMMD uses CLIP when its weights load; otherwise the evaluation classifier's features, and the
  metric is then called `cmmd_classifier` so it is never mistaken for the CLIP number.
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from .data.dataset import ImageDataset
from .features import ClassifierFeatures, WeightsNotFoundError, get_extractor
from .metrics._order import canonical_dataset
from .metrics.evaluate import SamplingError, evaluate, sample_labelled
from .metrics.lpips import distance_name, lpips_diversity, lpips_to_real, make_distance
from .metrics.ppl import perceptual_path_length
from .metrics.record import MetricRecord
from .metrics.swd import swd
from .runtime import atomic_write_json

SHARED_METRICS = ("is", "fid", "prd", "prdc", "cmmd")  # computed by `metrics.evaluate`
VERDICT_COLUMNS = ("diverged", "converged", "reason", "min_class_share")
# Display order; `cmmd_classifier` replaces `cmmd` when CLIP weights are absent.
COLUMNS = ("is", "fid", "lpips_to_real", "lpips_diversity", "ppl", "cmmd", "cmmd_classifier", "prd_f8", "prd_f1_8",
           "precision", "recall", "density", "coverage", "swd", "kid", "gan_train", "gan_test")


def summarise_verdicts(results: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The JSON-safe part of `gan_training.assess` results that the table shows, per variant."""
    keep = ("diverged", "converged", "reason", "min_class_share", "gan_test", "diversity_ratio", "nn_ratio", "wall_s")
    out = {}
    for variant, a in results.items():
        row = {k: a.get(k) for k in keep}
        out[variant] = {k: v if v is None or isinstance(v, str) else int(v) if k in ("diverged", "converged")
                        else float(v) for k, v in row.items()}
    return out


def save_verdicts(results: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Write `summarise_verdicts(results)` to a JSON file atomically (notebook 03's `convergence` artefact)."""
    return atomic_write_json(summarise_verdicts(results), path)


def load_verdicts(paths: str | Path | Mapping[str, str | Path] | None) -> dict[str, dict[str, Any]]:
    """Verdicts written by `save_verdicts`: one file, or several (e.g. {variant: file}, one per training run)
    merged; an empty dict for none."""
    if not paths:
        return {}
    files = paths.values() if isinstance(paths, Mapping) else [paths]
    return {variant: v for f in files for variant, v in json.loads(Path(f).read_text()).items()}


def resolve_distance(kind: str, classifier: nn.Module, device: str | torch.device = "auto") -> nn.Module:
    """The perceptual distance: "classifier" (offline), "alex", "vgg", "pixel", or "auto" (VGG if its weights load)."""
    if kind == "auto":
        try:
            return make_distance("vgg", device=device)
        except (WeightsNotFoundError, ImportError):
            kind = "classifier"
    return make_distance(kind, classifier=classifier, device=device)


def resolve_cmmd_space(spec: Any, classifier: nn.Module) -> tuple[nn.Module | None, str]:
    """CMMD's extractor and feature space name: CLIP when it loads, else the evaluation classifier's features.

    Args:
        spec: "clip", {"name": "clip", "weights_path": ...}, another extractor name or module, or None (no CMMD).
    """
    if spec is None:
        return None, ""
    if spec == "classifier":
        ex = ClassifierFeatures(model=classifier)
    else:
        try:
            ex = get_extractor(**spec) if isinstance(spec, dict) else get_extractor(spec)
        except (WeightsNotFoundError, ImportError):
            ex = ClassifierFeatures(model=classifier)
    return ex, ex.identity["extractor"]


def _draws(model: nn.Module, classifier: nn.Module, n: int, seeds: list[int]) -> dict[int, ImageDataset]:
    """One generated set per seed, sampled once and shared by every metric of the row, in canonical order."""
    return {s: canonical_dataset(sample_labelled(model, classifier, n, s)) for s in seeds}


def gan_table(generators: Mapping[str, nn.Module], reference: ImageDataset, *, classifier: nn.Module,
              verdicts: Mapping[str, Mapping[str, Any]] | None = None, n_fake: int = 2000, repeats: int = 1,
              seed: int = 0, n_pairs: int = 1000, n_paths: int = 1000, epsilon: float = 1e-4,
              interpolation: str = "slerp", sampling: str = "full", distance: str = "classifier",
              cmmd_extractor: Any = "clip", swd_images: int = 0, swd_kwargs: Mapping[str, Any] | None = None,
              extractor: str = "classifier", metrics: tuple[str, ...] = SHARED_METRICS, prd_runs: int = 10, k: int = 5,
              device: str | torch.device = "auto", cache: bool = True, **evaluate_kw) -> pd.DataFrame:
    """One row per generator: IS, FID, LPIPS to real, pair-diversity, PPL, CMMD, PRD, k-NN metrics (SWD), verdicts.

    Args:
        generators: name -> generator with `sample(n, generator=, labels=)` (images in [0, 1]) and a latent
            map for PPL (see `labkit.metrics.ppl`); names should match the keys of `verdicts`.
        reference: the real test set (ImageDataset).
        classifier: the evaluation classifier (IS, features, labels of unconditional samples, offline distance).
        verdicts: variant -> notebook 03 verdict (`load_verdicts`); missing names get empty verdict columns.
        n_fake: generated images per repeat. repeats: generated sets, seeds `seed + r`.
        n_pairs: random pairs of LPIPS to real and of pair-diversity per repeat (seeded by the repeat's seed).
        n_paths, epsilon, interpolation, sampling: PPL protocol (once per generator, seed `seed`).
        distance: perceptual distance of LPIPS to real, diversity and PPL ("classifier", "alex", "vgg", "pixel",
            "auto"); only "alex" and "vgg" give the paper's LPIPS, the others a surrogate.
        cmmd_extractor: CMMD space ("clip" falls back to the classifier's features when absent); None: no CMMD.
        swd_images: > 0 adds SWD between that many real and generated images (28×28 and up), per repeat.
        swd_kwargs: further `labkit.metrics.swd` arguments (patch_size, levels, projections, ...).
        extractor: feature space of FID, PRD and k-NN metrics. metrics: what `evaluate` computes
            (`SHARED_METRICS`; add "kid", "gan_train", "gan_test" at will).
        prd_runs, k: PRD k-means runs, k of the k-NN metrics.
        evaluate_kw: further `metrics.evaluate` arguments (gan_train_settings=, kid_subsets=, n_small=, ...).

    Returns:
        DataFrame indexed by name: metric columns, `<metric>_std`, the verdict columns, `distance`,
        `cmmd_space`, `wall_s`; `attrs["records"]` holds a `MetricRecord` per number, with its protocol.
    """
    verdicts = verdicts or {}
    dist = resolve_distance(distance, classifier, device)
    cm, space = resolve_cmmd_space(cmmd_extractor, classifier) if "cmmd" in metrics else (None, "")
    seeds = [seed + r for r in range(repeats)]
    rows, records = [], []
    for name, model in generators.items():
        start = time.perf_counter()
        v = verdicts.get(name, {})
        try:
            draws = _draws(model, classifier, n_fake, seeds)
        except SamplingError as e:  # e.g. a diverged generator's NaN samples: its row stays, with the reason
            warnings.warn(f"{name} not evaluated: {e}", stacklevel=2)
            rows.append({"model": name, "error": str(e), **{c: v.get(c) for c in VERDICT_COLUMNS}, "n_fake": n_fake,
                         "repeats": repeats, "wall_s": time.perf_counter() - start})
            records += [MetricRecord("error", str(e), protocol={"model": name, "repeats": repeats})]
            records += _verdict_records(name, v)
            continue
        df = evaluate({name: lambda s: draws[s]}, reference, classifier=classifier, extractor=extractor,
                      n_fake=n_fake, repeats=repeats, seed=seed, metrics=metrics, prd_runs=prd_runs, k=k,
                      cmmd_extractor=cm, device=device, cache=cache, **evaluate_kw)
        row = df.iloc[0].to_dict()
        base = {key: row[key] for key in ("extractor", "reference", "split", "n_real") if key in row}
        recs = [_rename_cmmd(r, space) for r in df.attrs["records"]]
        recs.append(_to_real(reference, draws, dist, n_pairs, name, base))
        recs.append(_diversity(draws, dist, n_pairs, name, base))
        recs.append(_ppl(model, dist, name, base, n_paths=n_paths, epsilon=epsilon, interpolation=interpolation,
                         sampling=sampling, seed=seed))
        if swd_images > 0:
            recs.append(_swd(reference, draws, swd_images, name, base, **(swd_kwargs or {})))
        out = {"model": name}
        for rec in recs:
            out[rec.metric], out[f"{rec.metric}_std"] = rec.value, rec.std
        out.update({c: v.get(c) for c in VERDICT_COLUMNS})
        out.update(distance=distance_name(dist), cmmd_space=space, n_fake=n_fake, repeats=repeats,
                   wall_s=time.perf_counter() - start)
        rows.append(out)
        records += recs + _verdict_records(name, v)
    table = pd.DataFrame(rows).set_index("model")
    table.attrs["records"] = records
    return table


def cmmd_metric(space: str) -> str:
    """CMMD's metric name in a feature space: `cmmd` for CLIP (the paper's), `cmmd_<space>` otherwise."""
    return "cmmd" if space == "clip" else f"cmmd_{space}"


def _rename_cmmd(rec: MetricRecord, space: str) -> MetricRecord:
    """evaluate's CMMD record, named after its feature space (`cmmd_classifier` without CLIP) so that it is never
    read as the CLIP number."""
    if rec.metric != "cmmd":
        return rec
    return replace(rec, metric=cmmd_metric(space), protocol={**rec.protocol, "extractor": space})


def _to_real(reference: ImageDataset, draws: dict[int, ImageDataset], dist: nn.Module, n_pairs: int, name: str,
             base: dict) -> MetricRecord:
    real = reference.float()
    results = [lpips_to_real(real, ds.float(), dist, n_pairs=n_pairs, seed=s) for s, ds in draws.items()]
    r0 = results[0]
    return MetricRecord.from_values("lpips_to_real", [r.value for r in results], model=name, n_pairs=n_pairs,
                                    n_images=r0.n_fake, seeds=list(draws), distance=r0.distance, std_over="repeats",
                                    **base)


def _diversity(draws: dict[int, ImageDataset], dist: nn.Module, n_pairs: int, name: str, base: dict) -> MetricRecord:
    results = [lpips_diversity(ds.float(), dist, n_pairs=n_pairs, seed=s) for s, ds in draws.items()]
    r0 = results[0]
    return MetricRecord.from_values("lpips_diversity", [r.value for r in results], model=name, n_pairs=n_pairs,
                                    n_images=r0.n_images, seeds=list(draws), distance=r0.distance,
                                    std_over="repeats", **base)


def _ppl(model: nn.Module, dist: nn.Module, name: str, base: dict, **kw) -> MetricRecord:
    """PPL once per generator, where the generator lives; its ± is the standard deviation over the kept paths."""
    r = perceptual_path_length(model, dist, **kw)
    return MetricRecord("ppl", r.value, r.std, (r.value,), {"model": name, **r.protocol(), "std_over": "paths",
                                                            **{k: v for k, v in base.items() if k != "extractor"}})


def _swd(reference: ImageDataset, draws: dict[int, ImageDataset], n: int, name: str, base: dict,
         **kw) -> MetricRecord:
    values, proto = [], {}
    for s, ds in draws.items():
        rng = np.random.default_rng(s)
        real = reference.float()[np.sort(rng.choice(len(reference), min(n, len(reference)), replace=False))]
        fake = ds.float()[np.sort(rng.choice(len(ds), min(n, len(ds)), replace=False))]  # random, not leading, rows
        res = swd(real, fake, seed=s, **{"device": "cpu", **kw})
        values.append(res.value)
        proto = res.protocol()
    proto.pop("seed", None)
    return MetricRecord.from_values("swd", values, model=name, seeds=list(draws), std_over="repeats", **proto,
                                    **{k: v for k, v in base.items() if k not in ("extractor", "n_real")})


def _verdict_records(name: str, v: Mapping[str, Any]) -> list[MetricRecord]:
    """Notebook 03's verdict numbers, so the GAN table can be rebuilt from records alone."""
    protocol = {"model": name, "source": "03_train_gan", "reason": v.get("reason", "")}
    return [MetricRecord(m, float(v[m]), protocol=protocol)
            for m in ("diverged", "converged", "min_class_share") if v.get(m) is not None]


def shown(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The table for reading: `mean ± std` cells for the metric columns under their labels, then the verdicts."""
    from .evaluation_tables import shown as mean_std_cells

    out = mean_std_cells(table, [c for c in COLUMNS if c in table], digits)  # every metric has its _std column
    for c in (*VERDICT_COLUMNS, "wall_s"):
        if c in table:
            out[c] = table[c].round(1) if c == "wall_s" else table[c]
    return out
