"""Report sections of notebook 06's checks beyond the papers' tables: the equal-FID pair, the random-forest second
opinion and the t-SNE map, each a `PaperTable` with the figures it explains (None when the study has no records)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..metrics import names
from .paper_tables import PaperTable, _legend_of, _plain, pivot, select

EQUAL_FID_METRICS = ["fid", "prd_f8", "prd_f1_8", "precision", "recall", "density", "coverage", "classes_found",
                     "mean_confidence"]


def equal_fid_table(records: pd.DataFrame) -> PaperTable | None:
    """The equal-FID pair of 06: one row per set, FID beside PRD and the per-class summaries."""
    ours = pivot(records, "equal_fid", metrics=EQUAL_FID_METRICS, space="classifier",
                 skip=("gan_train_steps", "widths"))
    if ours.empty:
        return None
    degradation = select(records, "equal_fid").drop_duplicates("model").set_index("model").get("degradation")
    if degradation is not None:
        ours.insert(1, "built from", [f"first {_narrow(records)} classes, clean" if d == "none" else f"all classes, {d}"
                                      for d in degradation.reindex(ours["model"])])
    return PaperTable(
        "Equal FID, different failures (PRD)", ours,
        "Paper: Sajjadi et al. (the PRD review), on MNIST: two models with FID 49, one precise but covering few "
        "classes, one covering every class with poor images; their PRD curves tell them apart (high F1/8 and low F8 "
        "against the reverse) and per-class histograms show why. Here both sets are real Fashion-MNIST training "
        "images: the narrow one holds only the first classes, the broad one every class with a share of its images "
        "noised until C1 no longer sees their class, the share chosen by bisection so that the two FIDs (C1) match. "
        "The histogram shows C1's predictions per class against the real test set's shares (the black line); C1 "
        "labels most noised images Shirt or Bag, which is how the broad set's poor images show there.",
        _legend_of(records, "equal_fid", "model", EQUAL_FID_METRICS), ("equal_fid_prd.png", "equal_fid_classes.png"))


def _narrow(records: pd.DataFrame) -> str:
    picked = select(records, "equal_fid")
    return _plain(picked["narrow_classes"].dropna().iloc[0]) if "narrow_classes" in picked else "few"


def agreement(records: pd.DataFrame) -> pd.Series | None:
    """The `forest_rank_agreement` record of the study (its value and protocol), or None."""
    if records.empty or "experiment" not in records:
        return None
    found = records[(records["experiment"] == "second_opinion") & (records["metric"] == "forest_rank_agreement")]
    return None if found.empty else found.iloc[-1]


def second_opinion_table(records: pd.DataFrame) -> PaperTable | None:
    """GAN-train of the CNN and of the random forest per degraded set, and the agreement of their rankings."""
    metrics = ["gan_train_cnn", "gan_train_forest"]
    ours = pivot(records, "second_opinion", metrics=metrics, protocol=False)
    rho = agreement(records)
    if ours.empty or rho is None:
        return None
    same = ", ".join(f"{what} {'the same' if rho.get(f'same_{what}') in (True, 'True', 1) else 'differs'}"
                     for what in ("best", "worst"))
    return PaperTable(
        "Second opinion: random-forest GAN-train", ours,
        f"Paper: 'How good is my GAN?' checks GAN-train with a second classifier of another kind, a random forest, "
        f"and expects the same ranking of the models. Here the 'models' are notebook 06's degraded training sets; "
        f"the forest learns from their pixels. Spearman ρ of the two rankings over {_plain(rho.get('n_models'))} "
        f"sets: {rho['value']:.3f} (they count as agreeing from ρ ≥ {_plain(rho.get('agree_from'))}); {same}.",
        tuple((names.metric_name(m).label, names.definition(m)) for m in metrics))


def tsne_table(records: pd.DataFrame) -> PaperTable | None:
    """The t-SNE map of real and generated C1 features, with its mixing number."""
    df = select(records, "tsne", row="metric")
    if df.empty:
        return None
    row = df.iloc[-1]
    generator = row.get("generator")
    table = pd.DataFrame([{"generator": Path(generator).parent.name if isinstance(generator, str) else "", "real points": _plain(row.get("n_real")),
                           "generated points": _plain(row.get("n_fake")),
                           names.metric_name("tsne_generated_neighbours").label: f"{row['value']:.3f}",
                           "if the sets mixed": _plain(row.get("if_mixed"))}])  # the generator's job, not its path
    return PaperTable(
        "t-SNE of real and generated features", table,
        "Paper: 'How good is my GAN?' shows t-SNE maps of real and generated features: generated points away from "
        "every real cluster are images unlike the real ones, real clusters without generated points are dropped "
        "modes. Left panel by class (● real, × generated), right panel by source.",
        (("t-SNE generated-neighbour share", names.definition("tsne_generated_neighbours")),), ("tsne.png",))


BUILDERS = (equal_fid_table, second_opinion_table, tsne_table)


def validation_tables(records: pd.DataFrame) -> list[PaperTable]:
    """The sections above that the study has records for, in order."""
    return [t for t in (build(records) for build in BUILDERS) if t is not None and not t.table.empty]
