"""Model families, one per file, each registered in `MODELS` with its frozen config dataclass."""
from . import classifier, gan, mapper, vae  # noqa: F401  (importing a family registers it)
from .registry import MODELS, build_model, from_spec, model_spec

__all__ = ["MODELS", "build_model", "from_spec", "model_spec"]
