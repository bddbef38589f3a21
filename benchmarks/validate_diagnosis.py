"""Validate the diagnosis on sets whose answer is known, beside trained models: the verdict table of the note.

    python benchmarks/validate_diagnosis.py --model vae=runs/quick/02_train_vae-plain/vae.pt \
        --model gan=runs/quick/03_train_gan-acgan/generator.pt --out /tmp/diagnosis-validation

The real unseen images are Fashion-MNIST training images left out of the classifier's and the copying test's
training subset (`--n-train`), so no part of the evaluation saw them. Prints, per set, the four verdicts
beside the expected ones and the deciding numbers; writes the full report to `--out`.
"""
from __future__ import annotations

import argparse
import time

from labkit.diagnosis import EvaluateSettings, evaluate_models, write_report
from labkit.diagnosis.cases import EXPECTED, known_cases
from labkit.diagnosis.verdicts import VERDICTS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[], help="name=checkpoint of a trained model (repeatable)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--n-train", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="diagnosis-validation")
    args = ap.parse_args()
    settings, cases = known_cases(EvaluateSettings(n=args.n, n_train=args.n_train, seed=args.seed, progress=False))
    t0 = time.perf_counter()
    evaluation = evaluate_models([*cases, *args.model], settings)
    paths = write_report(evaluation, args.out)
    print(f"{time.perf_counter() - t0:.0f} s; report {paths['html']}")
    print("| set | " + " | ".join(VERDICTS) + " | expected yes | LAP÷real | density | coverage | C_T |")
    print("|---" * (len(VERDICTS) + 6) + "|")
    wrong = 0
    for name, r in evaluation.models.items():
        v = r.measured.values
        expected = EXPECTED.get(name, (None, None))[1]
        if expected == ():  # real images: no on all four
            wrong += sum(r.diagnosis[k].verdict != "no" for k in VERDICTS)
        elif expected is not None:  # a damaged set: yes on its own verdict
            wrong += sum(r.diagnosis[k].verdict != "yes" for k in expected)
        cells = " | ".join(r.diagnosis[k].verdict for k in VERDICTS)
        print(f"| {name} | {cells} | {', '.join(expected) if expected is not None else '(trained)'} | "
              f"{v['lap_ratio']:.3g} | {v['density']:.3g} | {v['coverage']:.3g} | {v['ct']:.3g} |")
    for name, r in evaluation.models.items():
        for k in VERDICTS:
            print(f"- {name} / {k}: {r.diagnosis[k].verdict}. {r.diagnosis[k].reason}")
    print(f"missed: {wrong} (real unseen not `no` on all four, or a damaged set not `yes` on its own verdict)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
