"""The papers' tables rebuilt from study records, with the papers' numbers beside ours.

Each builder takes the records of a study (`labkit.core.runs.load_records`) and returns a `PaperTable` or None
when the study recorded nothing for it. Paper numbers are quoted only where the source texts print them
(`seeds/` of the project's shared folder); where a paper states a finding without a number, the finding is
quoted in words so the reader can check the shape of ours.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..core.record import format_mean_std
from ..metrics import names
from .conditional_gans import reading
from .legend import Paper, legend, paper_label

# Table 1 of the VAE-quality paper (Leontev et al.): mean ± std as printed there, by our metric keys.
_VAE_CELLS = {
    "real images": {"lap": "0.184 ± 0.079", "is": "4.98 ± 0.07"},
    "VAE + hard labels": {"lap": "0.042 ± 0.031", "is": "3.51 ± 0.05", "fid": "105.69 ± 0.61", "gan_train": "0.78 ± 0.02"},
    "VAE + soft labels": {"lap": "0.042 ± 0.031", "is": "3.47 ± 0.07", "fid": "107.0 ± 1.1", "gan_train": "0.82 ± 0.01"},
    "conditional VAE": {"lap": "0.037 ± 0.026", "is": "3.60 ± 0.03", "fid": "113.63 ± 0.81", "gan_train": "0.66 ± 0.02",
                        "gan_test": "0.65 ± 0.03"},
    "VAE + soft labels + perceptual loss": {"lap": "0.080 ± 0.037", "is": "4.17 ± 0.07", "fid": "95.31 ± 0.94",
                                            "gan_train": "0.84 ± 0.01"},
    "VAE + soft labels + confidence ≥ 0.9": {"lap": "0.049 ± 0.033", "is": "3.53 ± 0.05", "fid": "95.8 ± 1.5",
                                             "gan_train": "0.786 ± 0.007"},
}
PAPER_VAE = Paper.from_cells("Leontev et al., Table 1 (Fashion-MNIST, 1000 generated images per class)", _VAE_CELLS, {
    "lap": ("variance of the Laplacian, mean ± std over images", ()),
    "is": ("Inception Score from a network the paper does not name", None),
    "fid": ("FID in a feature space the paper does not name", None),
    "gan_train": ("VAE-train: accuracy on the real test set of a classifier trained 20 epochs on the generated "
                  "set", ()),
    "gan_test": ("VAE-test: accuracy of the real-trained classifier on the conditional VAE's images", ())})

# Table 1 of the controlled-generation paper (Saladukha & Kovalev): 6000 histology images. "–": the paper
# reports that variant did not converge. Row keys are our GAN variant names.
_GAN_CELLS = {
    "wgan-clip": {"is": "–", "fid": "–", "lpips_to_real": "–", "ppl": "–"},
    "wgan-gp": {"is": "2.29", "fid": "273.53", "lpips_to_real": "0.69", "ppl": "1.5"},
    "wgan-sn": {"is": "–", "fid": "–", "lpips_to_real": "–", "ppl": "–"},
    "wgan-sn-gp": {"is": "1.18", "fid": "263.94", "lpips_to_real": "0.70", "ppl": "1.51"},
    "r3gan": {"is": "2.10", "fid": "267.90", "lpips_to_real": "0.67", "ppl": "1.45"},
}
PAPER_GAN = Paper.from_cells("Saladukha & Kovalev, Table 1", _GAN_CELLS, {
    "is": ("Inception Score from Inception-v3's ImageNet softmax", ("inception",)),
    "fid": ("FID on Inception-v3 features", ("inception",)),
    "lpips_to_real": ("LPIPS (AlexNet or VGG) between generated and real images, lower = closer",
                      ("lpips-alex", "lpips-vgg")),
    "ppl": ("perceptual path length under LPIPS (AlexNet or VGG)", ("lpips-alex", "lpips-vgg"))},
    other_data="6000 histology images, not Fashion-MNIST")

# The degradation study of "How good is my GAN?" (CIFAR-10), as findings; keys are degradation kinds.
PAPER_DEGRADATION = {
    "subsample": "GAN-train falls, GAN-test does not",
    "salt_pepper": "1-20% of pixels: GAN-train barely moves, GAN-test falls strongly",
}

# The class-subset experiment of Sajjadi et al. (P = first 5 classes, Q_i = first i), as findings.
PAPER_CLASS_SUBSET = {"below": "recall below its i = 5 value", "at": "best: precision and recall both high",
                      "above": "precision falls, recall stays"}

# Experiments of notebook 06 whose records carry their name as a prefix (`degradation_fid`), as they always have.
PREFIXED = ("degradation", "class_subset", "truncation")

# Protocol fields summarised in a row's protocol column, with their labels.
PROTOCOL_FIELDS = (("extractor", "features"), ("n_real", "n_real"), ("n_fake", "n_fake"), ("n", "n"),
                   ("n_per_class", "n/class"), ("repeats", "repeats"), ("seeds", "seeds"), ("split", "split"),
                   ("steps", "steps"), ("gan_train_steps", "GAN-train steps"), ("n_test", "n_test"),
                   ("labels", "labels"), ("max_epochs", "max epochs"), ("patience", "early-stopping patience"))


@dataclass(frozen=True)
class PaperTable:
    """One table of the report.

    Args:
        title: section heading.
        table: rows of the table, cells as text.
        note: what the table shows and how to read it against the paper (one paragraph).
        legend: (column, definition) for every column, in order: feature spaces, and where a number of
            ours differs in kind from the paper's beside it.
        figures: file names of the figures the table explains (`equal_fid_prd.png`), shown with it.
        links: a column whose cells name other sections; the report makes them links.
    """

    title: str
    table: pd.DataFrame
    note: str = ""
    legend: tuple[tuple[str, str], ...] = ()
    figures: tuple[str, ...] = ()
    links: str = ""


def _cells(df: pd.DataFrame) -> list[str]:
    stds = df["std"] if "std" in df else [None] * len(df)
    return [format_mean_std(v, s) for v, s in zip(df["value"], stds)]


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


def select(records: pd.DataFrame, experiment: str, row: str = "model", metrics: list[str] | None = None,
           **where) -> pd.DataFrame:
    """The records of one table: those of `experiment` (their protocol field), with a `row` field, matching
    `where`; the experiments of `PREFIXED` (`degradation_fid`) get their metric names back bare."""
    if records.empty or row not in records or "experiment" not in records:
        return pd.DataFrame()
    df = records[(records["experiment"] == experiment) & records[row].notna()]
    if experiment in PREFIXED:
        df = df.assign(metric=df["metric"].astype(str).str.removeprefix(f"{experiment}_"))
    for key, value in where.items():
        df = df[df[key] == value] if key in df else df.iloc[0:0]
    return df[df["metric"].isin(metrics)] if metrics else df


def columns_of(selected: pd.DataFrame, metrics: list[str] | None = None, renames: dict[str, str] | None = None,
               space: str | None = None) -> dict[str, tuple[str, str | None]]:
    """metric -> (column label, feature space), in display order (`names.order_key`; `metrics` when given).

    The space is what the metric's records name in its `space_field` (`extractor`, `distance`); `space` is
    the default for records that name none. Records of one metric in several spaces are labelled 'C1/pixels'.
    """
    renames = renames or {}
    present = list(dict.fromkeys(selected["metric"])) if not selected.empty else []
    order = [m for m in metrics if m in present] if metrics else sorted(present, key=names.order_key)
    out = {}
    for m in order:
        field = names.metric_name(m).space_field
        own = selected.loc[selected["metric"] == m, field].dropna() if field and field in selected else []
        found = sorted({str(v) for v in own}) or ([space] if field and space else [])
        sp = "/".join(found) or None
        out[m] = (names.label(m, sp, renames.get(m)), sp)
    return out


def pivot(records: pd.DataFrame, experiment: str, row: str = "model", metrics: list[str] | None = None,
          renames: dict[str, str] | None = None, protocol: bool = True, skip: tuple[str, ...] = (),
          space: str | None = None, **where) -> pd.DataFrame:
    """Rows = values of `row`, columns = metrics under their labels, cells 'value ± std', plus a protocol column.

    Args:
        records: the study's records.
        experiment: keep the records of this experiment (`table1`).
        row: the protocol field naming a row.
        metrics: keep only these metric names; default all.
        renames: metric -> bare name replacing the usual one (`VAE-train`); labels still carry the space.
        protocol: add a `protocol` column summarising `PROTOCOL_FIELDS` per row.
        skip: protocol fields left out of that column (ones that do not bear on these numbers).
        space: feature space of records that name none (see `columns_of`).
        where: field=value filters.
    """
    df = select(records, experiment, row, metrics, **where)
    if df.empty:
        return pd.DataFrame()
    columns = columns_of(df, metrics, renames, space)
    df = df.assign(cell=_cells(df))
    table = df.pivot_table(index=row, columns="metric", values="cell", aggfunc="last", sort=False)
    out = table[list(columns)].rename(columns={m: label for m, (label, _) in columns.items()}).fillna("")
    out.columns.name = None
    if protocol:
        out["protocol"] = [protocol_text(df[df[row] == r].drop(columns=list(skip), errors="ignore"))
                           for r in out.index]
    return out.reset_index()


def beside(ours: pd.DataFrame, paper: Paper, columns: dict[str, tuple[str, str | None]], row: str = "model",
           lookup=lambda name: name, renames: dict[str, str] | None = None) -> pd.DataFrame:
    """Insert the paper's column right after each of ours that measures the same metric, matched per row.

    Args:
        ours: a `pivot` table.
        paper: the paper's columns by metric.
        columns: `columns_of` the table: metric -> (our label, space).
        lookup: our row name -> paper row key (None when the paper has no such row).
        renames: as in `pivot`; names the paper's column (`VAE-train (paper)`).
    """
    out = ours.copy()
    keys = [lookup(name) for name in out[row]]
    for metric, column in paper.columns.items():
        if metric not in columns:
            continue  # no column of ours measures it: the paper's number stands beside nothing
        cells = [column.cells.get(k, "") if k else "" for k in keys]
        if any(cells):
            out.insert(out.columns.get_loc(columns[metric][0]) + 1, paper_label(metric, renames), cells)
    return out


def _paper_table(title: str, records: pd.DataFrame, experiment: str, paper: Paper, lookup, note: str,
                 renames: dict[str, str] | None = None) -> PaperTable | None:
    """A table of an experiment's records with the paper's columns beside ours, and its legend."""
    selected = select(records, experiment)
    ours = pivot(records, experiment, renames=renames)
    if ours.empty:
        return None
    columns = columns_of(selected, renames=renames)
    matched = Paper(paper.source, {m: c for m, c in paper.columns.items()
                                   if any(c.cells.get(lookup(r), "") for r in ours["model"] if lookup(r))},
                    paper.other_data)
    return PaperTable(title, beside(ours, matched, columns, lookup=lookup, renames=renames), note,
                      tuple(legend(selected, columns, matched, renames)))


def _vae_key(name: str) -> str | None:
    """'2 VAE + soft labels' -> 'VAE + soft labels'; the confidence row matches only at the paper's 0.9."""
    bare = re.sub(r"^\d+\s+", "", str(name)).strip()
    return bare if bare in _VAE_CELLS else None


def vae_table(records: pd.DataFrame) -> PaperTable | None:
    """The VAE paper's Table 1: the records of experiment `table1`."""
    return _paper_table("Table 1 of the VAE paper (Fashion-MNIST)", records, "table1", PAPER_VAE, _vae_key,
                        "Our numbers, then the paper's beside each column that measures the same metric; the legend "
                        "defines every column and says where ours differs in kind from the paper's. A model that "
                        "could not be evaluated keeps its row, with the reason under 'not evaluated'.", names.VAE_PAPER_NAMES)


def _gan_key(name: str) -> str | None:
    bare = re.sub(r"^GAN\s+", "", str(name)).strip()
    return bare if bare in _GAN_CELLS else None


def gan_table(records: pd.DataFrame) -> PaperTable | None:
    """The GAN table: the records of experiment `gan_table`; every metric recorded there is shown, with the
    conditional GANs' GAN-train and GAN-test read as "How good is my GAN?" reads them (`conditional_gans`)."""
    return _paper_table("GAN table", records, "gan_table", PAPER_GAN, _gan_key,
                        "Our numbers, then the controlled-generation paper's beside each column that measures the same "
                        "metric ('–': variants the paper reports did not converge: weight clipping, SN alone). The "
                        "paper measured histology images with ImageNet networks, so only orderings compare. For MNIST, "
                        "'How good is my GAN?' reports SNGAN at GAN-train 99.0% and GAN-test 99.2% against a 4-layer "
                        "CNN's 99.3% test accuracy. " + reading(records))


def _legend_of(records: pd.DataFrame, experiment: str, row: str, metrics: list[str] | None = None,
               renames: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The legend of a table without paper columns beside ours (validation experiments, saturation)."""
    selected = select(records, experiment, row, metrics)
    return tuple(legend(selected, columns_of(selected, metrics, renames, "classifier"), renames=renames))


def _degradation_kind(name: str) -> str:
    return re.split(r"[\s(=:]", str(name).strip(), maxsplit=1)[0]


def degradation_table(records: pd.DataFrame) -> PaperTable | None:
    """The degradation study: the records of experiment `degradation`, one row per degraded training set."""
    ours = pivot(records, "degradation", space="classifier")
    if ours.empty:
        return None
    kinds = [_degradation_kind(m) for m in ours["model"]]
    ours.insert(1, "paper finding", [next((v for k, v in PAPER_DEGRADATION.items() if kind.startswith(k)), "")
                                     for kind in kinds])
    finding = ("paper finding", "what 'How good is my GAN?' reports for this kind of degradation, in words (CIFAR-10, "
                                "Inception features for FID): our rows should move the same way")
    return PaperTable("Degradation study (GAN-train / GAN-test validation)", ours,
                      "Paper: 'How good is my GAN?' on CIFAR-10, in words. Its numbers there: FID 27.1 for the "
                      "training set with Gaussian noise and 29.6 for a random 5k subset with the same noise, while "
                      "GAN-train falls from 91% to 80% on the subset: FID cannot tell diversity from quality. Here a "
                      "'generated set' is the degraded training set.",
                      (finding, *_legend_of(records, "degradation", "model")))


def class_subset_table(records: pd.DataFrame) -> PaperTable | None:
    """The class-subset experiment: the records of experiment `class_subset`, one row per i (Q_i = first i classes)."""
    ours = pivot(records, "class_subset", row="i", skip=("gan_train_steps",), space="classifier")
    if ours.empty:
        return None
    ours["i"] = [int(i) if float(i).is_integer() else i for i in ours["i"]]
    ours = ours.sort_values("i", kind="stable").reset_index(drop=True)
    ours["protocol"] = ["P = first 5 classes; " + p for p in ours["protocol"]]
    ours.insert(1, "paper finding", [PAPER_CLASS_SUBSET["below" if i < 5 else "at" if i == 5 else "above"]
                                     for i in ours["i"]])
    finding = ("paper finding", "what Sajjadi et al. report at this i, in words (CIFAR-10, Inception features)")
    return PaperTable("Class-subset experiment (PRD)", ours,
                      "Paper: Sajjadi et al. on CIFAR-10 (figure 7, no numbers printed): recall rises until i = 5, "
                      "precision falls after; IS keeps rising; FID is U-shaped and can be equal at i = 4 and i = 6 "
                      "while PRD tells them apart. Here P and each Q_i are real images, so 'generated' in the legend "
                      "means Q_i.", (finding, *_legend_of(records, "class_subset", "i")))


def saturation_table(records: pd.DataFrame) -> PaperTable | None:
    """The diversity-saturation summary of 05: per curve, plateau accuracy, effective size and saturation point."""
    recs = select(records, "saturation", row="curve")
    metrics = ["plateau_accuracy", "effective_size", "saturation_n"]
    ours = pivot(records, "saturation", row="curve", metrics=metrics, renames={"plateau_accuracy": "plateau VAE-train"})
    if ours.empty:
        return None
    eff = recs[recs["metric"] == "effective_size"]
    if not eff.empty and "effective size /class" in ours:
        detail = {}
        for r in eff.itertuples():
            shown = getattr(r, "shown", None)
            if isinstance(shown, str) and shown:  # "120 [80, 200]", "< 1" below every real size, "> 3000" above
                detail[r.curve] = shown + ("" if getattr(r, "status", "ok") == "ok" else f" ({r.status})")
                continue
            rng = f" [{_plain(getattr(r, 'low', ''))}, {_plain(getattr(r, 'high', ''))}]" if hasattr(r, "low") else ""
            detail[r.curve] = f"{_plain(r.value)}{rng} {getattr(r, 'status', '')}".strip()
        ours["effective size /class"] = [detail.get(c, v) for c, v in zip(ours["curve"], ours["effective size /class"])]
    if "saturation n/class" in ours and "saturated" in recs:
        sat = recs[recs["metric"] == "saturation_n"].set_index("curve")["saturated"].to_dict()
        ours["saturation n/class"] = [f"{v}" + ("" if sat.get(c, True) in (True, "True", 1) else " (not saturated)")
                                      for c, v in zip(ours["curve"], ours["saturation n/class"])]
    failed = recs[recs["metric"] == "pool_failed"].drop_duplicates("curve", keep="last")
    failed = failed[~failed["curve"].isin(ours["curve"])]
    if not failed.empty:  # a generator without a balanced pool still gets its row, saying why it has no curve
        why = [str(r).split(";")[0] for r in failed.get("reason", [""] * len(failed))]
        ours = pd.concat([ours, pd.DataFrame({"curve": failed["curve"].tolist(),
                                              "effective size /class": [f"left out: {w}" for w in why]})],
                         ignore_index=True).fillna("")
    ours.insert(1, "paper", ["≈7000 images/class (model 2, VAE + soft labels)" if "vae" in str(c).lower() else ""
                             for c in ours["curve"]])
    paper = ("paper", "Leontev et al., figure 3: where VAE-train of model 2 (VAE + soft labels) saturates")
    return PaperTable("Diversity saturation", ours,
                      "Paper: Leontev et al., figure 3: VAE-train of model 2 saturates at about 7000 generated images "
                      "per class, close to the 6000 real images per class. " + _real_curve(recs),
                      (paper, *_legend_of(records, "saturation", "curve", metrics, {"plateau_accuracy": "plateau VAE-train"})),
                      figures=("saturation.png",))


def _real_curve(recs: pd.DataFrame) -> str:
    """One sentence on the real curve the effective sizes are read from: its accuracy at each size."""
    real = recs[(recs["metric"] == "saturation_accuracy") & (recs["curve"] == "real")]
    if real.empty or "n_per_class" not in real:
        return ""
    real = real.drop_duplicates("n_per_class", keep="last").sort_values("n_per_class")
    points = ", ".join(f"{float(v):.3g} at {float(n):g}" for n, v in zip(real["n_per_class"], real["value"]))
    return (f"Real curve (the reference; accuracy at images/class): {points}. An effective size '< n' lies below "
            "the real curve's smallest size n, '> n' above its largest.")


BUILDERS = (vae_table, gan_table, degradation_table, class_subset_table, saturation_table)


def paper_tables(records: pd.DataFrame) -> list[PaperTable]:
    """The tables the report leads with, in order; the ones the study has no records for are left out."""
    return [t for t in (build(records) for build in BUILDERS) if t is not None and not t.table.empty]
