"""Model families, one per file, each registered in `MODELS` with its frozen config dataclass."""
from . import classifier  # noqa: F401  (registers "classifier")
from .registry import MODELS, build_model, from_spec, model_spec

__all__ = ["MODELS", "build_model", "from_spec", "model_spec"]
