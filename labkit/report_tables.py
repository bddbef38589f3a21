"""The papers' tables rebuilt from study records, with the papers' numbers beside ours."""
from __future__ import annotations

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


def pivot(records: pd.DataFrame, run_prefix: str, row: str = "model", metrics: list[str] | None = None) -> pd.DataFrame:
    """Rows = values of `row`, columns = metrics, cells 'value ± std', from the records of matching runs."""
    from .report import format_value
    if records.empty or row not in records:
        return pd.DataFrame()
    df = records[records["run"].str.startswith(run_prefix) & records[row].notna()]
    if metrics:
        df = df[df["metric"].isin(metrics)]
    if df.empty:
        return pd.DataFrame()
    cells = df.assign(cell=[format_value(v, s) for v, s in zip(df["value"], df.get("std", [None] * len(df)))])
    table = cells.pivot_table(index=row, columns="metric", values="cell", aggfunc="last")
    order = [m for m in (metrics or table.columns) if m in table.columns]
    return table[order].reset_index()


def paper_tables(records: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The tables the report leads with; empty ones are left out."""
    return []
