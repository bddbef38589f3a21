"""bf16 mixed precision: weights, gradients and optimiser state stay fp32; critic scores and VAE statistics too."""
import dataclasses

import pytest
import torch

from labkit.train.gan import GANTask, GANTraining, build_gan
from labkit.train.loop import Position
from labkit.train.vae import VAETask, VAETraining, build_vae, variant_config

BATCH = (torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (8,)))


def _fp32_state(task) -> bool:
    tensors = [t for m in task.modules.values() for t in list(m.parameters()) + [p.grad for p in m.parameters()]]
    tensors += [v for o in task.optimizers.values() for s in o.state.values() for v in s.values()
                if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0]
    return all(t.dtype == torch.float32 for t in tensors if t is not None)


@pytest.mark.parametrize("variant", ["dcgan", "wgan-gp", "sngan-projection"])
def test_bf16_gan_step_keeps_fp32_state_and_fp32_scores(variant):
    torch.manual_seed(0)
    G, D, settings = build_gan(variant, channels=1, image_size=28, num_classes=10)
    task = GANTask(G, D, dataclasses.replace(settings, precision="bf16", snapshot_every=0))
    for s in range(settings.n_critic):
        out = task.training_step(BATCH, Position(step=s))
    assert "g_loss" in out and all(torch.isfinite(torch.as_tensor(v)) for v in out.values())
    assert _fp32_state(task)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = BATCH[0].float() / 127.5 - 1
        assert D(x, BATCH[1] if G.conditional else None).dtype == torch.float32


def test_bf16_vae_step_keeps_fp32_state_and_fp32_posterior():
    torch.manual_seed(0)
    vae = build_vae(variant_config("plain"))
    task = VAETask(vae, VAETraining(precision="bf16"))
    out = task.training_step(BATCH, Position())
    assert all(torch.isfinite(v) for v in out.values())
    assert _fp32_state(task)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mu, logvar = vae.encode(BATCH[0].float() / 255)
    assert mu.dtype == logvar.dtype == torch.float32


def test_fp32_step_matches_bf16_step_closely():
    # one DCGAN critic step in both precisions from the same weights and noise: the losses agree to bf16's accuracy
    losses = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        G, D, settings = build_gan("dcgan", channels=1, image_size=28)
        task = GANTask(G, D, dataclasses.replace(settings, precision=precision, snapshot_every=0))
        losses[precision] = float(task.training_step(BATCH, Position())["d_loss"])
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=2e-2)


def test_bad_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        GANTraining(precision="fp16")


def test_perceptual_term_is_fp32_inside_a_bf16_step():
    """The perceptual term differences nearly equal activations: under bf16 it must equal the fp32 value."""
    from labkit.models.classifier import Classifier, ClassifierConfig
    torch.manual_seed(0)
    clf = Classifier(ClassifierConfig())
    vae = build_vae(variant_config("perceptual", classifier=clf), classifier=clf)
    x = BATCH[0].float() / 255
    x_hat = (x + 0.01 * torch.randn_like(x)).clamp(0, 1)
    exact = vae.perceptual_distance(x, x_hat)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = vae.perceptual_distance(x, x_hat)
    assert mixed.dtype == torch.float32 and torch.allclose(mixed, exact, rtol=1e-5)
