"""`report.html`, `report.md` and `evaluation.json` of an evaluation: the diagnosis first, then its evidence.

Figures are PNG files beside the reports, linked relatively, so the folder can be moved as a whole.
"""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..core.record import MetricRecord
from ..core.runtime import atomic_write_json, atomic_write_text
from . import figures
from .verdicts import LABELS, TITLES, VERDICTS

# Headline numbers: key -> column title (the feature space is named where the number depends on it)
HEADLINE = {"lap_ratio": "LAP ÷ real", "density": "density", "coverage": "coverage", "precision": "precision",
            "recall": "recall", "fd": "FD ({space})", "confidence": "classifier confidence",
            "is_classifier": "IS (classifier)", "ct": "C_T", "nn_share_close": "share closer than held-out 1%",
            "gan_test": "GAN-test (labelled samples)"}


def _g(x) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.3g}"
    return str(x)


def diagnosis_table(evaluation) -> pd.DataFrame:
    """Models × the four verdicts."""
    return pd.DataFrame([{"model": name, **{TITLES[k]: r.diagnosis[k].verdict for k in VERDICTS}}
                         for name, r in evaluation.models.items()])


def headline_table(evaluation) -> pd.DataFrame:
    """Models × headline numbers, each with its 95% bootstrap interval where one was computed."""
    space = evaluation.protocol["extractor"]
    rows = []
    for name, r in evaluation.models.items():
        row = {"model": name, "n": r.measured.values["n"]}
        for key, title in HEADLINE.items():
            if key not in r.measured.values:
                continue
            v, ci = r.measured.values[key], r.intervals.get(key)
            row[title.format(space=space)] = _g(float(v)) + (f" [{_g(ci[0])}, {_g(ci[1])}]" if ci else "")
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_table(evaluation) -> pd.DataFrame:
    return pd.DataFrame([{"verdict": TITLES[k], "decided by": LABELS[b.statistic],
                          "real images (mean ± 3 sd)": f"{_g(b.real_mean)} ± {_g(3 * b.real_std)}",
                          "damaged anchor": b.damage, "anchor value": _g(b.anchor),
                          "separates": "yes" if b.separates else "no"} for k, b in evaluation.bands.items()])


def class_table(result) -> pd.DataFrame:
    return pd.DataFrame([{"class": c["class"], "n": c["n"], "share": _g(c["share"]),
                          "reference share": _g(c["reference_share"]), "precision": _g(c["precision"]),
                          "recall": _g(c["recall"])} for c in result.classes])


def records(evaluation) -> list[MetricRecord]:
    """The headline numbers as records (`metrics.json`), each with its model, feature space and interval; the
    verdicts live in `evaluation.json`."""
    p = evaluation.protocol
    out = []
    for name, r in evaluation.models.items():
        for key in HEADLINE:
            if key in r.measured.values:
                ci = r.intervals.get(key)
                out.append(MetricRecord(key, float(r.measured.values[key]), protocol={
                    "experiment": "diagnosis", "model": name, "extractor": p["extractor"], "n": p["n"],
                    "reference": p["reference"], **({"ci95_low": ci[0], "ci95_high": ci[1]} if ci else {}),
                    **{f"verdict_{k}": r.diagnosis[k].verdict for k in VERDICTS}}))
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "model"


def save_figures(evaluation, out: Path) -> dict[str, list[Path]]:
    """Every figure of the report as PNG in `out`; section -> files."""
    made: dict[str, list[Path]] = {"calibration": [], "evidence": []}

    def save(fig, name, section):
        path = out / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        made[section].append(path)

    save(figures.calibration_chart(evaluation), "calibration.png", "calibration")
    save(figures.class_histogram(evaluation), "classes.png", "evidence")
    save(figures.prd_curves(evaluation, seed=evaluation.protocol["seed"]), "prd.png", "evidence")
    for name, r in evaluation.models.items():
        save(figures.sample_grid(r), f"samples-{_slug(name)}.png", "evidence")
        save(figures.nearest_pairs(r, evaluation.space), f"nearest-{_slug(name)}.png", "evidence")
    return made


def write_report(evaluation, out: str | Path) -> dict[str, Path]:
    """Write `evaluation.json`, the figures, `report.md` and `report.html` into `out`; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = evaluation.as_dict()
    json_path = atomic_write_json(doc, out / "evaluation.json")
    figs = save_figures(evaluation, out)
    p = evaluation.protocol
    intro = (f"{len(evaluation.models)} model(s), {p['n']} samples each, against {p['reference']} "
             f"({p['reference_halves']['compare']} images compared, {p['reference_halves']['held_out']} held out for "
             f"calibration); training set {p['train']}. Features: {p['extractor']}; classifier: "
             f"{p['classifier']['classifier']} ({p['classifier_held_out_accuracy']:.1%} on held-out real images). "
             f"{p['seconds']:.0f} s.")
    reasons = [f"**{name}** — {TITLES[k]}: **{r.diagnosis[k].verdict}**. {r.diagnosis[k].reason}"
               for name, r in evaluation.models.items() for k in VERDICTS]
    reasons += [f"**{name}** — not judged: {why}" for name, why in evaluation.failed.items()]
    ranking = pd.DataFrame([{"verdict": TITLES[k], "decided by": LABELS[evaluation.bands[k].statistic],
                             "best to worst": " > ".join(order)} for k, order in evaluation.ranking().items()])
    sections = [
        ("Diagnosis", diagnosis_table(evaluation), reasons, []),
        ("Ranking per verdict", ranking, [], []),
        ("Headline numbers (95% bootstrap intervals)", headline_table(evaluation), [], []),
        ("Calibration: where each verdict's line is drawn", calibration_table(evaluation),
         ["A verdict is **no** inside the range of real held-out images (mean ± 3 sd over 5 random sets of the "
          "judged size), **yes** at or beyond the value of real images damaged as named, **unclear** between."],
         figs["calibration"]),
        ("Evidence", None, [], figs["evidence"]),
        *[(f"Per class: {name}", class_table(r), [], []) for name, r in evaluation.models.items()],
        ("Protocol", None, ["```json", json.dumps(p, indent=1, default=str), "```"], []),
    ]
    title = "labkit evaluation"
    md, body = [f"# {title}", "", intro, ""], [f"<h1>{title}</h1>", f"<p>{html.escape(intro)}</p>"]
    for heading, df, lines, files in sections:
        md += [f"## {heading}", ""]
        body.append(f"<h2>{html.escape(heading)}</h2>")
        if df is not None and not df.empty:
            md += [df.to_markdown(index=False, disable_numparse=True), ""]
            table = df.to_html(index=False, escape=True, border=0, classes="table")
            for verdict in ("yes", "no", "unclear"):
                table = table.replace(f"<td>{verdict}</td>", f'<td class="{verdict}">{verdict}</td>')
            body.append(table)
        if lines:
            md += [*lines, ""]
            if lines[0] == "```json":
                body.append(f"<pre>{html.escape(chr(10).join(lines[1:-1]))}</pre>")
            else:
                body.append("<ul>" + "".join(f"<li>{_md_bold(x)}</li>" for x in lines) + "</ul>")
        for f in files:
            md += [f"![{f.name}]({f.name})", ""]
            body.append(f'<figure><img src="{html.escape(f.name)}" alt="{html.escape(f.name)}"></figure>')
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}"
             "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}"
             "td.yes{background:#f5c6c0;font-weight:bold}td.unclear{background:#fae1c0}td.no{background:#cdebd6}"
             "li{font-size:13px;margin:.2em 0}img{max-width:100%;border:1px solid #eee}figure{margin:.5em 0}"
             "pre{font-size:11px;background:#f6f6f6;padding:.5em;overflow-x:auto}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
    return {"json": json_path, "md": atomic_write_text("\n".join(md) + "\n", out / "report.md"),
            "html": atomic_write_text(page, out / "report.html")}


def _md_bold(text: str) -> str:
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
