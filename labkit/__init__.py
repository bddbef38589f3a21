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

__all__ = ["data", "plots", "presets", "runs", "load_model", "load_models", "save_models", "ClassifierTraining", "accuracy",
           "train_classifier", "Classifier", "ClassifierConfig", "predict", "MODELS", "build_model",
           "atomic_save", "pick_device", "seed_everything", "FitResult", "TrainingDivergedError", "fit"]
