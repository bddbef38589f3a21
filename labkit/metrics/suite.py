"""The metric suite: every metric `evaluate` can compute on one generated set, registered by name.

A suite metric is a function of one `Repeat` (a generated set against the reference, in one evaluation
space, with its seed) returning `{record name: value}`; `register` adds it with the feature space its
records name. Adding a metric to `evaluate` is adding one function here (stylegan2-ada's `register_metric`).
A value may be an array of per-image values: the record's value is their mean, and its ± is over images
when the metric's entry in `names` says so (LAP, as in the VAE paper).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from ..data.dataset import ImageDataset
from ..features import extract
from ..models.classifier import ClassifierConfig
from ..train.classifier import ClassifierTraining
from .classifier import gan_test, gan_train
from .cmmd import cmmd
from .fid import frechet_distance
from .inception_score import inception_score
from .kid import kid
from .knn import prdc
from .lpips import lpips_diversity, lpips_to_real
from .prd import prd
from .sharpness import laplacian_variance
from .swd import swd


@dataclass(frozen=True)
class SuiteMetric:
    """One registered metric: how to compute it and which space its records name.

    Args:
        name: the suite name (`fid`, `prdc`); it may record several numbers (`precision`, `recall`, ...).
        compute: `Repeat -> {record name: value}`; an empty dict when it does not apply to this set.
        space: the space its records name: "features" (FID's space), "probs" (IS's softmax network), "cmmd",
            "distance" (the perceptual distance) or "" (pixels, or a protocol of its own).
        protocol: `Repeat -> extra protocol fields` of its records (GAN-train's training recipe).
    """

    name: str
    compute: Callable[["Repeat"], dict[str, Any]]
    space: str = ""
    protocol: Callable[["Repeat"], dict[str, Any]] | None = None


SUITE: dict[str, SuiteMetric] = {}


def register(name: str, space: str = "", protocol: Callable[["Repeat"], dict] | None = None):
    """Decorator: add `compute(repeat) -> {record name: value}` to the suite under `name`."""
    def wrap(fn):
        SUITE[name] = SuiteMetric(name, fn, space, protocol)
        return fn
    return wrap


@dataclass
class Repeat:
    """One generated set against the reference in an evaluation space; features are extracted once, lazily.

    Args:
        fake: the generated set (canonical order); reference: the real set; seed: this repeat's seed.
        space: the `EvalSpace` (classifier, feature extractors, distance, device); settings: `EvalSettings`.
        reference_features / reference_cmmd: (N_r, D) cached features of the reference.
    """

    fake: ImageDataset
    reference: ImageDataset
    seed: int
    space: Any
    settings: Any
    reference_features: np.ndarray | None
    reference_cmmd: np.ndarray | None

    @cached_property
    def images(self) -> torch.Tensor:
        return self.fake.float()  # (N, C, H, W)

    @cached_property
    def features(self) -> np.ndarray:
        return extract(self.space.features, self.images, device=self.space.device, progress=self.space.progress)

    @cached_property
    def probs(self) -> np.ndarray:
        return extract(self.space.probs, self.images, what="probs", device=self.space.device,
                       progress=self.space.progress)


def _subsets(rng: np.random.Generator, ref: np.ndarray, fake: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (not leading) rows of each set: n of the reference, n of the generated set."""
    return ref[np.sort(rng.choice(len(ref), n, replace=False))], fake[np.sort(rng.choice(len(fake), n, replace=False))]


@register("lap")
def _lap(r: Repeat) -> dict[str, Any]:
    return {"lap": laplacian_variance(r.images)}  # (N,) per image: ± over images


@register("is", space="probs")
def _is(r: Repeat) -> dict[str, Any]:
    return {"is": inception_score(r.probs, splits=min(10, len(r.images)), seed=r.seed)[0]}


@register("fid", space="features")
def _fid(r: Repeat) -> dict[str, Any]:
    return {"fid": frechet_distance(r.reference_features, r.features)}


def fid_small_name(n: int) -> str:
    """FID on n random real against n random generated images: `fid_5k`, `fid_2000`."""
    return f"fid_{n // 1000}k" if n % 1000 == 0 else f"fid_{n}"


@register("fid_small", space="features")
def _fid_small(r: Repeat) -> dict[str, Any]:
    n = r.settings.n_small
    if min(len(r.reference_features), len(r.features)) < n:
        return {}
    rng = np.random.default_rng(r.seed)
    ref = r.reference_features[rng.choice(len(r.reference_features), n, replace=False)]
    return {fid_small_name(n): frechet_distance(ref, r.features[rng.choice(len(r.features), n, replace=False)])}


@register("kid", space="features")
def _kid(r: Repeat) -> dict[str, Any]:
    size = min(r.settings.kid_subset_size, len(r.reference_features), len(r.features))
    return {"kid": kid(r.reference_features, r.features, subset_size=size, n_subsets=r.settings.kid_subsets,
                       seed=r.seed)[0]}


@register("prd", space="features")
def _prd(r: Repeat) -> dict[str, Any]:
    n = min(len(r.reference_features), len(r.features))
    ref, fake = _subsets(np.random.default_rng(r.seed), r.reference_features, r.features, n)
    curve = prd(ref, fake, num_clusters=min(20, n), num_runs=r.settings.prd_runs, seed=r.seed)
    return {"prd_f8": curve.f_beta, "prd_f1_8": curve.f_beta_inv}


@register("prdc", space="features")
def _prdc(r: Repeat) -> dict[str, Any]:
    return prdc(r.reference_features, r.features, k=r.settings.k)


def cmmd_name(space_name: str) -> str:
    """CMMD's record name in a feature space: `cmmd` for CLIP (the paper's), `cmmd_<space>` otherwise."""
    return "cmmd" if space_name == "clip" else f"cmmd_{space_name}"


@register("cmmd", space="cmmd")
def _cmmd(r: Repeat) -> dict[str, Any]:
    if r.space.cmmd is None:
        return {}
    fake = extract(r.space.cmmd, r.images, device=r.space.device, progress=r.space.progress)
    return {cmmd_name(r.space.cmmd.identity["extractor"]): cmmd(r.reference_cmmd, fake)}


def _gan_train_protocol(r: Repeat) -> dict[str, Any]:
    s: ClassifierTraining = r.settings.gan_train
    return {"steps": s.steps, "epochs": None if s.steps else s.epochs, "batch_size": s.batch_size, "lr": s.lr,
            "widths": list(_gan_train_cfg(r).widths), "labels": "soft" if r.fake.soft_labels is not None else "hard"}


def _gan_train_cfg(r: Repeat) -> ClassifierConfig:
    """GAN-train's classifier: C1's architecture for the data's geometry, or `settings.gan_train_widths`."""
    c, h, _ = r.fake.shape
    widths = {"widths": tuple(r.settings.gan_train_widths)} if r.settings.gan_train_widths else {}
    return ClassifierConfig(channels=c, image_size=h, num_classes=r.fake.num_classes, **widths)


@register("gan_train", protocol=_gan_train_protocol)
def _gan_train(r: Repeat) -> dict[str, Any]:
    return {"gan_train": gan_train(r.fake, r.reference, settings=r.settings.gan_train, seed=r.seed,
                                   cfg=_gan_train_cfg(r), device=r.space.device).value}


@register("gan_test", space="classifier")
def _gan_test(r: Repeat) -> dict[str, Any]:
    """Only where the labels are not the classifier's own (then it is trivially about 1), unless forced."""
    mode = r.settings.gan_test_mode
    if not (mode if mode is not None else r.fake.info.get("labelled_by") != "classifier"):
        return {}
    return {"gan_test": gan_test(r.space.classifier, r.fake)}


def _pairs_protocol(r: Repeat) -> dict[str, Any]:
    return {"n_pairs": r.settings.n_pairs}


@register("lpips_to_real", space="distance", protocol=_pairs_protocol)
def _lpips_to_real(r: Repeat) -> dict[str, Any]:
    return {"lpips_to_real": lpips_to_real(r.reference.float(), r.images, r.space.distance,
                                           n_pairs=r.settings.n_pairs, seed=r.seed).value}


@register("lpips_diversity", space="distance", protocol=_pairs_protocol)
def _lpips_diversity(r: Repeat) -> dict[str, Any]:
    return {"lpips_diversity": lpips_diversity(r.images, r.space.distance, n_pairs=r.settings.n_pairs,
                                               seed=r.seed).value}


def _swd_protocol(r: Repeat) -> dict[str, Any]:
    return {"n_images": r.settings.swd_images, **{k: v for k, v in r.settings.swd_kwargs.items()}}


@register("swd", protocol=_swd_protocol)
def _swd(r: Repeat) -> dict[str, Any]:
    n = r.settings.swd_images
    rng = np.random.default_rng(r.seed)
    real = r.reference.float()[np.sort(rng.choice(len(r.reference), min(n, len(r.reference)), replace=False))]
    fake = r.images[np.sort(rng.choice(len(r.fake), min(n, len(r.fake)), replace=False))]  # random, not leading
    return {"swd": swd(real, fake, seed=r.seed, **{"device": "cpu", **r.settings.swd_kwargs}).value}


def space_fields(module: nn.Module | None) -> dict[str, str]:
    """The protocol fields naming a feature space or distance: its name and weights digest."""
    if module is None:
        return {}
    identity = getattr(module, "identity", None)
    if identity is None:  # a perceptual distance
        return {"distance": str(getattr(module, "name", type(module).__name__))}
    return {"extractor": identity["extractor"], "extractor_sha256": identity.get("weights_sha256", "")}
