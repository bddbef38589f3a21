"""One memory layout (NHWC) through a whole training step of every conv net labkit trains."""
import dataclasses

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import labkit
from labkit.train.classifier import ClassifierTask
from labkit.train.gan import VARIANTS, GANTask, build_gan
from labkit.train.loop import Position
from labkit.train.vae import VAETask, VAETraining, build_vae, variant_config


def _nhwc(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


class MixedLayouts(TorchDispatchMode):
    """Records convolutions that run NCHW, and elementwise/normalisation ops that meet activations (B, C, H, W) in
    two layouts (the slow strided path); weight gradients of the double backward (WGAN-GP, R3GAN) are not watched."""

    WATCH = ("threshold_backward", "leaky_relu_backward", "native_batch_norm", "batch_norm", "relu", "leaky_relu", "mul", "add")

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.hits = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        flat, _ = tree_flatten((args, kwargs or {}))
        maps = [t for t in flat if isinstance(t, torch.Tensor) and t.dim() == 4 and t.shape[0] == self.batch_size and t.shape[1] > 1
                and t.shape[2] * t.shape[3] > 1 and t.stride(1) != 0]
        name = func.__name__.split(".")[0]
        if name.lstrip("_").startswith(self.WATCH) and len({_nhwc(t) for t in maps}) > 1:
            self.hits.add((name, tuple(tuple(t.shape) for t in maps)))
        out = func(*args, **(kwargs or {}))
        if name == "convolution" and out.shape[0] == self.batch_size and out.shape[1] > 1 and not _nhwc(out):
            self.hits.add(("NCHW convolution", tuple(out.shape)))  # the fast layout is NHWC
        return out


def _steps(task, batch, n):
    mode = MixedLayouts(len(batch[0]))
    with mode:
        for s in range(n):
            task.training_step(batch, Position(step=s))
    return mode.hits


def test_the_watch_sees_a_mixed_layout():
    # the check can fail: an NCHW network fed NHWC activations is caught
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    x = torch.randn(5, 3, 8, 8)
    mode = MixedLayouts(5)
    with mode:
        net(x).sum().backward()
    assert ("NCHW convolution", (5, 4, 6, 6)) in mode.hits


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gan_training_step_runs_in_one_layout(variant, precision):
    torch.manual_seed(0)
    G, D, settings = build_gan(variant, channels=1, image_size=28, num_classes=10)
    settings = dataclasses.replace(settings, precision=precision)
    batch = (torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (5,)))
    assert _steps(GANTask(G, D, settings), batch, settings.n_critic) == set()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("variant", ["plain", "conditional", "perceptual"])
def test_vae_and_classifier_training_steps_run_in_one_layout(variant, precision):
    torch.manual_seed(0)
    clf = labkit.Classifier()
    vae = build_vae(variant_config(variant, num_classes=10, classifier=clf), clf)
    batch = (torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (5,)))
    assert _steps(VAETask(vae, VAETraining(precision=precision)), batch, 1) == set()
    task = ClassifierTask(clf, labkit.ClassifierTraining(precision=precision), total_steps=10)
    assert _steps(task, (batch[0], torch.nn.functional.one_hot(batch[1], 10).float()), 1) == set()
