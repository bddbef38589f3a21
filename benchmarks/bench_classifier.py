"""Evaluation-classifier training on the CPU: throughput (images/s), wall time to reach 91 % test accuracy, and the
speed of its NHWC (channels-last) weights against the same network in NCHW, run side by side.

Run: `.venv/bin/python -m benchmarks.bench_classifier [--threads N]`. Prints one JSON line per measurement.
"""
from __future__ import annotations

import argparse
import json
import time

import torch


def throughput(steps: int = 60, batch_size: int = 128) -> float:
    """Training images per second of the default classifier on Fashion-MNIST batches (after 5 warm-up steps)."""
    import labkit
    from labkit import data
    train = data.load("fashion-mnist", "fit", n_per_class=(steps + 5) * batch_size // 10 + 1)
    settings = labkit.ClassifierTraining(steps=steps + 5, batch_size=batch_size)
    marks = []
    labkit.train_classifier(train, settings=settings, device="cpu", progress=False,
                            on_step=lambda pos, m: marks.append(time.perf_counter()))
    return steps * batch_size / (marks[-1] - marks[4])


def time_to_accuracy(target: float = 0.91, max_epochs: int = 8) -> dict:
    """Wall time of the default training until the test accuracy first reaches `target` (checked per epoch)."""
    import labkit
    from labkit import data
    train, test = data.load("fashion-mnist", "fit"), data.load("fashion-mnist", "test")
    t0 = time.perf_counter()
    model, result = labkit.train_classifier(train, val=test, device="cpu", progress=False)
    hist = result.history
    hit = hist[hist["val_accuracy"] >= target]
    return {"target": target, "reached": not hit.empty,
            "seconds": float(hit["time_s"].iloc[0]) if not hit.empty else None,
            "epoch": int(hit["epoch"].iloc[0]) if not hit.empty else None,
            "final_test_accuracy": float(hist["val_accuracy"].iloc[-1]),
            "total_seconds": time.perf_counter() - t0}


def layout_speedup(rounds: int = 5, batch_size: int = 256, n_eval: int = 2000) -> dict:
    """Seconds per training step and per `n_eval` inferred images, NHWC (labkit's layout) against NCHW.

    Both copies hold the same weights; the rounds alternate between them and the best of each is kept.
    """
    import copy

    import torch.nn.functional as F

    from labkit.models.classifier import Classifier, predict
    torch.manual_seed(0)
    nhwc = Classifier()
    nchw = copy.deepcopy(nhwc).to(memory_format=torch.contiguous_format)
    x, y = torch.rand(batch_size, 1, 28, 28), torch.randint(0, 10, (batch_size,))
    images = torch.rand(n_eval, 1, 28, 28)

    def train_step(model, opt):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    best = {}
    for name, model in (("nhwc", nhwc), ("nchw", nchw)) * rounds:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        train_step(model, opt)  # warm-up: oneDNN picks its kernels on the first call
        t0 = time.perf_counter()
        for _ in range(5):
            train_step(model, opt)
        t1 = time.perf_counter()
        predict(model, images, what="features")
        t2 = time.perf_counter()
        for key, v in ((f"{name}_train_step_s", (t1 - t0) / 5), (f"{name}_infer_s", t2 - t1)):
            best[key] = min(best.get(key, float("inf")), v)
    return {**{k: round(v, 4) for k, v in best.items()},
            "train_speedup": round(best["nchw_train_step_s"] / best["nhwc_train_step_s"], 2),
            "infer_speedup": round(best["nchw_infer_s"] / best["nhwc_infer_s"], 2),
            "batch_size": batch_size, "n_eval": n_eval}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--skip-accuracy", action="store_true", help="only the throughput (seconds instead of minutes)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(json.dumps({"bench": "classifier_layout", **layout_speedup(), "threads": args.threads}), flush=True)
    print(json.dumps({"bench": "classifier_train_throughput", "images_per_s": round(throughput(), 1),
                      "threads": args.threads}), flush=True)
    if not args.skip_accuracy:
        print(json.dumps({"bench": "classifier_time_to_91", **time_to_accuracy(), "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
