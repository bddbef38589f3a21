"""Quality held under bf16: the same training budget in fp32 and in bf16 mixed precision, judged by the same metric.

    python -m benchmarks.bench_precision [--n-per-class 1000] [--epochs 2] [--gan-steps 600] [--seeds 0,1]

Per seed and precision: the evaluation classifier's test accuracy, the plain VAE's negative ELBO on the test set
(nats/image, evaluated in fp32), and the DCGAN generator's FID in C1 (the fp32 classifier of the same seed) on
`--n-eval` samples against the test set. Both precisions start from the same seed, so each pair differs only by
precision; the spread between seeds says how large a difference precision would have to make to matter. Also
the CPU seconds each training took. Prints one JSON line per run, then a table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LABKIT_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from labkit import data  # noqa: E402
from labkit.metrics.fid import frechet_distance  # noqa: E402
from labkit.models.classifier import predict  # noqa: E402
from labkit.train.classifier import ClassifierTraining, accuracy, train_classifier  # noqa: E402
from labkit.train.gan import VARIANTS, train_gan  # noqa: E402
from labkit.train.vae import preset_training, train_vae, variant_config  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def _timed(fn):
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


@torch.no_grad()
def vae_test_loss(model, test, batch_size: int = 1000) -> float:
    """Negative ELBO (nats/image) on `test` in fp32, with seeded reparameterisation noise."""
    model.eval()
    g = torch.Generator().manual_seed(0)
    x = test.float()
    total = sum(float(model.loss(x[i:i + batch_size], generator=g)["loss"]) * len(x[i:i + batch_size])
                for i in range(0, len(x), batch_size))
    return total / len(x)


def run_seed(seed: int, train, test, args) -> list[dict]:
    rows, c1 = [], None
    for precision in PRECISIONS:
        settings = ClassifierTraining(epochs=args.epochs, precision=precision)
        (clf, _), cpu = _timed(lambda: train_classifier(train, settings=settings, seed=seed, device="cpu",
                                                        progress=False))
        rows.append({"network": "classifier", "metric": "test accuracy", "seed": seed, "precision": precision,
                     "value": accuracy(clf, test), "cpu_s": cpu})
        c1 = clf if precision == "fp32" else c1
    for precision in PRECISIONS:
        settings = preset_training(epochs=args.epochs, precision=precision)
        (vae, _), cpu = _timed(lambda: train_vae(train, variant_config("plain"), settings=settings, seed=seed,
                                                 device="cpu", progress=False))
        rows.append({"network": "vae-plain", "metric": "test -ELBO (nats)", "seed": seed, "precision": precision,
                     "value": vae_test_loss(vae, test), "cpu_s": cpu})
    real = predict(c1, test.float()[:args.n_eval], what="features")
    for precision in PRECISIONS:
        settings = dataclasses.replace(VARIANTS["dcgan"].training, precision=precision, snapshot_every=0)
        run, cpu = _timed(lambda: train_gan(train, "dcgan", steps=args.gan_steps, settings=settings, seed=seed,
                                            device="cpu", progress=False))
        fake = run.sampler.sample(args.n_eval, generator=torch.Generator().manual_seed(seed)).cpu()
        rows.append({"network": "gan-dcgan", "metric": "FID (C1)", "seed": seed, "precision": precision,
                     "value": frechet_distance(real, predict(c1, fake, what="features")), "cpu_s": cpu,
                     "error": run.error})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| network | metric | seed | fp32 | bf16 | bf16 − fp32 | CPU s fp32 | CPU s bf16 |",
             "|---|---|---|---|---|---|---|---|"]
    keyed = {(r["network"], r["seed"], r["precision"]): r for r in rows}
    for (network, seed, precision), r in keyed.items():
        if precision != "fp32":
            continue
        b = keyed[(network, seed, "bf16")]
        lines.append(f"| {network} | {r['metric']} | {seed} | {r['value']:.4g} | {b['value']:.4g} | "
                     f"{b['value'] - r['value']:+.3g} | {r['cpu_s']:.0f} | {b['cpu_s']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-per-class", type=int, default=1000, help="training images per class")
    ap.add_argument("--epochs", type=int, default=2, help="classifier and VAE epochs")
    ap.add_argument("--gan-steps", type=int, default=600)
    ap.add_argument("--n-eval", type=int, default=2000, help="test images and generated samples for FID")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    train = data.load("fashion-mnist", "train", n_per_class=args.n_per_class)
    test = data.load("fashion-mnist", "test")
    load_before = os.getloadavg()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for row in run_seed(seed, train, test, args):
            rows.append(row)
            print(json.dumps({"bench": "precision", **row}), flush=True)
    print(json.dumps({"bench": "precision_meta", "threads": args.threads, "load_avg_before": load_before,
                      "load_avg_after": os.getloadavg(), "n_train": len(train), "n_test": len(test)}), flush=True)
    print(table(rows), flush=True)


if __name__ == "__main__":
    main()
