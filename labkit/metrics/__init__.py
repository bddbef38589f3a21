"""Metrics: pure functions on images or (N, D) feature arrays; two-sample metrics take (real, fake).

One metric per module: sharpness (LAP), inception_score, fid, kid, prd, knn (precision/recall/density/
coverage), cmmd, classifier (GAN-train / GAN-test), then `evaluate`, which extracts features, caches
the reference's and returns one row per model. Perceptual metrics: lpips (LPIPS, the offline classifier
distance, LPIPS to real images, pair diversity), ppl (perceptual path length), swd. Diversity-saturation curves
are an experiment (`labkit.experiments.saturation`); `names` holds every metric's label, definition and
direction, and `suite` the metrics `evaluate` can run, registered by name.

Every metric is a function of the sets it is given, not of the order of their rows: rows are put in a
canonical order first (`_order`), and seeded splits, subsets and pairs are drawn after that.
"""
from ..core.record import MetricRecord
from .classifier import GAN_TRAIN_SETTINGS, gan_test, gan_train, gan_train_sklearn
from .cmmd import cmmd
from .evaluate import ALL_METRICS, EvalSettings, EvalSpace, evaluate
from .fid import GaussianStats, feature_statistics, frechet_distance, frechet_distance_from_stats
from .inception_score import inception_score
from .kid import kid
from .knn import prdc
from .lpips import (
                    LPIPS,
                    ClassifierDistance,
                    DiversityResult,
                    PixelDistance,
                    ToRealResult,
                    lpips_diversity,
                    lpips_to_real,
                    make_distance,
                    paired_distance,
)
from .ppl import PPLProtocol, PPLResult, perceptual_path_length, ppl
from .prd import PRDCurve, prd, prd_from_histograms
from .sharpness import laplacian_variance
from .suite import SUITE
from .swd import SWDResult, swd

__all__ = [
    # pure metrics on images or features
    "laplacian_variance", "inception_score", "frechet_distance", "kid", "prd", "prdc", "cmmd", "swd",
    "GaussianStats", "feature_statistics", "frechet_distance_from_stats", "PRDCurve", "prd_from_histograms",
    # perceptual distances and what is measured with them
    "LPIPS", "ClassifierDistance", "PixelDistance", "make_distance", "paired_distance", "lpips_diversity",
    "DiversityResult", "lpips_to_real", "ToRealResult", "perceptual_path_length", "ppl", "PPLProtocol", "PPLResult",
    "SWDResult",
    # classifier-based metrics
    "gan_train", "gan_test", "gan_train_sklearn", "GAN_TRAIN_SETTINGS",
    # the suite and its records
    "evaluate", "EvalSettings", "EvalSpace", "ALL_METRICS", "SUITE", "MetricRecord",
]
