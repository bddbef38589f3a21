"""Study parameter overrides, read and validated before any job starts.

papermill writes each parameter into the executed notebook as `name = value`, so a name that is not one of
the notebook's own parameters (read from its `parameters` cell with papermill's inspection, which parses and
never runs it) is refused, and values must be plain YAML data (numbers, strings, booleans, null, lists, dicts).
"""
from __future__ import annotations

import functools
import keyword
from pathlib import Path
from typing import Any, Iterable

import yaml

PLAIN_SCALARS = (str, int, float, bool, type(None))


class ParameterError(ValueError):
    """An override names an unknown job, notebook or parameter, or carries a value that is not plain YAML data."""


def read_params_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """`{notebook or job id: {parameter: value}}` from a YAML file; a clear error for any other shape."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parameters file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParameterError(f"parameters file {path} is not valid YAML: {e}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise ParameterError(f"parameters file {path} must map notebook or job ids to {{parameter: value}} "
                             f"mappings, e.g. '01_train_classifier: {{epochs: 3}}'; got {type(doc).__name__} "
                             + ("with non-mapping entries" if isinstance(doc, dict) else ""))
    return {str(k): dict(v) for k, v in doc.items()}


def parse_assignment(item: str) -> tuple[str, str, Any]:
    """`NB.PARAM=VALUE` -> (NB, PARAM, value parsed as YAML)."""
    key, eq, value = item.partition("=")
    nb, _, param = key.partition(".")
    if not eq or not nb or not param or not value:
        raise ParameterError(f"-p expects NOTEBOOK.PARAM=VALUE, got {item!r}")
    try:
        return nb, param, yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ParameterError(f"-p {item!r}: the value is not valid YAML ({e})") from None


def merge_overrides(file_overrides: dict, assignments: Iterable[str]) -> dict[str, dict[str, Any]]:
    """File overrides, then each `-p` assignment on top."""
    out = {k: dict(v) for k, v in file_overrides.items()}
    for item in assignments:
        nb, param, value = parse_assignment(item)
        out.setdefault(nb, {})[param] = value
    return out


@functools.lru_cache(maxsize=64)
def _notebook_parameters(path: str, mtime: float) -> tuple[str, ...]:
    import papermill as pm

    return tuple(pm.inspect_notebook(path))


def notebook_parameters(path: str | Path) -> tuple[str, ...]:
    """Names of the parameters cell of a notebook (parsed, never executed)."""
    path = Path(path)
    return _notebook_parameters(str(path), path.stat().st_mtime)


def _check_value(where: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)):
                raise ParameterError(f"{where}: dictionary key {k!r} is not a plain YAML scalar")
            _check_value(f"{where}[{k!r}]", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_value(f"{where}[{i}]", v)
    elif not isinstance(value, PLAIN_SCALARS):
        raise ParameterError(f"{where}: value of type {type(value).__name__} is not plain YAML data "
                             "(use numbers, strings, booleans, null, lists or mappings)")


def check_name(name: str, where: str = "parameter") -> None:
    """A parameter name papermill may write as `name = ...`: a Python identifier, not a keyword."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ParameterError(f"{where} name {name!r} is not a valid parameter name")


def validate_overrides(overrides: dict[str, dict[str, Any]], jobs: list, notebooks_dir: Path) -> None:
    """Raise `ParameterError` unless every override targets a job or notebook of the plan, names a parameter of
    that notebook's `parameters` cell, and holds plain YAML data.

    Args:
        overrides: {notebook or job id: {parameter: value}}.
        jobs: the plan's jobs (with `id` and `notebook`).
        notebooks_dir: where `<notebook>.ipynb` lives.
    """
    if not isinstance(overrides, dict):
        raise ParameterError(f"overrides must be a mapping of notebook or job ids to mappings; got {overrides!r}")
    targets = {j.id: j.notebook for j in jobs} | {j.notebook: j.notebook for j in jobs}
    for target, params in overrides.items():
        if target not in targets:
            raise ParameterError(f"unknown notebook or job {target!r} in the parameters; valid: {sorted(targets)}")
        if not isinstance(params, dict):
            raise ParameterError(f"parameters of {target!r} must be a mapping {{parameter: value}}; got {params!r}")
        valid = notebook_parameters(notebooks_dir / f"{targets[target]}.ipynb")
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(f"{target!r} has no parameter {name!r}; its parameters: {', '.join(valid)}")
            check_name(name)
            _check_value(f"{target}.{name}", value)


def validate_only(only: Iterable[str], jobs: list) -> None:
    """Every `--only` entry must name a job id, a notebook or a notebook number of the plan."""
    valid = {j.id for j in jobs} | {j.notebook for j in jobs} | {j.notebook[:2] for j in jobs}
    unknown = [o for o in only if o not in valid]
    if unknown:
        raise ParameterError(f"--only {', '.join(map(repr, unknown))} matches no job; valid: {sorted(valid)}")
