"""What each recorded metric is: its column label, its definition, which way is better, and its feature space.

One table for every place that shows a metric (report tables, their legends, notebook displays), so a
column's name always says what was measured. A label carries the feature space or distance the number was
measured in (`FID (C1)`, `pair-diversity (C1 distance)`), read from the record's protocol field named by
`space_field`; a metric computed outside the space that defines it is named a surrogate (`LPIPS surrogate`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Feature spaces and distances as records name them -> the short tag a label carries.
SPACES = {"classifier": "C1", "inception": "Inception-v3", "clip": "CLIP", "pixels": "pixels",
          "lpips-classifier": "C1 distance", "lpips-alex": "AlexNet", "lpips-vgg": "VGG", "pixel-mse": "pixel MSE"}
# What each tag means, stated once in a legend.
SPACE_DEFINITIONS = {
    "classifier": "C1 is the evaluation classifier trained here on the real training set (notebook 01): its "
                  "penultimate-layer features, or its softmax over the dataset's classes (10 for Fashion-MNIST)",
    "inception": "Inception-v3 with the FID weights: pool3 features (2048-D), softmax over 1008 ImageNet classes",
    "clip": "CLIP ViT-L/14 (336 px) image embeddings, L2-normalised",
    "pixels": "flattened pixels in [0, 1]",
    "lpips-classifier": "LPIPS's construction on C1's convolutional blocks: activations unit-normalised over "
                        "channels, squared differences summed over channels with uniform weights (no learned "
                        "calibration), averaged over positions, summed over blocks",
    "lpips-alex": "LPIPS (Zhang et al. 2018) with AlexNet and its learned linear weights",
    "lpips-vgg": "LPIPS (Zhang et al. 2018) with VGG-16 and its learned linear weights",
    "pixel-mse": "mean squared pixel difference",
}


@dataclass(frozen=True)
class MetricName:
    """One metric as the report shows it.

    Args:
        key: the name its records carry (`fid`, `lpips_to_real`).
        label: column label before the space tag.
        definition: one sentence: what is measured, on what, and what its ± is.
        better: "higher", "lower", "≈ 1" or "" (a verdict or a reason, not a score).
        space_field: protocol field naming its feature space or distance; "" when it has none.
        defining_spaces: spaces in which the metric is itself; elsewhere it is labelled a surrogate.
        std_over: what its ± is over, unless its records say (`std_over`).
    """

    key: str
    label: str
    definition: str
    better: str = ""
    space_field: str = ""
    defining_spaces: tuple[str, ...] = ()
    std_over: str = "repeats"


METRICS: dict[str, MetricName] = {m.key: m for m in (
    MetricName("lap", "LAP", "variance of the 4-neighbour Laplacian of each image (grey, pixels in [0, 1]), mean "
               "over images", "higher", std_over="images"),
    MetricName("is", "IS", "Inception Score exp E_x KL(p(y|x) ‖ p(y)) from the softmax of the network in brackets, "
               "on 10 random parts of each generated set (seeded shuffle: the order of the set does not matter)",
               "higher", "extractor"),
    MetricName("fid", "FID", "Fréchet distance between Gaussians fitted to the features of the real test set and of "
               "each generated set", "lower", "extractor"),
    MetricName("kid", "KID", "unbiased MMD² with the cubic polynomial kernel, mean over random subset pairs of up to "
               "1000 real and generated images", "lower", "extractor"),
    MetricName("lpips_to_real", "LPIPS", "mean distance between generated images and real test images paired at "
               "random, as the controlled-generation paper uses LPIPS (lower = closer to the real images). Random "
               "pairs mix classes, so images between classes (a blurry average) can score lower than real ones, the "
               "paper's own caveat: read it beside FID and precision", "lower", "distance",
               ("lpips-alex", "lpips-vgg")),
    MetricName("lpips_diversity", "pair-diversity", "mean distance between random pairs of distinct generated "
               "images: a diversity measure, not LPIPS as the controlled-generation paper uses it (generated vs "
               "real)", "higher", "distance"),
    MetricName("ppl", "PPL", "perceptual path length: distance between the images at latent points ε apart, / ε², "
               "mean over random latent paths without the 1% shortest and longest (Karras et al.)", "lower",
               "distance", std_over="paths"),
    MetricName("prd_f8", "PRD F8", "max F_8 of the PRD curve (Sajjadi et al.; 20 k-means clusters of real ∪ "
               "generated features, averaged over runs): recall-like", "higher", "extractor"),
    MetricName("prd_f1_8", "PRD F1/8", "max F_1/8 of the same PRD curve: precision-like", "higher", "extractor"),
    MetricName("precision", "precision", "share of generated images inside the k-NN ball (k = 5) of some real "
               "image (Kynkäänniemi et al.)", "higher", "extractor"),
    MetricName("recall", "recall", "share of real images inside the k-NN ball (k = 5) of some generated image",
               "higher", "extractor"),
    MetricName("density", "density", "mean number of real k-NN balls (k = 5) that contain a generated image, / k "
               "(Naeem et al.); 1 for matching sets, above 1 where samples crowd dense real regions", "≈ 1",
               "extractor"),
    MetricName("coverage", "coverage", "share of real images whose k-NN ball (k = 5) contains a generated image",
               "higher", "extractor"),
    MetricName("cmmd", "CMMD", "1000 × MMD² with a Gaussian RBF kernel (σ = 10) between real and generated "
               "embeddings (Jayasumana et al.)", "lower", "extractor", ("clip",)),
    MetricName("cmmd_classifier", "CMMD", "CMMD's formula and bandwidth (σ = 10, × 1000) on C1's features, because "
               "CLIP's weights are absent; σ suits unit-norm CLIP embeddings, not these features, so it is a "
               "surrogate: compare rows, not values", "lower", "extractor", ("clip",)),
    MetricName("swd", "SWD", "sliced Wasserstein distance (× 1000) between Laplacian-pyramid patch descriptors of "
               "real and generated images, mean over pyramid levels", "lower"),
    MetricName("gan_train", "GAN-train", "accuracy on the real test set of a classifier of C1's architecture "
               "trained on the generated set and its labels (Shmelkov et al.; = VAE-train)", "higher"),
    MetricName("gan_test", "GAN-test", "accuracy of C1 on generated images against their conditioning labels, "
               "for conditional models (Shmelkov et al.; = VAE-test)", "higher"),
    MetricName("diverged", "diverged", "1 when notebook 03 found the training diverged (NaN losses, an exploding "
               "critic or collapsed samples)"),
    MetricName("converged", "converged", "1 when notebook 03 found the training converged"),
    MetricName("min_class_share", "min class share", "smallest share of any class among the generator's samples, "
               "by C1's labels (notebook 03); 0 = a class is never drawn", "higher"),
    MetricName("plateau_accuracy", "plateau GAN-train", "GAN-train accuracy where the curve over generated images "
               "per class levels off: mean over seeds of the accuracy at the two largest sizes", "higher",
               std_over="seeds"),
    MetricName("effective_size", "effective size /class", "real images per class whose classifier reaches the "
               "plateau's accuracy [the same at plateau ∓ the seed std]; '< n' below the real curve's smallest "
               "size n, '> n' above its largest", "higher"),
    MetricName("saturation_epochs", "epochs per point", "epochs a point's classifier trained before early stopping "
               "on its pool's held-out split ended it (mean over seeds)", std_over="seeds"),
    MetricName("saturation_n", "saturation n/class", "smallest generated size per class whose accuracy is within "
               "noise of the plateau; '(not saturated)' when the curve still rises at the largest size"),
    MetricName("classes_found", "classes found", "classes to which C1 assigns at least half their real share "
               "(1/(2K)) of the images", "higher"),
    MetricName("mean_confidence", "mean confidence", "mean top-class probability of C1 on the images", "higher"),
    MetricName("gan_train_cnn", "GAN-train (CNN)", "GAN-train of the first repeat: the set the forest also "
               "learns from", "higher"),
    MetricName("gan_train_forest", "GAN-train (forest, pixels)", "accuracy on the real test set of a 100-tree "
               "random forest trained on the set's pixels and hard labels: the GAN paper's second opinion",
               "higher"),
    MetricName("forest_rank_agreement", "rank agreement (ρ)", "Spearman correlation of the sets' GAN-train under "
               "the CNN and under the forest; 1 = the same ranking", "higher"),
    MetricName("tsne_generated_neighbours", "t-SNE generated-neighbour share", "mean share of generated points "
               "among the 10 nearest neighbours of each generated point in the t-SNE map of C1 features; about "
               "n_fake / N when real and generated points mix, 1 when generated points form islands", "lower"),
    MetricName("error", "not evaluated", "why a model has no numbers (e.g. it cannot draw some class within the "
               "generation budget); its row is kept so that a failure is never a silent omission"),
)}
ORDER = tuple(METRICS)  # display order of columns (`fid_5k` and the like right after `fid`)
VAE_PAPER_NAMES = {"gan_train": "VAE-train", "gan_test": "VAE-test"}  # the VAE paper's names of GAN-train / -test


def _fid_small(key: str) -> MetricName | None:
    """`fid_5k` / `fid_2000`: FID on equal random subsets of the two sets."""
    m = re.fullmatch(r"fid_(\d+)(k?)", key)
    if not m:
        return None
    n = int(m.group(1)) * (1000 if m.group(2) else 1)
    label = f"FID-{m.group(1)}{m.group(2)}"
    return MetricName(key, label, f"FID on {n} random real against {n} random generated images",
                      "lower", "extractor")


def metric_name(key: str) -> MetricName:
    """The entry of a metric; an unknown key gets a bare entry under its own name."""
    return METRICS.get(key) or _fid_small(key) or MetricName(key, key, "")


def order_key(key: str) -> float:
    """Where a metric's column goes: its place in `ORDER`, FID on subsets right after FID, unknown ones last."""
    if key in METRICS:
        return ORDER.index(key)
    return ORDER.index("fid") + 0.5 if _fid_small(key) else len(ORDER)


def is_surrogate(key: str, space: str | None) -> bool:
    """True when the metric was measured outside the spaces that define it (LPIPS on C1, CMMD without CLIP)."""
    m = metric_name(key)
    return bool(m.defining_spaces) and bool(space) and space not in m.defining_spaces


def label(key: str, space: str | None = None, base: str | None = None) -> str:
    """Column label: 'FID (C1)', 'LPIPS surrogate (C1 distance)', 'LAP'; `base` replaces the bare name."""
    text = base or metric_name(key).label
    if is_surrogate(key, space):
        text += " surrogate"
    return f"{text} ({SPACES.get(space, space)})" if space else text


def definition(key: str, space: str | None = None, spread: str = "", caveat: bool = True) -> str:
    """A legend's sentence: what is measured, its ± (`spread`, e.g. 'repeats'), which way is better, and (with
    `caveat`) the surrogate caveat where it applies."""
    m = metric_name(key)
    text = m.definition or "as recorded"
    if spread:
        text += f"; ± the std over {spread}"
    better = {"higher": "higher is better", "lower": "lower is better", "≈ 1": "about 1 is best"}.get(m.better)
    text += f"; {better}." if better else "."
    if caveat and is_surrogate(key, space) and key != "cmmd_classifier":
        text += (f" Measured with {SPACES.get(space, space)}, not {' or '.join(SPACES[s] for s in m.defining_spaces)}"
                 ", so it is a surrogate: compare orderings, not values.")
    return text
