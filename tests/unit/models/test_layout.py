"""Channels-last conv nets: the NCHW-order flatten keeps values and gradient layout."""
import pytest
import torch

from labkit.models.layout import channels_last, flatten_nchw


def _nhwc(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_flatten_nchw_matches_flatten_and_keeps_the_gradient_layout(layout):
    x = torch.randn(4, 3, 5, 6)
    x = channels_last(x) if layout == "nhwc" else x
    x.requires_grad_(True)
    out = flatten_nchw(x)
    assert torch.equal(out, x.detach().flatten(1))  # (C, H, W) order whatever the storage
    g = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, x, g)
    assert torch.equal(grad, g.view(x.shape))
    assert _nhwc(grad) == (layout == "nhwc")


def test_flatten_nchw_is_differentiable_twice():
    w = torch.randn(3 * 4 * 4, dtype=torch.float64)
    x = channels_last(torch.randn(2, 3, 4, 4, dtype=torch.float64)).requires_grad_(True)
    f = lambda v: (flatten_nchw(v).pow(2) @ w).sum()  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))
