"""VAE training throughput (images/s) on the CPU for the Fashion-MNIST preset.

Side by side: labkit's `train_vae` (the shared fit loop: history, NaN guard, batching from uint8) against a
bare PyTorch loop doing the same optimiser steps on the same model, so the ratio is the loop's overhead.
Also the perceptual variant (one extra classifier forward per batch for input and reconstruction).

    .venv/bin/python benchmarks/bench_vae.py [--steps 60] [--threads 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402

from labkit.data.dataset import ImageDataset  # noqa: E402
from labkit.models.classifier import Classifier, ClassifierConfig  # noqa: E402
from labkit.models.vae import VAE, perceptual_config, preset_config  # noqa: E402
from labkit.train.vae import build_vae, preset_training, train_vae  # noqa: E402


def fake_fashion(n: int) -> ImageDataset:
    """Random 28×28 grey images: throughput does not depend on the pixel values."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 10, tuple(str(i) for i in range(10)), name="random")


def bare_loop(cfg, data: ImageDataset, steps: int, batch_size: int, lr: float, classifier=None) -> float:
    """Images/s of a minimal loop: slice a batch, one Adam step on the VAE loss."""
    torch.manual_seed(0)
    model = build_vae(cfg, classifier).train()
    opt = torch.optim.Adam(model.trainable_parameters(), lr=lr)
    x_all = data.images
    t0 = None
    for s in range(steps + 5):
        if s == 5:  # warm-up steps excluded
            t0 = time.perf_counter()
        i = (s * batch_size) % (len(x_all) - batch_size)
        x = x_all[i:i + batch_size].float() / 255
        loss = model.loss(x)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - t0)


def labkit_loop(cfg, data: ImageDataset, steps: int, batch_size: int, lr: float, classifier=None) -> float:
    """Images/s of `train_vae` (fit loop), timed after its first 5 steps."""
    marks = {}

    def on_step(pos, metrics):
        if pos.step == 5:
            marks["t0"] = time.perf_counter()
    settings = preset_training("fashion", steps=steps + 5, batch_size=batch_size, lr=lr)
    train_vae(data, cfg, settings=settings, device="cpu", classifier=classifier, on_step=on_step, progress=False)
    return steps * batch_size / (time.perf_counter() - marks["t0"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = preset_training("fashion")
    data = fake_fashion(args.steps * settings.batch_size + 1000)
    plain = preset_config("fashion")
    perceptual = perceptual_config(plain, Classifier(ClassifierConfig()), layers=(0, 1))
    clf = Classifier(ClassifierConfig()).eval()
    rows = []
    for name, cfg, c in [("plain", plain, None), ("perceptual", perceptual, clf)]:
        bare = bare_loop(cfg, data, args.steps, settings.batch_size, settings.lr, c)
        lab = labkit_loop(cfg, data, args.steps, settings.batch_size, settings.lr, c)
        n_params = sum(p.numel() for p in VAE(cfg).trainable_parameters())
        rows.append({"variant": name, "batch_size": settings.batch_size, "threads": args.threads,
                     "trainable_params": n_params, "bare_torch_img_s": round(bare, 1),
                     "labkit_fit_img_s": round(lab, 1), "labkit_over_bare": round(lab / bare, 3),
                     "epoch_55k_s": round(55000 / lab, 1)})
    print(f"{'variant':<11} {'bare torch img/s':>17} {'labkit fit img/s':>17} {'ratio':>6} {'s / 55k epoch':>14}")
    for r in rows:
        print(f"{r['variant']:<11} {r['bare_torch_img_s']:>17} {r['labkit_fit_img_s']:>17} "
              f"{r['labkit_over_bare']:>6} {r['epoch_55k_s']:>14}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
