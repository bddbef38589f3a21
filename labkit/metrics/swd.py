"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, progressive GAN).

Protocol of the reference (`sliced_wasserstein.py` of progressive_growing_of_gans), kept here:
each image set is turned into a Laplacian pyramid (5×5 binomial filter, mirror borders, as
cv2.pyrDown/pyrUp); from every level `patches_per_image` random 7×7 patches are cut per image;
each level's descriptors are normalised per channel by their own set's mean and standard deviation;
the distance between the two descriptor sets is the mean |sorted projection difference| over
`repeats` × `projections` random unit directions; reported ×10³ per level and averaged over levels.

Differences, all parameters: images are float in [0, 1] with any channel count (the reference needs
RGB uint8; the per-level normalisation makes the scale irrelevant); the default number of levels
halves the size while it is at least twice the patch size (the reference's "≥ 16 pixels" for
power-of-two sizes with 7×7 patches, and two levels, 28 and 14, for 28×28); sets of unequal size
are compared on an equal number of descriptors (the larger set is subsampled); randomness is seeded.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..core.runtime import pick_device
from ..data.dataset import check_images
from ._order import canonical_rows

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
GAUSSIAN_5X5 = torch.outer(_BINOMIAL, _BINOMIAL) / 256.0  # (5, 5), sums to 1


def _filter(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Depthwise 5×5 binomial filter with mirror ("reflect") borders, (B, C, H, W) -> same."""
    c = x.shape[1]
    k = (GAUSSIAN_5X5 * scale).to(x)[None, None].expand(c, 1, 5, 5)  # (C, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=c)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """Blur and keep every second pixel, (B, C, H, W) -> (B, C, ceil(H/2), ceil(W/2)); as cv2.pyrDown."""
    return _filter(x)[:, :, ::2, ::2]


def pyr_up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zero-insert upsampling then 4× the blur, (B, C, h, w) -> (B, C, *size); as cv2.pyrUp, cropped to size."""
    b, c, h, w = x.shape
    up = x.new_zeros(b, c, 2 * h, 2 * w)  # (B, C, 2h, 2w)
    up[:, :, ::2, ::2] = x
    return _filter(up, 4.0)[:, :, : size[0], : size[1]]


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first, the last being the low-pass residual.

    Args:
        x: (B, C, H, W) float images.
        levels: number of levels (1 = the image itself).
    """
    pyramid = [x.float()]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1], pyramid[-2].shape[2:])
    return pyramid


def default_levels(size: int, patch_size: int = 7) -> int:
    """Levels while the level is at least twice the patch size (28 -> 2, 64 -> 3, 1024 -> 7)."""
    levels, res = 0, size
    while res >= 2 * patch_size:
        levels, res = levels + 1, res // 2
    return max(levels, 1)


def random_patches(level: torch.Tensor, patch_size: int, per_image: int, generator: torch.Generator) -> torch.Tensor:
    """`per_image` random patches of each image, centres uniform in [h, size - h) as in the reference.

    Args:
        level: (B, C, H, W) one pyramid level.
    Returns:
        (B * per_image, C, p, p) patches.
    """
    b, c, hgt, wid = level.shape
    h = patch_size // 2
    if hgt < patch_size or wid < patch_size:
        raise ValueError(f"a pyramid level of {hgt}×{wid} pixels is smaller than the {patch_size}×{patch_size} patch; "
                         "use fewer levels")
    n = b * per_image
    cy = torch.randint(h, max(hgt - h, h + 1), (n,), generator=generator)  # (n,)
    cx = torch.randint(h, max(wid - h, h + 1), (n,), generator=generator)  # (n,)
    offs = torch.arange(-h, h + 1)  # (p,)
    img = torch.arange(n) // per_image  # (n,)
    ys = (cy[:, None] + offs).to(level.device)  # (n, p)
    xs = (cx[:, None] + offs).to(level.device)  # (n, p)
    img = img.to(level.device)
    return level[img[:, None, None], :, ys[:, :, None], xs[:, None, :]].permute(0, 3, 1, 2)  # (n, C, p, p)


def normalise_descriptors(desc: torch.Tensor) -> torch.Tensor:
    """Per-channel standardisation over patches and pixels, then flatten: (M, C, p, p) -> (M, C·p·p)."""
    mean = desc.mean(dim=(0, 2, 3), keepdim=True)  # (1, C, 1, 1)
    std = desc.std(dim=(0, 2, 3), keepdim=True, unbiased=False).clamp_min(1e-12)  # (1, C, 1, 1)
    return ((desc - mean) / std).flatten(1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, *, repeats: int = 4, projections: int = 128,
                       generator: torch.Generator, chunk: int = 32) -> float:
    """Mean 1-D Wasserstein distance over random unit directions between two equal-size point sets.

    Args:
        a, b: (M, D) descriptors.
        repeats, projections: directions are drawn `repeats` times, `projections` at a time (reference: 4 × 128).
        generator: CPU generator for the directions.
        chunk: directions projected at once (memory: 2·M·chunk floats).
    Returns:
        the mean over directions and points of |sorted projection differences|.
    """
    if a.shape != b.shape:
        raise ValueError(f"descriptor sets must have equal shapes; got {tuple(a.shape)} and {tuple(b.shape)}")
    total = 0.0
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], projections, generator=generator)  # (D, P)
        dirs = (dirs / dirs.norm(dim=0, keepdim=True)).to(a)
        for j in range(0, projections, chunk):
            d = dirs[:, j:j + chunk].T.contiguous()  # (c, D)
            total += _sorted_gap(d @ a.T, d @ b.T)
    return total / (repeats * projections * a.shape[0])


def _sorted_gap(pa: torch.Tensor, pb: torch.Tensor) -> float:
    """Sum of |sorted(pa) - sorted(pb)| along each row of two (c, M) projection matrices."""
    if pa.device.type == "cpu":  # NumPy's row sort is ~10× faster than torch.sort on CPU
        na, nb = pa.numpy(), pb.numpy()
        na.sort(axis=1)
        nb.sort(axis=1)
        return float(np.abs(na - nb).sum(dtype=np.float64))
    return float((torch.sort(pa, dim=1).values - torch.sort(pb, dim=1).values).abs().sum(dtype=torch.float64))


@dataclass(frozen=True)
class SWDResult:
    """SWD ×10³: the mean over levels, each level's value, and the protocol."""

    value: float                    # mean over levels, ×1e3
    per_level: dict[int, float]     # level resolution (pixels) -> SWD ×1e3
    n_real: int                     # real images
    n_fake: int                     # generated images
    n_descriptors: int              # descriptors compared per level and set
    patch_size: int                 # patch side, pixels
    levels: int                     # pyramid levels
    patches_per_image: int          # patches cut per image and level
    repeats: int                    # direction draws
    projections: int                # directions per draw
    seed: int                       # seeds patches, subsampling and directions

    def protocol(self) -> dict:
        """Everything but the values, for `labkit.core.runs.record(..., **protocol)`."""
        d = asdict(self)
        d.pop("value")
        d.pop("per_level")
        return d


def _descriptors(images: torch.Tensor, levels: int, patch_size: int, per_image: int, generator: torch.Generator,
                 device: torch.device, batch_size: int) -> list[torch.Tensor]:
    """Normalised descriptors per level, [(N · per_image, C·p·p)], for images (N, C, H, W)."""
    per_level: list[list[torch.Tensor]] = [[] for _ in range(levels)]
    for i in range(0, len(images), batch_size):
        pyramid = laplacian_pyramid(images[i:i + batch_size].to(device), levels)
        for lod, level in enumerate(pyramid):
            per_level[lod].append(random_patches(level, patch_size, per_image, generator))
    return [normalise_descriptors(torch.cat(d)) for d in per_level]


@torch.no_grad()
def swd(real: torch.Tensor, fake: torch.Tensor, *, patch_size: int = 7, levels: int | None = None,
        patches_per_image: int = 128, repeats: int = 4, projections: int = 128, seed: int = 0,
        batch_size: int = 500, device: str | torch.device = "auto") -> SWDResult:
    """SWD between real and generated images, progressive-GAN protocol (see module doc).

    Args:
        real, fake: float images (N, C, H, W) in [0, 1], same C, H, W; H, W >= 2 · patch_size recommended.
        patch_size: patch side (odd; reference 7).
        levels: pyramid levels; None: `default_levels(min(H, W), patch_size)`.
        patches_per_image: patches per image and level (reference 128).
        repeats, projections: random directions, `repeats` draws of `projections` (reference 4 × 128).
        seed: one CPU generator draws real patches, fake patches, subsampling, directions, in that order;
            images are visited in canonical order, so the value depends only on the two sets and the seed.
        batch_size: images per pyramid batch.
        device: where descriptors are projected and sorted.
    """
    check_images(real, what="real images")
    check_images(fake, what="generated images")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real and generated images differ in shape: {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}")
    if patch_size % 2 != 1:
        raise ValueError(f"patch_size must be odd; got {patch_size}")
    levels = levels or default_levels(min(real.shape[2:]), patch_size)
    dev = pick_device(device)
    real, fake = canonical_rows(real), canonical_rows(fake)  # patches are drawn per image, in this order
    g = torch.Generator().manual_seed(seed)
    d_real = _descriptors(real, levels, patch_size, patches_per_image, g, dev, batch_size)
    d_fake = _descriptors(fake, levels, patch_size, patches_per_image, g, dev, batch_size)
    m = min(len(d_real[0]), len(d_fake[0]))
    per_level, res = {}, min(real.shape[2:])
    for lod, (a, b) in enumerate(zip(d_real, d_fake)):
        if len(a) > m:
            a = a[torch.randperm(len(a), generator=g)[:m].to(a.device)]
        if len(b) > m:
            b = b[torch.randperm(len(b), generator=g)[:m].to(b.device)]
        per_level[-(-res // 2**lod)] = 1e3 * sliced_wasserstein(a, b, repeats=repeats, projections=projections,
                                                                 generator=g)
    value = sum(per_level.values()) / len(per_level)
    return SWDResult(value, per_level, len(real), len(fake), m, patch_size, levels, patches_per_image, repeats,
                     projections, seed)
