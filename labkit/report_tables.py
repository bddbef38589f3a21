"""The papers' tables rebuilt from study records, with the papers' numbers beside ours.

Each builder takes the records of a study (`labkit.runs.load_records`) and returns a `PaperTable` or None
when the study recorded nothing for it. Paper numbers are quoted only where the source texts print them
(`seeds/` of the project's shared folder); where a paper states a finding without a number, the finding is
quoted in words so the reader can check the shape of ours.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# Table 1 of the VAE-quality paper (Leontev et al.): mean ± std as printed there.
PAPER_VAE_TABLE = {
    "real images": {"LAP": "0.184 ± 0.079", "IS": "4.98 ± 0.07"},
    "VAE + hard labels": {"LAP": "0.042 ± 0.031", "IS": "3.51 ± 0.05", "FID": "105.69 ± 0.61", "VAE-train": "0.78 ± 0.02"},
    "VAE + soft labels": {"LAP": "0.042 ± 0.031", "IS": "3.47 ± 0.07", "FID": "107.0 ± 1.1", "VAE-train": "0.82 ± 0.01"},
    "conditional VAE": {"LAP": "0.037 ± 0.026", "IS": "3.60 ± 0.03", "FID": "113.63 ± 0.81", "VAE-train": "0.66 ± 0.02",
                        "VAE-test": "0.65 ± 0.03"},
    "VAE + soft labels + perceptual loss": {"LAP": "0.080 ± 0.037", "IS": "4.17 ± 0.07", "FID": "95.31 ± 0.94",
                                            "VAE-train": "0.84 ± 0.01"},
    "VAE + soft labels + confidence ≥ 0.9": {"LAP": "0.049 ± 0.033", "IS": "3.53 ± 0.05", "FID": "95.8 ± 1.5",
                                             "VAE-train": "0.786 ± 0.007"},
}

# Table 1 of the controlled-generation paper (Saladukha & Kovalev): 6000 histology images, Inception features.
# "–": the paper reports that variant did not converge. Keys are our GAN variant names.
PAPER_GAN_TABLE = {
    "wgan-clip": {"IS": "–", "FID": "–", "LPIPS": "–", "PPL": "–"},
    "wgan-gp": {"IS": "2.29", "FID": "273.53", "LPIPS": "0.69", "PPL": "1.5"},
    "wgan-sn": {"IS": "–", "FID": "–", "LPIPS": "–", "PPL": "–"},
    "wgan-sn-gp": {"IS": "1.18", "FID": "263.94", "LPIPS": "0.70", "PPL": "1.51"},
    "r3gan": {"IS": "2.10", "FID": "267.90", "LPIPS": "0.67", "PPL": "1.45"},
}

# The degradation study of "How good is my GAN?" (CIFAR-10), as findings; keys are degradation kinds.
PAPER_DEGRADATION = {
    "subsample": "GAN-train falls, GAN-test does not",
    "salt_pepper": "1-20% of pixels: GAN-train barely moves, GAN-test falls strongly",
}

# The class-subset experiment of Sajjadi et al. (P = first 5 classes, Q_i = first i), as findings.
PAPER_CLASS_SUBSET = {"below": "recall below its i = 5 value", "at": "best: precision and recall both high",
                      "above": "precision falls, recall stays"}

# Display names and order of the metrics; anything else recorded is shown under its own name, after these.
METRIC_NAMES = {"lap": "LAP", "is": "IS", "fid": "FID", "fid_5k": "FID-5k", "kid": "KID", "prd_f8": "F8",
                "prd_f1_8": "F1/8", "precision": "precision", "recall": "recall", "density": "density",
                "coverage": "coverage", "cmmd": "CMMD", "gan_train": "GAN-train", "gan_test": "GAN-test"}
# Protocol fields summarised in a row's protocol column, with their labels.
PROTOCOL_FIELDS = (("extractor", "features"), ("n_real", "n_real"), ("n_fake", "n_fake"), ("n", "n"),
                   ("n_per_class", "n/class"), ("repeats", "repeats"), ("seeds", "seeds"), ("split", "split"),
                   ("steps", "steps"), ("gan_train_steps", "GAN-train steps"), ("n_test", "n_test"),
                   ("labels", "labels"))


@dataclass(frozen=True)
class PaperTable:
    """One table of the report.

    Args:
        title: section heading.
        table: rows of the table, cells as text.
        note: what the paper columns are and where they come from (one paragraph).
    """

    title: str
    table: pd.DataFrame
    note: str = ""


def _cells(df: pd.DataFrame) -> list[str]:
    from .report import format_value
    stds = df["std"] if "std" in df else [None] * len(df)
    return [format_value(v, s) for v, s in zip(df["value"], stds)]


def _plain(v) -> str:
    if isinstance(v, float):
        return "–" if v != v else f"{v:g}"
    return str(v)


def protocol_text(df: pd.DataFrame) -> str:
    """'features classifier; n_real 10000; ...' from the protocol fields the records of one row share."""
    parts = []
    for key, label in PROTOCOL_FIELDS:
        if key in df:
            values = sorted({_plain(v) for v in df[key].dropna()})
            if values:
                parts.append(f"{label} {'/'.join(values)}")
    return "; ".join(parts)


def _metric_label(metric: str, renames: dict[str, str]) -> str:
    return renames.get(metric) or METRIC_NAMES.get(metric) or metric


def pivot(records: pd.DataFrame, run_prefix: str, row: str = "model", metrics: list[str] | None = None,
          renames: dict[str, str] | None = None, protocol: bool = True, skip: tuple[str, ...] = (),
          **where) -> pd.DataFrame:
    """Rows = values of `row`, columns = metrics (known ones first), cells 'value ± std', plus a protocol column.

    Args:
        records: the study's records.
        run_prefix: keep records of runs whose id starts with it (`04_evaluate`).
        row: the protocol field naming a row.
        metrics: keep only these metric names; default all.
        renames: metric -> column label, over `METRIC_NAMES`.
        protocol: add a `protocol` column summarising `PROTOCOL_FIELDS` per row.
        skip: protocol fields left out of that column (ones that do not bear on these numbers).
        where: field=value filters (`table="table1"`).
    """
    renames = renames or {}
    if records.empty or row not in records or "run" not in records:
        return pd.DataFrame()
    df = records[records["run"].astype(str).str.startswith(run_prefix) & records[row].notna()]
    for key, value in where.items():
        df = df[df[key] == value] if key in df else df.iloc[0:0]
    if metrics:
        df = df[df["metric"].isin(metrics)]
    if df.empty:
        return pd.DataFrame()
    df = df.assign(cell=_cells(df))
    table = df.pivot_table(index=row, columns="metric", values="cell", aggfunc="last", sort=False)
    known = [m for m in (metrics or list(METRIC_NAMES)) if m in table.columns]
    order = known + [m for m in table.columns if m not in known]
    out = table[order].rename(columns=lambda m: _metric_label(m, renames)).fillna("")
    out.columns.name = None
    if protocol:
        out["protocol"] = [protocol_text(df[df[row] == r].drop(columns=list(skip), errors="ignore"))
                           for r in out.index]
    return out.reset_index()


def beside(ours: pd.DataFrame, paper: dict[str, str | None], row: str = "model",
           lookup=lambda name: name) -> pd.DataFrame:
    """Insert '<column> (paper)' right after each of our columns that the paper reports, matched per row.

    Args:
        ours: a `pivot` table.
        paper: row key -> {column label: paper cell}.
        lookup: our row name -> paper row key (None when the paper has no such row).
    """
    columns = {c for cells in paper.values() for c in cells}
    out = ours.copy()
    keys = [lookup(name) for name in out[row]]
    for c in [c for c in ours.columns if c in columns]:
        cells = [paper.get(k, {}).get(c, "") if k else "" for k in keys]
        if not any(cells):  # none of our rows is in the paper
            continue
        out.insert(out.columns.get_loc(c) + 1, f"{c} (paper)", cells)
    return out


def _vae_key(name: str) -> str | None:
    """'2 VAE + soft labels' -> 'VAE + soft labels'; the confidence row matches only at the paper's 0.9."""
    bare = re.sub(r"^\d+\s+", "", str(name)).strip()
    return bare if bare in PAPER_VAE_TABLE else None


def vae_table(records: pd.DataFrame) -> PaperTable | None:
    """The VAE paper's Table 1: records of 04 with table='table1'."""
    ours = pivot(records, "04_evaluate", table="table1", renames={"gan_train": "VAE-train", "gan_test": "VAE-test"})
    if ours.empty:
        return None
    return PaperTable("Table 1 of the VAE paper (Fashion-MNIST)", beside(ours, PAPER_VAE_TABLE, lookup=_vae_key),
                      "Paper columns: Leontev et al., Table 1, on Fashion-MNIST with 1000 generated images per class; "
                      "the paper does not say which network computed IS and FID, so compare orderings, not values. "
                      "LAP ± is over images, every other ± over repeats.")


def _gan_key(name: str) -> str | None:
    bare = re.sub(r"^GAN\s+", "", str(name)).strip()
    return bare if bare in PAPER_GAN_TABLE else None


def gan_table(records: pd.DataFrame) -> PaperTable | None:
    """The GAN table: records of 04 with table='gans'; any metric recorded there (LPIPS, PPL, CMMD, ...) is shown."""
    ours = pivot(records, "04_evaluate", table="gans")
    if ours.empty:
        return None
    # The paper's LPIPS and PPL sit beside whichever of our columns measures them (names vary by recorder).
    paper = {k: dict(v) for k, v in PAPER_GAN_TABLE.items()}
    for col in ours.columns:
        low = col.lower()
        for tag in ("LPIPS", "PPL"):
            if tag.lower() in low and col != tag:
                for cells in paper.values():
                    cells.setdefault(col, cells.get(tag, ""))
    return PaperTable("GAN table", beside(ours, paper, lookup=_gan_key),
                      "Paper columns: Saladukha & Kovalev, Table 1: 6000 histology images, Inception features, so "
                      "only the orderings can be compared; '–' marks variants the paper reports did not converge "
                      "(weight clipping, SN alone). For MNIST, 'How good is my GAN?' reports SNGAN at GAN-train "
                      "99.0% and GAN-test 99.2% against a 4-layer CNN's 99.3% test accuracy.")


def _degradation_kind(name: str) -> str:
    return re.split(r"[\s(=:]", str(name).strip(), maxsplit=1)[0]


def degradation_table(records: pd.DataFrame) -> PaperTable | None:
    """The degradation study: records of 06 named degradation_<metric>, one row per degraded training set."""
    if records.empty or "metric" not in records:
        return None
    deg = records[records["metric"].astype(str).str.startswith("degradation_")]
    deg = deg.assign(metric=deg["metric"].str.removeprefix("degradation_"))
    ours = pivot(deg, "06_validate_metrics")
    if ours.empty:
        return None
    ours["protocol"] = ["features classifier (C1 penultimate); " + p for p in ours["protocol"]]
    kinds = [_degradation_kind(m) for m in ours["model"]]
    ours.insert(1, "paper finding", [next((v for k, v in PAPER_DEGRADATION.items() if kind.startswith(k)), "")
                                     for kind in kinds])
    return PaperTable("Degradation study (GAN-train / GAN-test validation)", ours,
                      "Paper: 'How good is my GAN?' on CIFAR-10, in words. Its numbers there: FID 27.1 for the "
                      "training set with Gaussian noise and 29.6 for a random 5k subset with the same noise, while "
                      "GAN-train falls from 91% to 80% on the subset: FID cannot tell diversity from quality.")


def class_subset_table(records: pd.DataFrame) -> PaperTable | None:
    """The class-subset experiment: records of 06 named class_subset_<metric>, one row per i (Q_i = first i classes)."""
    if records.empty or "metric" not in records or "i" not in records:
        return None
    sub = records[records["metric"].astype(str).str.startswith("class_subset_")]
    sub = sub.assign(metric=sub["metric"].str.removeprefix("class_subset_"))
    ours = pivot(sub, "06_validate_metrics", row="i", skip=("gan_train_steps",))
    if ours.empty:
        return None
    ours["i"] = [int(i) if float(i).is_integer() else i for i in ours["i"]]
    ours = ours.sort_values("i", kind="stable").reset_index(drop=True)
    ours["protocol"] = ["features classifier (C1 penultimate); P = first 5 classes; " + p for p in ours["protocol"]]
    ours.insert(1, "paper finding", [PAPER_CLASS_SUBSET["below" if i < 5 else "at" if i == 5 else "above"]
                                     for i in ours["i"]])
    return PaperTable("Class-subset experiment (PRD)", ours,
                      "Paper: Sajjadi et al. on CIFAR-10 (figure 7, no numbers printed): recall rises until i = 5, "
                      "precision falls after; IS keeps rising; FID is U-shaped and can be equal at i = 4 and i = 6 "
                      "while PRD tells them apart.")


def saturation_table(records: pd.DataFrame) -> PaperTable | None:
    """The diversity-saturation summary of 05: per curve, plateau accuracy, effective size and saturation point."""
    if records.empty or "curve" not in records:
        return None
    recs = records[records["run"].astype(str).str.startswith("05_") & records["curve"].notna()]
    names = {"plateau_accuracy": "plateau VAE-train", "saturation_n": "saturation n/class"}
    ours = pivot(recs, "05_", row="curve", metrics=["plateau_accuracy", "effective_size", "saturation_n"],
                 renames={**names, "effective_size": "effective size /class"})
    if ours.empty:
        return None
    eff = recs[recs["metric"] == "effective_size"]
    if not eff.empty and "effective size /class" in ours:
        detail = {}
        for r in eff.itertuples():
            rng = f" [{_plain(getattr(r, 'low', ''))}, {_plain(getattr(r, 'high', ''))}]" if hasattr(r, "low") else ""
            detail[r.curve] = f"{_plain(r.value)}{rng} {getattr(r, 'status', '')}".strip()
        ours["effective size /class"] = [detail.get(c, v) for c, v in zip(ours["curve"], ours["effective size /class"])]
    if "saturation n/class" in ours and "saturated" in recs:
        sat = recs[recs["metric"] == "saturation_n"].set_index("curve")["saturated"].to_dict()
        ours["saturation n/class"] = [f"{v}" + ("" if sat.get(c, True) in (True, "True", 1) else " (not saturated)")
                                      for c, v in zip(ours["curve"], ours["saturation n/class"])]
    ours.insert(1, "paper", ["≈7000 images/class (model 2, VAE + soft labels)" if "vae" in str(c).lower() else ""
                             for c in ours["curve"]])
    return PaperTable("Diversity saturation", ours,
                      "Paper: Leontev et al., figure 3: VAE-train of model 2 saturates at about 7000 generated images "
                      "per class, close to the 6000 real images per class. Effective size: real images per class "
                      "that give the plateau's accuracy [at plateau ∓ std], with its status.")


BUILDERS = (vae_table, gan_table, degradation_table, class_subset_table, saturation_table)


def paper_tables(records: pd.DataFrame) -> list[PaperTable]:
    """The tables the report leads with, in order; the ones the study has no records for are left out."""
    return [t for t in (build(records) for build in BUILDERS) if t is not None and not t.table.empty]
