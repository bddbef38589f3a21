"""The conditional GANs compared as "How good is my GAN?" (Shmelkov et al.) compares them: GAN-train and GAN-test
beside each other and beside real images, read off the GAN table's records.

The paper's reading: GAN-test (C1's accuracy on a model's samples against their conditioning labels) is
precision-like: it asks whether samples look like their class and is blind to how many distinct ones there are.
GAN-train (C1's architecture trained on the samples, tested on real images) needs samples both realistic and
varied, like recall. A GAN-test near C1's real accuracy beside a GAN-train far below real images' is a generator
whose samples are recognisable but narrow (the paper's PixelCNN++ on CIFAR-100, SNGAN on ImageNet).
"""
from __future__ import annotations

import math

import pandas as pd

from ..experiments.gan_table import CLASS_METRICS, REAL_ROW, UNCONDITIONAL_REASON
from ..experiments.second_opinion import rank_correlation
from ..metrics import names

SHOWN = ("gan_train", "gan_test", "recall", "coverage", "fid")  # what the reading quotes of each model


def _gan_records(records: pd.DataFrame) -> pd.DataFrame:
    if records.empty or "experiment" not in records or "model" not in records:
        return pd.DataFrame()
    return records[(records["experiment"] == "gan_table") & records["model"].notna()]


def class_metric_values(records: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Row of the GAN table -> {metric: value} of `SHOWN`, for the rows that have GAN-train and GAN-test (the
    conditional GANs and the real-images row), in table order."""
    df = _gan_records(records)
    if df.empty:
        return {}
    df = df[df["metric"].isin(SHOWN)]
    out: dict[str, dict[str, float]] = {}
    for model, rows in df.groupby("model", sort=False):
        values = {m: float(v) for m, v in zip(rows["metric"], rows["value"])}
        if all(m in values and math.isfinite(values[m]) for m in CLASS_METRICS):
            out[str(model)] = values
    return out


def real_test_accuracy(records: pd.DataFrame) -> float | None:
    """C1's accuracy on the real test set (notebook 01's `test_accuracy`): the GAN-test a perfect generator reaches."""
    if records.empty or "run" not in records:
        return None
    df = records[(records["metric"] == "test_accuracy") & records["run"].astype(str).str.startswith("01_")]
    return float(df["value"].iloc[-1]) if not df.empty else None


def _f(v: float | None) -> str:
    return "–" if v is None or v != v else f"{v:.3g}"


def reading(records: pd.DataFrame) -> str:
    """The GAN table's paragraph on GAN-train and GAN-test: each conditional GAN's numbers against real images',
    and the paper's reading of the widest GAN-test − GAN-train gap; empty when no model has both."""
    values = class_metric_values(records)
    real = values.pop(REAL_ROW, None)
    if not values:
        return ""
    c1 = real_test_accuracy(records)
    ref = (f"C1 reaches {_f(c1)} on the real test set" if c1 is not None else "") + (
        f"{'; ' if c1 is not None else ''}{_f(real['gan_train'])} GAN-train and {_f(real['gan_test'])} GAN-test for "
        f"as many real training images (row '{REAL_ROW}'; C1 was trained on that split)" if real else "")
    per_model = "; ".join(f"{m}: GAN-test {_f(v['gan_test'])}, GAN-train {_f(v['gan_train'])}, recall "
                          f"{_f(v.get('recall'))}, coverage {_f(v.get('coverage'))}" for m, v in values.items())
    widest = max(values, key=lambda m: values[m]["gan_test"] - values[m]["gan_train"])
    w = values[widest]
    text = (f"GAN-train and GAN-test (Shmelkov et al.) for the class-conditional GANs, trained on one budget: "
            f"{per_model}. {ref + '. ' if ref else ''}GAN-test is precision-like: C1's accuracy on a model's samples "
            "against their conditioning labels asks whether each sample looks like its class, however few distinct "
            "samples there are. GAN-train and k-NN recall need diversity as well: a classifier trained on "
            "a narrow set fails on the real images the set does not cover. ")
    if w["gan_test"] > w["gan_train"]:
        text += (f"The widest gap is {widest}'s (GAN-test {_f(w['gan_test'])} against GAN-train "
                 f"{_f(w['gan_train'])}, recall {_f(w.get('recall'))}): the paper reads a high GAN-test beside a low "
                 "GAN-train (its PixelCNN++ on CIFAR-100, SNGAN on ImageNet) as samples that are recognisable but "
                 "narrow, short of diversity rather than of quality. ")
    return text + f"Unconditional GANs have neither column because {UNCONDITIONAL_REASON}."


def _label(records: pd.DataFrame, metric: str) -> str:
    """A metric's column label in the GAN table, naming its feature space ('FID (C1)')."""
    df = _gan_records(records)
    df = df[df["metric"] == metric] if not df.empty else df
    spaces = sorted({str(v) for v in df["extractor"].dropna()}) if "extractor" in df else []
    return names.label(metric, "/".join(spaces) or None)


def _order(values: dict[str, dict[str, float]], metric: str, higher: bool) -> str:
    """'a (0.9), b (0.8) = c (0.8)': best first, ties shown as ties."""
    ranked = sorted(values, key=lambda m: values[m][metric], reverse=higher)
    out = f"{ranked[0]} ({_f(values[ranked[0]][metric])})"
    for prev, m in zip(ranked, ranked[1:]):
        out += f"{' =' if values[m][metric] == values[prev][metric] else ','} {m} ({_f(values[m][metric])})"
    return out


def findings(records: pd.DataFrame, see: str) -> list[tuple]:
    """Seed 002's claims on its tables of conditional GANs, as findings rows (seed, claim, measured, verdict, see)."""
    values = class_metric_values(records)
    real = values.pop(REAL_ROW, None)
    out = []
    if real is not None and values:
        below = [m for m, v in values.items() if v["gan_train"] < real["gan_train"]]
        out.append(("002", "Every GAN's GAN-train lies below real images' (CIFAR-10, Table 1)",
                    f"real images {_f(real['gan_train'])}; " + ", ".join(f"{m} {_f(v['gan_train'])}"
                                                                       for m, v in values.items()),
                    "holds" if len(below) == len(values) else "does not hold", see))
    if len(values) < 2:
        return out
    ranked = {m: v for m, v in values.items() if math.isfinite(v.get("fid", math.nan))}
    if len(ranked) >= 2:
        fid = [-ranked[m]["fid"] for m in ranked]
        rho = [rank_correlation(fid, [ranked[m][k] for m in ranked]) for k in CLASS_METRICS]
        verdict = ("not comparable: a constant column" if any(r != r for r in rho) else
                   "holds" if min(rho) >= 0.999 else "does not hold")
        out.append(("002", "FID, GAN-train and GAN-test rank the models alike (CIFAR-10, Table 1)",
                    f"best first, {_label(records, 'fid')}: {_order(ranked, 'fid', False)}; "
                    f"GAN-train: {_order(ranked, 'gan_train', True)}; GAN-test: {_order(ranked, 'gan_test', True)}",
                    verdict, see))
    covered = {m: v for m, v in values.items() if math.isfinite(v.get("coverage", math.nan))}
    if len(covered) >= 2:
        widest = max(covered, key=lambda m: covered[m]["gan_test"] - covered[m]["gan_train"])
        narrowest = min(covered, key=lambda m: covered[m]["coverage"])
        tied = sum(covered[m]["coverage"] == covered[narrowest]["coverage"] for m in covered) > 1
        w = covered[widest]
        out.append(("002", "A high GAN-test beside a low GAN-train marks a model short of diversity (PixelCNN++, "
                           "CIFAR-100)",
                    f"widest GAN-test − GAN-train gap: {widest} ({_f(w['gan_test'])} − {_f(w['gan_train'])}); "
                    f"lowest {_label(records, 'coverage')}: {narrowest} ({_f(covered[narrowest]['coverage'])})",
                    "not comparable: no GAN-test above its GAN-train" if w["gan_test"] <= w["gan_train"] else
                    "not comparable: tied coverage" if tied else "holds" if widest == narrowest else "does not hold",
                    see))
    return out
