"""The study: the notebooks' plan and presets, the papermill runner, and the report."""
from .runner import Study, StudyFailed, load_status

__all__ = ["Study", "StudyFailed", "load_status"]
