"""Notebook parameter overrides for smoke runs: seconds per notebook, same code path."""
from __future__ import annotations

from types import SimpleNamespace

# Notebook name -> parameters replaced when SMOKE=True. Later notebooks add their entries here.
SMOKE: dict[str, dict] = {
    "00_tour": {},
    "01_train_classifier": {"epochs": 1, "n_per_class": 30, "n_test": 500},
}


def resolve(notebook: str, smoke: bool, **params) -> SimpleNamespace:
    """The notebook's parameters, with the smoke overrides applied when `smoke`; attribute access."""
    if notebook not in SMOKE:
        raise KeyError(f"no smoke preset for notebook {notebook!r}; add one to labkit.presets.SMOKE")
    unknown = set(SMOKE[notebook]) - set(params)
    if unknown:
        raise KeyError(f"smoke preset of {notebook} sets {sorted(unknown)}, which the notebook does not pass")
    return SimpleNamespace(**{**params, **(SMOKE[notebook] if smoke else {}), "smoke": smoke})
