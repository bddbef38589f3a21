"""The study report: tables of records with their protocol, the papers' numbers beside ours, figures, timings.

Written as `report.html` and a Markdown twin `report.md` in the study directory; figures are linked
relatively, so the folder can be moved or zipped as a whole.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

from ..core import runs
from ..core.record import format_mean_std
from ..core.runtime import atomic_write_text
from ..diagnosis.verdicts import LABELS, TITLES, VERDICTS
from .findings import findings_table
from .paper_tables import PaperTable, paper_tables
from .runner import load_status
from .vae_tables import vae_tables
from .validation_tables import validation_tables

# Columns that describe where a number came from, shown beside it.
_HIDDEN = {"recorded_at", "run", "metric", "value", "std"}


def job_tables(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per job: metric, value ± std, and the protocol columns that vary or matter."""
    out = {}
    if records.empty:
        return out
    for job, df in records.groupby("run", sort=True):
        df = df.dropna(axis=1, how="all")
        proto = [c for c in df.columns if c not in _HIDDEN]
        table = pd.DataFrame({
            "metric": df["metric"],
            "value": [format_mean_std(v, s) for v, s in zip(df["value"], df.get("std", [None] * len(df)))],
        })
        for c in proto:
            table[c] = df[c].astype(str).values
        out[job] = table.reset_index(drop=True)
    return out


def diagnosis_sections(study_dir: Path) -> list[tuple]:
    """Per `evaluation.json` in the study (notebook 09): the four verdicts of every model, the deciding numbers,
    and each verdict's reason as the legend."""
    sections = []
    for path in sorted(study_dir.glob("*/evaluation.json")):
        doc = json.loads(path.read_text())
        rows, reasons = [], []
        for name, m in doc["models"].items():
            row = {"model": name, **{TITLES[k]: m["diagnosis"][k]["verdict"] for k in VERDICTS}}
            for k in VERDICTS:
                stat = doc["calibration"][k]["statistic"]
                row[LABELS[stat]] = f"{m['metrics'][stat]:.3g}"
                reasons.append((f"{name}, {TITLES[k]}", m["diagnosis"][k]["reason"]))
            rows.append(row)
        reasons += [(name, f"not judged: {why}") for name, why in doc.get("failed", {}).items()]
        p = doc["protocol"]
        note = (f"Notebook 09 (`{path.parent.name}/report.html`): {p['n']} samples per model against {p['reference']}, "
                f"{p['extractor']} features; each verdict's line calibrated on real held-out images and damaged "
                "copies of them (see that report's calibration section).")
        sections.append(("Diagnosis of every trained model", pd.DataFrame(rows), [], note, tuple(reasons)))
    return sections


def _figures(study_dir: Path) -> dict[str, list[Path]]:
    return {d.name: sorted(d.glob("*.png")) for d in sorted(study_dir.iterdir()) if d.is_dir() and any(d.glob("*.png"))}


def _take(figures: dict[str, list[Path]], wanted: tuple[str, ...]) -> list[Path]:
    """The figures named `wanted` (a file name, or `job/name` for one job's), moved out of the per-job lists (so
    each figure is shown once)."""
    out = []
    for name in wanted:
        for job, paths in figures.items():
            found = [p for p in paths if name in (p.name, f"{job}/{p.name}")]
            out += found
            figures[job] = [p for p in paths if p not in found]
    return out


def anchor(heading: str) -> str:
    """The id of a section: 'Equal FID, different failures (PRD)' -> 'equal-fid-different-failures-prd'."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def _timings(study_dir: Path) -> pd.DataFrame:
    rows = [{"job": Path(s["parameters"]["run_dir"]).name, "started": s.get("started", ""), "state": s["state"],
             "wall_s": s.get("wall_s"), "error": s.get("error", "")} for s in load_status(study_dir)]
    return pd.DataFrame(rows)


def _span_s(timings: pd.DataFrame) -> float:
    """Seconds from the first job's start to the last job's end (jobs run side by side, so less than their sum)."""
    start = pd.to_datetime(timings["started"], errors="coerce")
    end = start + pd.to_timedelta(timings["wall_s"].astype(float), unit="s")
    return float((end.max() - start.min()).total_seconds()) if start.notna().any() else float("nan")


def write_report(study_dir: str | Path) -> tuple[Path, Path]:
    """Write `report.html` and `report.md` for a study directory; return both paths."""
    study_dir = Path(study_dir)
    records = runs.load_records(study_dir)
    timings = _timings(study_dir)
    versions = next((json.loads(p.read_text()).get("versions") for p in study_dir.glob("*/metrics.json")), {})
    figures = _figures(study_dir)
    tables: list[PaperTable] = [t for t in (findings_table(records),) if t is not None]  # the findings lead,
    tables += [*paper_tables(records), *validation_tables(records)]  # then the papers' tables and 06's checks
    tables += vae_tables(records)  # seed 003's points of notebook 02
    sections = [(t.title, t.table, _take(figures, t.figures), t.note, t.legend, t.links) for t in tables]
    sections += [(*s, "") for s in diagnosis_sections(study_dir)]
    sections.append(("Timings per notebook", timings, [], "", (), ""))
    for job, table in job_tables(records).items():
        sections.append((f"Records of {job}", table, figures.pop(job, []), "", (), ""))
    sections += [(f"Figures of {job}", None, figs, "", (), "") for job, figs in figures.items() if figs]
    title = f"labkit study report: {study_dir.name}"
    total = timings["wall_s"].sum() if not timings.empty else 0
    span = _span_s(timings) if not timings.empty else float("nan")
    span_text = f", {span:.0f} s from the first start to the last end" if span == span else ""
    intro = (f"Study folder `{study_dir}`; {len(timings)} notebook runs, {total:.0f} s of notebook time{span_text}. "
             f"Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}.")
    md, body = [f"# {title}", "", intro, ""], [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(intro)}</p>"]
    for heading, df, figs, note, legend, links in sections:
        md += [f'<a id="{anchor(heading)}"></a>', "", f"## {heading}", ""]
        body.append(f'<h2 id="{anchor(heading)}">{html.escape(heading)}</h2>')
        if note:
            md += [note, ""]
            body.append(f'<p class="note">{html.escape(note)}</p>')
        if df is not None and not df.empty:
            shown = df.assign(**{links: [f"[{t}](#{anchor(t)})" for t in df[links]]}) if links else df
            md += [shown.to_markdown(index=False, disable_numparse=True), ""]  # cells are text: keep "2.10"
            if links:  # escape every cell here, so that only the links are markup
                shown = df.astype(str).map(html.escape).assign(
                    **{links: [f'<a href="#{anchor(t)}">{html.escape(t)}</a>' for t in df[links]]})
            body.append(shown.to_html(index=False, escape=not links, border=0, classes="table", na_rep=""))
        if legend:
            md += ["Legend:", "", *[f"- **{column}**: {text}" for column, text in legend], ""]
            body.append('<dl class="legend">' + "".join(f"<dt>{html.escape(c)}</dt><dd>{html.escape(t)}</dd>"
                                                        for c, t in legend) + "</dl>")
        for f in figs:
            rel = f.relative_to(study_dir).as_posix()
            md += [f"![{rel}]({rel})", ""]
            body.append(f'<figure><img src="{html.escape(rel)}" alt="{html.escape(rel)}"><figcaption>'
                        f"{html.escape(rel)}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             # wide tables scroll sideways; numbers stay on one line, the last (protocol) column wraps
             "table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em;display:block;overflow-x:auto}"
             "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;white-space:nowrap}"
             "td:last-child{white-space:normal;min-width:24em;font-size:11px;color:#555}"
             "img{max-width:100%;border:1px solid #eee}figure{display:inline-block;margin:.5em;max-width:48%}"
             "figcaption{font-size:11px;color:#666}.note{font-size:13px;color:#444}"
             ".legend{font-size:12px;color:#444;margin:0 0 2em}.legend dt{font-weight:bold;float:left;clear:left;"
             "margin-right:.5em}.legend dt::after{content:':'}.legend dd{margin:0 0 .3em}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
    return (atomic_write_text(page, study_dir / "report.html"), atomic_write_text("\n".join(md) + "\n", study_dir / "report.md"))

