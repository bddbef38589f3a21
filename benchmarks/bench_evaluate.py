"""Wall time of `labkit evaluate` on 2,000 Fashion-MNIST images: the first call in an empty cache (domain
classifier trained, features and calibration computed) and the second (all read from the cache).

Targets (2 CPU cores): first call under 180 s, second under 30 s. Each call is a fresh process
(`python -m labkit evaluate`), as a user would run it; the load average is printed beside the times, since
a shared machine slows both.

    python benchmarks/bench_evaluate.py [--n 2000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = {"first": 180.0, "cached": 30.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--keep", default=None, help="folder to keep the cache and reports in (default: a temp dir)")
    args = ap.parse_args(argv)
    from labkit import data

    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-evaluate-"))
    root.mkdir(parents=True, exist_ok=True)
    train = data.load("fashion-mnist", "train")
    pick = np.random.default_rng(0).choice(len(train), args.n, replace=False)
    samples = root / "samples.npy"
    np.save(samples, train.images[np.sort(pick)].numpy())  # (n, 1, 28, 28) uint8: real training images
    env = {**os.environ, "LABKIT_CACHE": str(root / "cache"), "TQDM_DISABLE": "1"}
    out = {}
    for call in ("first", "cached"):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "labkit", "evaluate", f"training-images={samples}", "--n", str(args.n),
                        "--out", str(root / f"report-{call}"), "--quiet"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        out[call] = time.perf_counter() - t0
        print(json.dumps({"benchmark": "evaluate", "call": call, "n": args.n, "seconds": round(out[call], 1),
                          "target_s": TARGETS[call], "within_target": out[call] < TARGETS[call],
                          "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}), flush=True)
    doc = json.loads((root / "report-cached" / "evaluation.json").read_text())
    print(json.dumps({"benchmark": "evaluate", "classifier_cached_on_second_call": doc["protocol"]["classifier"]["cached"],
                      "verdicts": {k: v["verdict"] for k, v in doc["models"]["training-images"]["diagnosis"].items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
