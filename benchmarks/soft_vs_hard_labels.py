"""Soft against hard labels for a VAE's VAE-train, at a fixed step budget and trained to convergence.

    python benchmarks/soft_vs_hard_labels.py --classifier runs/quick/01_train_classifier/classifier.pt \
        --vae runs/quick/02_train_vae-plain/vae.pt --sizes 300 1000

Answers whether soft labels losing to hard labels at the quick preset's sizes (Table 1, rows 1 and 2) is the
budget or the method: one generated pool per labelling (the same VAE samples, C1's soft probabilities or its
argmax), each point trained twice, for Table 1's quick budget (`--budget-steps`, no early stopping) and to
convergence (early stopping on 100 held-out pool images per class, as notebook 05 trains), both with C1's
architecture, scored on a class-balanced part of the real test set. Prints mean ± std over seeds per
labelling, size and training.
"""
from __future__ import annotations

import argparse
import time

import labkit
from labkit import data, generate
from labkit.experiments.saturation import SaturationSettings, hold_out_all, saturation_curves, summarize
from labkit.train.early_stopping import EarlyStopping


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--classifier", required=True, help="C1's checkpoint (notebook 01)")
    ap.add_argument("--vae", required=True, help="the VAE's checkpoint (notebook 02)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000], help="generated images per class")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget-steps", type=int, default=100, help="Table 1's quick VAE-train budget")
    ap.add_argument("--n-test-per-class", type=int, default=200)
    args = ap.parse_args()
    c1, vae = labkit.load_model(args.classifier), labkit.load_model(args.vae)
    train = data.load("fashion-mnist", "train")
    test = data.load("fashion-mnist", "test", n_per_class=args.n_test_per_class, seed=0)
    t0 = time.perf_counter()
    pools = {}
    for labels in ("soft", "hard"):  # the same seed: the same samples, labelled two ways
        drawn, short = generate.generated_pools({f"VAE {labels}": vae}, max(args.sizes) + 100, classifier=c1,
                                                labels=labels, class_names=train.class_names, seed=0, max_draws=15)
        if short:
            raise SystemExit(f"the VAE cannot fill a balanced pool: {short}")
        pools.update(drawn)
    rest, held = hold_out_all(pools, 100, seed=0)
    converged = SaturationSettings.like(c1.cfg, batch_size=256, stopping=EarlyStopping(
        max_epochs=15, patience=2, min_epoch_images=1280))
    budget = SaturationSettings.like(c1.cfg, batch_size=256, steps=args.budget_steps)
    for what, settings, val in (("to convergence", converged, held), (f"{args.budget_steps} steps", budget, None)):
        df = saturation_curves(rest, test, args.sizes, seeds=args.seeds, settings=settings, val=val)
        print(f"## {what}\n{summarize(df).to_string()}\n")
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
