"""GAN losses and gradient penalties against hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch

from labkit.train import gan_losses as L


class LinearCritic(torch.nn.Module):
    """D(x) = <w, x> + b: its input gradient is w everywhere, so ||∇D|| = ||w||."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = torch.nn.Parameter(w.clone())
        self.b = torch.nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + self.b


@pytest.mark.parametrize("scale", [0.25, 1.0, 3.0])
def test_gradient_penalty_of_a_linear_critic(scale):
    torch.manual_seed(0)
    w = torch.randn(1, 4, 4)
    w = w / w.norm() * scale  # ||w|| = scale
    critic = LinearCritic(w)
    real, fake = torch.rand(7, 1, 4, 4), torch.rand(7, 1, 4, 4)
    gp = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    assert gp.item() == pytest.approx((scale - 1) ** 2, abs=1e-5)
    r1, scores = L.zero_centred_penalty(critic, real)
    assert r1.item() == pytest.approx(scale ** 2, rel=1e-5)
    assert torch.allclose(scores, critic(real))


def test_gradient_penalty_trains_the_critic_towards_unit_norm():
    critic = LinearCritic(torch.full((1, 2, 2), 2.0))  # ||w|| = 4
    gp = L.gradient_penalty(critic, torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2))
    gp.backward()  # d/dw (||w|| - 1)² = 2 (||w|| - 1) w / ||w|| = 1.5 w
    assert torch.allclose(critic.w.grad, 1.5 * critic.w.detach(), atol=1e-5)


def test_penalty_of_a_quadratic_critic_depends_on_the_point():
    critic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731  ∇ = x
    x = torch.tensor([[[[3.0, 4.0]]]])  # ||x|| = 5
    r1, _ = L.zero_centred_penalty(critic, x)
    assert r1.item() == pytest.approx(25.0)


def test_loss_values_at_known_scores():
    zero = torch.zeros(5)
    assert L.d_loss("ns", zero, zero).item() == pytest.approx(2 * math.log(2))
    assert L.g_loss("ns", zero).item() == pytest.approx(math.log(2))
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert L.d_loss("wasserstein", real, fake).item() == pytest.approx(0.0 - 3.0)
    assert L.g_loss("wasserstein", fake).item() == pytest.approx(0.0)
    assert L.d_loss("hinge", real, fake).item() == pytest.approx(0 + (2 + 0) / 2)
    assert L.d_loss("relativistic", zero, zero).item() == pytest.approx(math.log(2))
    # relativistic losses see only differences: shifting both scores changes nothing
    shifted = L.d_loss("relativistic", real + 7, fake + 7).item()
    assert shifted == pytest.approx(L.d_loss("relativistic", real, fake).item())
    assert L.g_loss("relativistic", fake, real).item() == pytest.approx(
        (math.log1p(math.exp(1.0)) + math.log1p(math.exp(5.0))) / 2)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        L.d_loss("lsgan", zero, zero)


def test_clip_weights():
    m = torch.nn.Linear(3, 2)
    with torch.no_grad():
        m.weight.mul_(100)
    L.clip_weights(m, 0.01)
    assert all(p.abs().max() <= 0.01 for p in m.parameters())
