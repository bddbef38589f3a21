"""Time and peak memory of labkit's FID, KID, PRD and PRDC against the reference implementations, side by side.

Each (metric, implementation) runs in a fresh subprocess on the same seeded features (10k real × 10k fake
by default), timed as the best of 5 to 7 runs (fewer when they take over a minute); memory is the peak
resident set size above the process's size once the features and libraries are loaded.
References: pytorch-fid (FID), torch-fidelity (KID), the PRD reference definitions of Sajjadi et al.
(`tests/unit/test_metrics_agreement.py`), prdc (precision/recall/density/coverage).

    python benchmarks/bench_metrics.py                 # 10k × 10k, D = 128 (the classifier's features)
    python benchmarks/bench_metrics.py --dim 2048      # Inception-sized features
    python benchmarks/bench_metrics.py --prdc-50k      # labkit prdc on 50k × 50k × 64: peak memory only
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("fid", "kid", "prd", "prdc")
REFERENCE = {"fid": "pytorch-fid", "kid": "torch-fidelity", "prd": "PRD reference", "prdc": "prdc"}


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def features(n: int, dim: int):
    import numpy as np

    rng = np.random.default_rng(0)
    mix = (rng.normal(size=(dim, dim)) / np.sqrt(dim)).astype(np.float32)
    real = rng.normal(size=(n, dim)).astype(np.float32) @ mix
    fake = (1.2 * rng.normal(size=(n, dim)).astype(np.float32) + 0.1) @ mix
    return real, fake


def run_labkit(metric, real, fake, run: int = 0):
    """labkit's metric; PRD gets fresh k-means seeds per run, as the unseeded reference does."""
    from labkit.metrics import frechet_distance, kid, prd, prdc

    if metric == "fid":
        return frechet_distance(real, fake)
    if metric == "kid":
        return kid(real, fake)[0]
    if metric == "prd":
        c = prd(real, fake, seed=1000 * run)
        return [c.f_beta, c.f_beta_inv]
    return prdc(real, fake, k=5)


def run_reference(metric, real, fake):
    import numpy as np

    if metric == "fid":
        from pytorch_fid.fid_score import calculate_frechet_distance
        return float(calculate_frechet_distance(np.mean(real, axis=0), np.cov(real, rowvar=False),
                                                np.mean(fake, axis=0), np.cov(fake, rowvar=False)))
    if metric == "kid":
        import torch
        from torch_fidelity.metric_kid import kid_features_to_metric
        return kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=100,
                                      kid_subset_size=1000, rng_seed=0, verbose=False)["kernel_inception_distance_mean"]
    if metric == "prd":
        sys.path.insert(0, str(ROOT))
        from tests.unit.test_metrics_agreement import reference_f_beta_pair, reference_prd_from_embedding
        return [float(v) for v in reference_f_beta_pair(*reference_prd_from_embedding(
            fake.astype(np.float64), real.astype(np.float64)))]
    from prdc import compute_prdc
    with contextlib.redirect_stdout(io.StringIO()):
        return {k: float(v) for k, v in compute_prdc(real, fake, nearest_k=5).items()}


def child(metric: str, impl: str, n: int, dim: int) -> None:
    """Run one measurement and print one JSON line."""
    real, fake = features(n, dim)
    import torch  # noqa: F401  (both sides import torch: labkit directly, the references through their packages)

    import labkit.metrics  # noqa: F401
    if impl != "labkit":
        import prdc  # noqa: F401
        import pytorch_fid.fid_score  # noqa: F401
        import torch_fidelity.metric_kid  # noqa: F401
    base = _rss_mb()
    times = []
    # best of several: the first call pays lazy imports and k-means' run time varies with its seed;
    # at least 5 runs when they fit in a minute, up to 7 within 2 s for the sub-second metrics
    while not times or (len(times) < 7 and (sum(times) < 2 or (len(times) < 5 and sum(times) < 60))):
        t0 = time.perf_counter()
        value = run_labkit(metric, real, fake, len(times)) if impl == "labkit" else run_reference(metric, real, fake)
        times.append(time.perf_counter() - t0)
    seconds = min(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"metric": metric, "impl": impl, "seconds": seconds, "runs": len(times), "peak_mb": peak - base, "rss_peak_mb": peak,
                      "value": value}))


def measure(metric: str, impl: str, n: int, dim: int, timeout: int) -> dict:
    cmd = [sys.executable, __file__, "--child", metric, impl, "--n", str(n), "--dim", str(dim)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"{metric}/{impl} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="samples per set")
    ap.add_argument("--dim", type=int, default=128, help="feature dimension")
    ap.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
    ap.add_argument("--prdc-50k", action="store_true", help="labkit prdc on 50k × 50k × 64 (peak memory)")
    ap.add_argument("--child", nargs=2, metavar=("METRIC", "IMPL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child, args.n, args.dim)
    if args.prdc_50k:
        r = measure("prdc", "labkit", 50_000, 64, args.timeout)
        print(f"labkit prdc 50k x 50k x 64: {r['seconds']:.1f} s, peak RSS {r['rss_peak_mb']:.0f} MB in all, "
              f"{r['peak_mb']:.0f} MB above the process with features and libraries loaded; {r['value']}")
        return None
    print(f"{args.n} real x {args.n} fake features, D = {args.dim}; fresh process per run, one at a time")
    print(f"{'metric':6} {'reference':15} {'labkit s':>9} {'ref s':>9} {'speed-up':>9} {'labkit MB':>10} {'ref MB':>9}"
          f" {'mem ratio':>9}  values (labkit | reference)")
    for metric in args.metrics:
        ours = measure(metric, "labkit", args.n, args.dim, args.timeout)
        ref = measure(metric, "reference", args.n, args.dim, args.timeout)
        print(f"{metric:6} {REFERENCE[metric]:15} {ours['seconds']:9.2f} {ref['seconds']:9.2f} "
              f"{ref['seconds'] / ours['seconds']:8.2f}x {ours['peak_mb']:10.0f} {ref['peak_mb']:9.0f} "
              f"{ref['peak_mb'] / max(ours['peak_mb'], 1):8.2f}x  {ours['value']} | {ref['value']}", flush=True)
        print(json.dumps({"benchmark": "metrics", "metric": metric, "reference": REFERENCE[metric], "n": args.n,
                          "dim": args.dim, "labkit": ours, "ref": ref}), flush=True)
    return None


if __name__ == "__main__":
    main()
