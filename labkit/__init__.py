"""labkit: measure how good a generative image model is, and in what way it falls short."""
from __future__ import annotations

__version__ = "0.1.0"

from . import data, plots, presets, runs  # noqa: E402
from .checkpoint import load_model, load_models, save_models  # noqa: E402
from .classify import ClassifierTraining, accuracy, train_classifier  # noqa: E402
from .models.classifier import Classifier, ClassifierConfig, predict  # noqa: E402
from .models.registry import MODELS, build_model  # noqa: E402
from .runtime import atomic_save, pick_device, seed_everything  # noqa: E402
from .train import FitResult, TrainingDivergedError, fit  # noqa: E402
from . import generate, reconstruction  # noqa: E402
from .models.vae import VAE, VAEConfig  # noqa: E402
from .vae_training import VAETraining, train_vae, variant_config  # noqa: E402

__all__ = ["data", "plots", "presets", "runs", "load_model", "load_models", "save_models", "ClassifierTraining", "accuracy",
           "train_classifier", "Classifier", "ClassifierConfig", "predict", "MODELS", "build_model",
           "atomic_save", "pick_device", "seed_everything", "FitResult", "TrainingDivergedError", "fit"]
__all__ += ["generate", "reconstruction", "VAE", "VAEConfig", "VAETraining", "train_vae", "variant_config"]
from . import convergence, gan_training  # noqa: E402
from .gan_training import GANTraining, train_gan  # noqa: E402
from .models.gan import Discriminator, GANConfig, Generator  # noqa: E402

__all__ += ["convergence", "gan_training", "GANTraining", "train_gan", "Discriminator", "GANConfig", "Generator"]
from . import cache, features, metrics  # noqa: E402

__all__ += ["cache", "features", "metrics"]
from . import controlled, latent, render, widgets  # noqa: E402
from .models.mapper import Mapper, MapperConfig, MapperTraining, train_mapper  # noqa: E402

__all__ += ["controlled", "latent", "render", "widgets", "Mapper", "MapperConfig", "MapperTraining", "train_mapper"]
