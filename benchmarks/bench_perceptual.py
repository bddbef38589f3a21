"""CPU timings of LPIPS, PPL and SWD on 28×28 grey images, beside their reference implementations.

    LABKIT_OFFLINE=1 nice -n 10 .venv/bin/python benchmarks/bench_perceptual.py            # full sizes
    LABKIT_OFFLINE=1 .venv/bin/python benchmarks/bench_perceptual.py --scale 0.1           # quick look

Rows: LPIPS (lpips-classifier and LPIPS-AlexNet; the latter against calling the `lpips` package
directly), PPL over 10k paths (a VAE-sized decoder, both distances), SWD of 10k vs 10k images (the
full progressive-GAN protocol) against a NumPy/SciPy transcription of the reference. Models are
randomly initialised (timing does not depend on training); the AlexNet backbone is random unless
its weight file is under $LABKIT_WEIGHTS.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import scipy.ndimage
import torch
import torch.nn as nn

from labkit import data
from labkit.metrics.lpips import LPIPS, ClassifierDistance, backbone_path, paired_distance
from labkit.metrics.ppl import perceptual_path_length
from labkit.metrics.swd import swd
from labkit.models.classifier import Classifier, ClassifierConfig


class Decoder(nn.Module):
    """A VAE-decoder-sized generator: z (16) -> dense 256 -> 64×7×7 -> two transposed convs -> 28×28 sigmoid."""

    def __init__(self, latent_dim: int = 16):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, z):
        return self.net(z)  # (B, 1, 28, 28)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def reference_swd(real: np.ndarray, fake: np.ndarray, levels: int, seed: int = 0) -> float:
    """NumPy/SciPy transcription of progressive GAN's sliced_wasserstein.py (7×7 patches, 128 per image, 4×128 dirs)."""
    rng = np.random.RandomState(seed)
    k = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32)[None, None] / 256

    def pyramid(x):
        pyr = [x.astype(np.float32).copy()]
        for _ in range(1, levels):
            pyr.append(scipy.ndimage.convolve(pyr[-1], k, mode="mirror")[:, :, ::2, ::2])
            up = np.zeros((*pyr[-1].shape[:2], pyr[-1].shape[2] * 2, pyr[-1].shape[3] * 2), np.float32)
            up[:, :, ::2, ::2] = pyr[-1]
            pyr[-2] -= scipy.ndimage.convolve(up, k * 4, mode="mirror")[:, :, :pyr[-2].shape[2], :pyr[-2].shape[3]]
        return pyr

    def descriptors(level):
        n, c, h, w = level.shape
        m = 128 * n
        nh, ch, y, x = np.ogrid[0:m, 0:c, -3:4, -3:4]
        y = y + rng.randint(3, h - 3, size=(m, 1, 1, 1))
        x = x + rng.randint(3, w - 3, size=(m, 1, 1, 1))
        d = level[nh // 128, ch, y, x]
        d = (d - d.mean(axis=(0, 2, 3), keepdims=True)) / d.std(axis=(0, 2, 3), keepdims=True)
        return d.reshape(m, -1)

    dists = []
    for a, b in zip(pyramid(real), pyramid(fake)):
        a, b = descriptors(a), descriptors(b)
        res = []
        for _ in range(4):
            dirs = rng.randn(a.shape[1], 128)
            dirs = (dirs / np.sqrt((dirs**2).sum(0, keepdims=True))).astype(np.float32)
            res.append(np.abs(np.sort(a @ dirs, axis=0) - np.sort(b @ dirs, axis=0)).mean())
        dists.append(1e3 * np.mean(res))
    return float(np.mean(dists))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply all sizes (0.1 for a quick look)")
    ap.add_argument("--pairs", type=int, default=2000, help="LPIPS image pairs")
    ap.add_argument("--paths", type=int, default=10_000, help="PPL paths")
    ap.add_argument("--swd-images", type=int, default=10_000, help="SWD images per set")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--skip-reference", action="store_true", help="skip the slow reference implementations")
    ap.add_argument("--out", help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_pairs, n_paths, n_swd = (max(10, int(v * args.scale)) for v in (args.pairs, args.paths, args.swd_images))
    real = data.load("fashion-mnist", "test").float()
    train = data.load("fashion-mnist", "train").float()
    rows = []

    def row(what, n, seconds, value, note=""):
        rows.append({"what": what, "n": n, "seconds": round(seconds, 2), "value": value, "note": note})
        print(f"{what:<38} n={n:<6} {seconds:8.2f} s   value={value:.5g} {note}", flush=True)

    torch.manual_seed(0)
    clf = Classifier(ClassifierConfig())
    cdist = ClassifierDistance(clf, device="cpu")
    real_alex = backbone_path("alex").is_file()
    alex = LPIPS("alex", random_backbone=not real_alex, device="cpu")
    a, b = real[:n_pairs], train[:n_pairs]
    d, s = timed(lambda: paired_distance(cdist, a, b).mean().item())
    row("LPIPS lpips-classifier", n_pairs, s, d)
    d, s_ours = timed(lambda: paired_distance(alex, a, b, batch_size=100).mean().item())
    row(f"LPIPS {alex.name}", n_pairs, s_ours, d, "(28 -> 64 px, grey -> RGB)")
    prep_a, prep_b = alex.prepare(a), alex.prepare(b)  # package called directly on the same tensors

    def package():
        with torch.no_grad():
            return torch.cat([alex.model(prep_a[i:i + 100], prep_b[i:i + 100]).flatten()
                              for i in range(0, n_pairs, 100)]).mean().item()
    d, s_pkg = timed(package)
    row("  lpips package directly", n_pairs, s_pkg, d, f"(wrapper/package time {s_ours / s_pkg:.2f})")

    dec = Decoder().eval()
    res, s = timed(lambda: perceptual_path_length(dec, cdist, n_paths=n_paths, seed=0))
    row("PPL lpips-classifier (slerp, full)", n_paths, s, res.value, f"(kept {res.n_kept})")
    res, s = timed(lambda: perceptual_path_length(dec, alex, n_paths=n_paths, seed=0, batch_size=100))
    row(f"PPL {alex.name} (slerp, full)", n_paths, s, res.value, f"(kept {res.n_kept})")

    x, y = real[:n_swd], train[:n_swd]
    res, s_ours = timed(lambda: swd(x, y, device="cpu", seed=0))
    row("SWD (7x7, 128/img, 4x128 dirs)", n_swd, s_ours, res.value, f"(levels {sorted(res.per_level)})")
    if not args.skip_reference:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v, s_ref = timed(lambda: reference_swd(x.numpy(), y.numpy(), res.levels))
        row("  reference numpy/scipy SWD", n_swd, s_ref, v, f"(labkit/reference time {s_ours / s_ref:.2f})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rows": rows, "torch_threads": args.threads, "alex_backbone": alex.name}, f, indent=2)


if __name__ == "__main__":
    main()
