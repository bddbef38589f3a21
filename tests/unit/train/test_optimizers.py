"""Every training task steps its optimisers in one kernel for all parameters (fused), or one per op (foreach)."""
import pytest
import torch

import labkit
from labkit.models.mapper import Mapper, MapperConfig
from labkit.train.classifier import ClassifierTask
from labkit.train.gan import VARIANTS, GANTask, build_gan
from labkit.train.mapper import MapperTask, MapperTraining
from labkit.train.vae import VAETask, VAETraining, build_vae, variant_config


def _batched(opt: torch.optim.Optimizer) -> bool:
    return bool(opt.defaults.get("fused")) or (isinstance(opt, torch.optim.RMSprop) and opt.defaults["foreach"])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gan_optimisers_are_fused_or_foreach(variant):
    G, D, settings = build_gan(variant, channels=1, image_size=28, num_classes=10)
    opts = GANTask(G, D, settings).optimizers
    assert all(_batched(o) for o in opts.values()), {k: o.defaults for k, o in opts.items()}


def test_classifier_vae_and_mapper_optimisers_are_fused():
    clf = labkit.Classifier()
    tasks = [ClassifierTask(clf, labkit.ClassifierTraining(), total_steps=10),
             VAETask(build_vae(variant_config("plain")), VAETraining()),
             MapperTask(Mapper(MapperConfig()), MapperTraining(), total_steps=10)]
    for task in tasks:
        assert all(o.defaults["fused"] for o in task.optimizers.values()), type(task).__name__
