"""Does `torch.compile` pay for labkit's small networks on this machine? Eager against compiled training steps.

    python -m benchmarks.bench_compile [--networks vae-plain,vae-conditional] [--steps 40] [--threads 1]

For each network and precision: the training task of `benchmarks.bench_training` (labkit's own step), once as is
and once with the network's loss (VAEs) or forward (the classifier) wrapped in `torch.compile`; CPU seconds of
this process per step after a warm-up, and the first compiled step's time (the compile cost a study job pays
once). Each side's best of `--rounds` rounds counts (run one after the other: compare on a quiet machine).
Prints one JSON line per row.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("LABKIT_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.bench_training import labkit_task  # noqa: E402
from labkit import data  # noqa: E402
from labkit.train.loop import Position  # noqa: E402


def _compiled(network: str, task) -> None:
    """Wrap the network's hot call in torch.compile, in place (the optimiser keeps the same parameters)."""
    if network.startswith("vae-"):
        task.model.loss = torch.compile(task.model.loss)
    elif network == "classifier":
        task.model.forward = torch.compile(task.model.forward)
    else:
        raise ValueError(f"no compile wrapping for {network!r}; choose the classifier or a vae-* network")


def time_steps(network: str, precision: str, compiled: bool, ds, steps: int, rounds: int) -> dict:
    torch.manual_seed(0)
    task, bs, _, _ = labkit_task(network, precision, total_steps=steps * rounds + 10)
    if compiled:
        _compiled(network, task)
    targets = ds.targets() if network == "classifier" else ds.labels
    batches = [(ds.images[i * bs:(i + 1) * bs], targets[i * bs:(i + 1) * bs]) for i in range(len(ds) // bs)]
    step = lambda i: task.training_step(batches[i % len(batches)], Position(step=i))  # noqa: E731
    t0 = time.process_time()
    step(0)
    first = time.process_time() - t0
    for i in range(1, 4):
        step(i)
    best = float("inf")
    for r in range(rounds):
        t0 = time.process_time()
        for i in range(steps):
            step(i)
        best = min(best, (time.process_time() - t0) / steps)
    return {"network": network, "precision": precision, "compiled": compiled, "batch_size": bs,
            "first_step_s": round(first, 2), "ms_per_step": round(1e3 * best, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", default="vae-plain,vae-beta,vae-conditional,classifier")
    ap.add_argument("--precisions", default="fp32,auto")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    ds = data.load("fashion-mnist", "train", n_per_class=200, seed=0)
    for network in args.networks.split(","):
        for precision in args.precisions.split(","):
            eager = time_steps(network, precision, False, ds, args.steps, args.rounds)
            compiled = time_steps(network, precision, True, ds, args.steps, args.rounds)
            compiled["speedup"] = round(eager["ms_per_step"] / compiled["ms_per_step"], 3)
            for row in (eager, compiled):
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
