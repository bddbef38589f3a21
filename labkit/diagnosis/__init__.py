"""Any model or set of samples judged against a real set: is it blurry, unrealistic, short of diversity, or
copying its training set? Each verdict calibrated on degraded real images (`calibration`).

Rooms: `inputs` (what is judged), `reference` (the real sets and the domain classifier), `measures` (the
numbers), `calibration` (where the lines are drawn), `verdicts` (the plain words), `run` (the one function),
`figures` and `report` (the evidence, written out), `cases` (sets whose answer is known).
"""
from .report import write_report
from .run import EvaluateSettings, Evaluation, evaluate_models

__all__ = ["EvaluateSettings", "Evaluation", "evaluate_models", "write_report"]
