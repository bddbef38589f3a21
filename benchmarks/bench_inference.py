"""Classifier inference on the CPU (features of the default classifier, the metrics' feature space): the batch
size and batch norm folded into the convolutions, against the earlier predict (1000 images a batch, batch norm
as its own pass), run side by side.

`--beside` runs a classifier training in a second process meanwhile, as the study runs two jobs at once on two
cores (they share the CPU's last-level cache).

Run: `.venv/bin/python -m benchmarks.bench_inference [--beside] [--rounds 5] [--n 10000]`. Prints one JSON line per
variant: the best and median seconds, images/s and the speed relative to the earlier predict.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch

BUSY = """
import torch, torch.nn.functional as F
torch.set_num_threads(1)
from labkit.models.classifier import Classifier
from labkit.core.runtime import training_autocast
m = Classifier(); opt = torch.optim.Adam(m.parameters())
x, y = torch.rand(256, 1, 28, 28), torch.randint(0, 10, (256,))
while True:
    with training_autocast(x.device, "auto"):
        loss = F.cross_entropy(m(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
"""


def variants(n: int) -> dict:
    """Name -> a function running the classifier's features over `n` images."""
    from labkit.models.classifier import Classifier, predict
    from labkit.models.fold import folded_for_inference
    torch.manual_seed(0)
    model = Classifier().eval()
    images = torch.rand(n, 1, 28, 28)

    folded = folded_for_inference(model)

    def batched(net, batch_size):
        return torch.no_grad()(lambda: torch.cat([net.features(images[i:i + batch_size])
                                                  for i in range(0, n, batch_size)]))

    # "plain": the model itself, batch norm as its own pass (the earlier predict at 1000 a batch)
    return {"plain, batch 1000 (earlier predict)": batched(model, 1000), "plain, batch 256": batched(model, 256),
            "folded, batch 1000": batched(folded, 1000), "folded, batch 256": batched(folded, 256),
            "predict": lambda: predict(model, images, what="features")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--beside", action="store_true", help="a classifier training in a second process meanwhile")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if args.beside else None
    try:
        runs = variants(args.n)
        times: dict[str, list[float]] = {k: [] for k in runs}
        for f in runs.values():
            f()  # warm-up
        for _ in range(args.rounds):  # interleaved, so drifting load hits every variant alike
            for k, f in runs.items():
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
    finally:
        if busy is not None:
            busy.kill()
    base = statistics.median(times["plain, batch 1000 (earlier predict)"])
    for k, ts in times.items():
        med = statistics.median(ts)
        print(json.dumps({"variant": k, "beside_training": args.beside, "n": args.n, "best_s": round(min(ts), 3),
                          "median_s": round(med, 3), "images_per_s": round(args.n / med),
                          "speed_vs_earlier": round(base / med, 2)}))


if __name__ == "__main__":
    main()
