"""Model families, one per file, each registered in `MODELS` with its frozen config dataclass."""
from . import classifier  # noqa: F401  (registers "classifier")
from . import gan  # noqa: F401  (registers "gan_generator", "gan_discriminator")
from . import vae  # noqa: F401  (registers "vae")
from . import mapper  # noqa: F401  (registers "mapper")
from .registry import MODELS, build_model, from_spec, model_spec

__all__ = ["MODELS", "build_model", "from_spec", "model_spec"]
