"""Legends of the report's tables: each column defined once, its feature space, and where it differs from the paper's.

The papers' columns are described here too: what the paper measured, and in which feature spaces our
number would be the same quantity. A legend entry of ours says so whenever our number differs in kind
(another network, a surrogate distance) from the paper's number printed beside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..metrics import names


@dataclass(frozen=True)
class PaperColumn:
    """One column of a paper's table.

    Args:
        cells: our row key -> the paper's cell as printed.
        measured: what the paper's number is, in words.
        spaces: our feature spaces in which ours is the same quantity; () when none is involved (LAP,
            VAE-train); None when the paper does not say which network it used.
    """

    cells: dict[str, str]
    measured: str
    spaces: tuple[str, ...] | None = ()


@dataclass(frozen=True)
class Paper:
    """A paper's table: where it comes from, and its columns by our metric key."""

    source: str
    columns: dict[str, PaperColumn] = field(default_factory=dict)
    other_data: str = ""  # the paper's data when it is not ours: then only orderings compare

    @classmethod
    def from_cells(cls, source: str, cells: dict[str, dict[str, str]],
                   measured: dict[str, tuple[str, tuple[str, ...] | None]], other_data: str = "") -> "Paper":
        """From the printed table (row -> metric -> cell) and, per metric, (what it measured, its spaces)."""
        return cls(source, {m: PaperColumn({row: c[m] for row, c in cells.items() if m in c}, text, spaces)
                            for m, (text, spaces) in measured.items()}, other_data)


def paper_label(metric: str, renames: dict[str, str] | None = None) -> str:
    """'IS (paper)': the paper's column, named after the bare metric."""
    return f"{(renames or {}).get(metric) or names.metric_name(metric).label} (paper)"


def _kind_note(metric: str, space: str | None, column: PaperColumn) -> str:
    """Where our number differs in kind from the paper's beside it; '' when it does not."""
    if column.spaces is None:
        return (f" The paper does not say which network computed its {names.metric_name(metric).label}; ours uses "
                f"{names.SPACES.get(space, space)}, so compare orderings, not values.")
    if column.spaces and space not in column.spaces:
        what = ", so it is a surrogate" if names.is_surrogate(metric, space) else ""
        return (f" Differs in kind from the paper's column ({column.measured}): ours is measured with "
                f"{names.SPACES.get(space, space)}{what}; compare orderings, not values.")
    return ""


def _spread(metric: str, records: pd.DataFrame) -> str:
    """What the ± of these records is over ('images', 'repeats (a fresh generated set each)'); '' without any ±."""
    if "std" not in records or not pd.to_numeric(records["std"], errors="coerce").notna().any():
        return ""
    over = sorted({str(v) for v in records.get("std_over", pd.Series(dtype=object)).dropna()})
    return " / ".join("repeats (a fresh generated set each)" if o == "repeats" else o
                      for o in over or [names.metric_name(metric).std_over])


def legend(selected: pd.DataFrame, columns: dict[str, tuple[str, str | None]], paper: Paper | None = None,
           renames: dict[str, str] | None = None, protocol: bool = True) -> list[tuple[str, str]]:
    """(column label, definition) for every column of a table, in its order, then the feature spaces used.

    Args:
        selected: the records the table was built from (one metric per record).
        columns: metric -> (our label, our feature space), in column order.
        paper: the paper whose columns stand beside ours, if any.
        renames: metric -> bare name (the VAE paper's VAE-train).
        protocol: the table has a protocol column.
    """
    entries, spaces = [], []
    for metric, (label, space) in columns.items():
        spread = _spread(metric, selected[selected["metric"] == metric])
        column = paper.columns.get(metric) if paper else None
        if column is not None and any(column.cells.values()):
            note = _kind_note(metric, space, column)  # says it all where ours is a surrogate of the paper's
            entries.append((label, names.definition(metric, space, spread, caveat=not note) + note))
            entries.append((paper_label(metric, renames),
                            f"{paper.source}: {column.measured}." + (f" The paper measured {paper.other_data}, so "
                                                                      "only orderings compare." if paper.other_data
                                                                      else "")))
        else:
            entries.append((label, names.definition(metric, space, spread)))
        if space and space not in spaces:
            spaces.append(space)
    if protocol:
        entries.append(("protocol", "what the row's records share: feature space, numbers of real and generated "
                                    "images, repeats, seeds, split, training steps"))
    entries += [(names.SPACES.get(s, s), names.SPACE_DEFINITIONS[s]) for s in spaces if s in names.SPACE_DEFINITIONS]
    return entries
