"""Training: the shared fit loop and one file per model family (classifier, VAE, GAN, mapper)."""
from .loop import FitResult, Position, ResumeMismatchError, TrainingDivergedError, fit

__all__ = ["fit", "FitResult", "Position", "TrainingDivergedError", "ResumeMismatchError"]
