"""labkit: measure how good a generative image model is, and in what way it falls short.

The public face: what the README and the notebooks use. Everything else is reached through its room
(`labkit.data`, `labkit.models`, `labkit.train`, `labkit.metrics`, `labkit.latent`, `labkit.experiments`,
`labkit.diagnosis`, `labkit.study`); `docs/architecture.md` maps the rooms.
"""
from __future__ import annotations

# rooms a researcher reaches by name
from . import data, features, metrics
from .core import plots, runs

# running: seeds and devices
from .core.runtime import pick_device, seed_everything
from .core.version import __version__

# models and checkpoints
from .models import MODELS, build_model
from .models.checkpoint import load_model, load_models, save_models
from .models.classifier import Classifier, ClassifierConfig, predict
from .models.gan import GANConfig, Generator
from .models.vae import VAE, VAEConfig

# judging any model or sample set: numbers and the four verdicts (`labkit evaluate`)
from .diagnosis import EvaluateSettings, evaluate_models, write_report

# training
from .train import FitResult, TrainingDivergedError, fit
from .train.classifier import ClassifierTraining, accuracy, train_classifier
from .train.gan import GANTraining, train_gan
from .train.vae import VAETraining, train_vae

__all__ = [
    "__version__",
    "data", "features", "metrics", "plots", "runs",
    "pick_device", "seed_everything",
    "MODELS", "build_model", "load_model", "load_models", "save_models",
    "Classifier", "ClassifierConfig", "predict", "GANConfig", "Generator", "VAE", "VAEConfig",
    "EvaluateSettings", "evaluate_models", "write_report",
    "fit", "FitResult", "TrainingDivergedError",
    "ClassifierTraining", "accuracy", "train_classifier", "GANTraining", "train_gan", "VAETraining", "train_vae",
]
