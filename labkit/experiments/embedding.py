"""Pictures of where generated images land: t-SNE of real vs generated features, and per-class prediction histograms.

The t-SNE (scikit-learn) shows real and generated features in one map, coloured once by class and
once by source; gaps show missed modes, generated clusters away from real ones show poor images.
The per-class histogram of the classifier's predictions for generated images is the figure of the
PRD review that tells a precise-but-narrow model (mass on few classes) from a broad-but-poor one
(all classes, low confidence). Computations are pure functions on arrays; plots return figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..core.record import MetricRecord, tagged
from ..data.dataset import ImageDataset
from ..features import ClassifierFeatures, extract
from ..models.classifier import class_shares


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@dataclass(frozen=True)
class Embedding:
    """2-D t-SNE coordinates of real and generated points, with who is who."""

    coords: np.ndarray      # (N_real + N_fake, 2) t-SNE coordinates, real rows first
    labels: np.ndarray      # (N_real + N_fake,) class indices
    is_fake: np.ndarray     # (N_real + N_fake,) bool, True for generated rows
    perplexity: float       # t-SNE perplexity used
    pca_dim: int | None     # PCA dimension applied before t-SNE, None for none
    seed: int               # random_state of PCA and t-SNE


def tsne_embed(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor,
               real_labels: np.ndarray | torch.Tensor, fake_labels: np.ndarray | torch.Tensor, *,
               perplexity: float = 30.0, pca_dim: int | None = 50, seed: int = 0,
               threads: int | None = 1) -> Embedding:
    """Joint t-SNE of real and generated features (PCA to `pca_dim` first when the features are wider).

    Args:
        real, fake: features (N_real, D) and (N_fake, D), e.g. `predict(clf, x, what="features")`.
        real_labels, fake_labels: (N_real,), (N_fake,) classes (for generated images: conditioning labels
            or the classifier's predictions).
        perplexity: t-SNE perplexity, lowered to (N - 1) / 3 for tiny sets.
        pca_dim: PCA dimension before t-SNE (the usual de-noising step); None to skip.
        seed: random_state of PCA and t-SNE.
        threads: OpenMP threads of the t-SNE gradient (None: scikit-learn's default, all cores). One by
            default: on a shared machine, spinning OpenMP threads made a 200-point t-SNE 20× slower.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    real, fake = _np(real).astype(np.float32), _np(fake).astype(np.float32)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, D) with equal D; got {real.shape} and {fake.shape}")
    x = np.concatenate([real, fake])  # (N, D)
    labels = np.concatenate([_np(real_labels), _np(fake_labels)]).astype(int)
    if len(labels) != len(x):
        raise ValueError(f"{len(labels)} labels for {len(x)} points")
    used_pca = None
    if pca_dim is not None and x.shape[1] > pca_dim and len(x) > pca_dim:
        x = PCA(pca_dim, random_state=seed).fit_transform(x)  # (N, pca_dim)
        used_pca = pca_dim
    perplexity = float(min(perplexity, max(1.0, (len(x) - 1) / 3)))
    tsne = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    with threadpool_limits(limits=threads, user_api="openmp"):
        coords = tsne.fit_transform(x)  # (N, 2)
    is_fake = np.r_[np.zeros(len(real), bool), np.ones(len(fake), bool)]
    return Embedding(coords.astype(np.float32), labels, is_fake, perplexity, used_pca, seed)


def tsne_of_sets(classifier: torch.nn.Module, real: ImageDataset, fake: ImageDataset, n: int, *, seed: int = 0,
                 device: str | torch.device = "auto") -> Embedding:
    """`tsne_embed` of the evaluation classifier's features of `n` seeded random images of each set (all when fewer),
    each point labelled with its set's labels (a generated set's: conditioning labels or the classifier's)."""
    feat = ClassifierFeatures(model=classifier)
    rng = np.random.default_rng(seed)
    picked = [ds.subset(np.sort(rng.permutation(len(ds))[:n])) for ds in (real, fake)]
    real_x, fake_x = (extract(feat, ds.float(), device=device) for ds in picked)
    return tsne_embed(real_x, fake_x, picked[0].labels, picked[1].labels, seed=seed)


def generated_neighbour_share(emb: Embedding, k: int = 10) -> float:
    """Mean share of generated points among the `k` nearest map neighbours of each generated point: near
    (n_fake - 1) / (N - 1) when real and generated points mix, 1 when they form islands of their own."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(emb.coords) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(emb.coords).kneighbors(emb.coords[emb.is_fake])
    return float(emb.is_fake[idx[:, 1:]].mean())  # column 0 is the point itself


def tsne_records(emb: Embedding, k: int = 10, **fields) -> list[MetricRecord]:
    """`tsne_generated_neighbours` with its mixed-sets expectation, tagged `experiment="tsne"`."""
    n_fake, n = int(emb.is_fake.sum()), len(emb.is_fake)
    return tagged([MetricRecord("tsne_generated_neighbours", generated_neighbour_share(emb, k), protocol={
        "k": k, "n_real": n - n_fake, "n_fake": n_fake, "if_mixed": round((n_fake - 1) / (n - 1), 4),
        "perplexity": emb.perplexity, "extractor": "classifier"})], "tsne", **fields)


def tsne_figure(emb: Embedding, class_names: Sequence[str], *, title: str | None = None,
                source_names: tuple[str, str] = ("real", "generated"), point_size: float = 6.0):
    """Two panels of the same map: coloured by class (real ●, generated ×), and by source."""
    import seaborn as sns

    fig, (ax_c, ax_s) = plt.subplots(1, 2, figsize=(11, 5))
    palette = sns.color_palette("tab10" if len(class_names) <= 10 else "husl", len(class_names))
    for fake, marker in ((False, "o"), (True, "x")):
        sel = emb.is_fake == fake
        ax_c.scatter(emb.coords[sel, 0], emb.coords[sel, 1], s=point_size, marker=marker, linewidths=0.6,
                     c=[palette[k] for k in emb.labels[sel]], alpha=0.7)
    handles = [plt.Line2D([], [], ls="", marker="o", color=palette[k], label=name) for k, name in enumerate(class_names)]
    ax_c.legend(handles=handles, fontsize=7, markerscale=1.0, loc="best", title="class (● real, × gen.)",
                title_fontsize=7)
    ax_c.set_title("by class")
    for fake, colour in ((False, "tab:blue"), (True, "tab:red")):
        sel = emb.is_fake == fake
        ax_s.scatter(emb.coords[sel, 0], emb.coords[sel, 1], s=point_size, color=colour, alpha=0.5,
                     label=f"{source_names[int(fake)]} ({int(sel.sum())})")
    ax_s.legend(fontsize=8, markerscale=2)
    ax_s.set_title("by source")
    for ax in (ax_c, ax_s):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or f"t-SNE of features (perplexity {emb.perplexity:g})")
    fig.tight_layout()
    return fig


def mean_confidence(probs: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """Mean top-class probability of the images predicted as each class, (K,) (NaN where none)."""
    p = _np(probs)
    pred, top = p.argmax(axis=1), p.max(axis=1)
    return np.array([top[pred == k].mean() if (pred == k).any() else np.nan for k in range(num_classes)])


def prediction_histogram_figure(predictions: Mapping[str, np.ndarray | torch.Tensor], class_names: Sequence[str], *,
                                reference: np.ndarray | torch.Tensor | None = None, title: str | None = None):
    """Grouped bars: per class, the fraction of each model's generated images the classifier assigns to it.

    Args:
        predictions: model name -> (N,) predicted classes or (N, K) probabilities of its generated images.
        class_names: K names.
        reference: optional real-data predictions or labels, drawn as a step line (e.g. uniform 1/K).
    """
    k = len(class_names)
    hists = {name: class_shares(p, k) for name, p in predictions.items()}
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * k * max(1, len(hists)) ** 0.5), 3.5))
    width = 0.8 / max(len(hists), 1)
    x = np.arange(k)
    for i, (name, h) in enumerate(hists.items()):
        ax.bar(x - 0.4 + width * (i + 0.5), h, width, label=name)
    if reference is not None:
        ref = class_shares(reference, k)
        ax.step(np.r_[x - 0.5, k - 0.5], np.r_[ref, ref[-1]], where="post", color="k", lw=1, label="real")
    ax.set_xticks(x, list(class_names), rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("fraction of generated images")
    ax.legend(fontsize=8)
    ax.set_title(title or "classifier predictions on generated images, per class")
    fig.tight_layout()
    return fig
