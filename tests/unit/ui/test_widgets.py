"""Slider UIs driven without a browser: setting a control's value must change the rendered image."""
from __future__ import annotations

import io

import pytest
import torch

pytest.importorskip("ipywidgets")

from PIL import Image  # noqa: E402

from labkit.latent import controlled
from labkit.models import sampling
from labkit.models.gan import GANConfig, Generator  # noqa: E402
from labkit.models.mapper import Mapper, MapperConfig  # noqa: E402
from labkit.models.vae import VAE, VAEConfig  # noqa: E402
from labkit.ui import (
    render,
    widgets,  # noqa: E402
)


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(VAEConfig(image_size=8, latent_dim=4, widths=(8, 16), encoder_dense=(32,), decoder_dense=(32,))).eval()


def _dirs(d=4):
    return {f"dir{i}": torch.eye(d)[i] * 2 for i in range(d)}


def test_slider_changes_image_and_reset_restores(vae):
    ex = widgets.latent_explorer(vae, _dirs(), n_sliders=3, seed=1, n_images=4)
    assert len(ex.sliders) == 3 and all(not s.continuous_update for s in ex.sliders)
    first = ex.image.value
    assert Image.open(io.BytesIO(first)).size == (2 * 8 * 6 + 6, 2 * 8 * 6 + 6)  # 2×2 grid, scale 6, 1-px gaps
    ex.sliders[1].value = 2.5
    moved = ex.image.value
    assert moved != first and ex.values()["dir1"] == 2.5
    assert torch.allclose(ex.render(), render.render_latent(vae, sampling.latents(vae, 4, seed=1), ex.directions,
                                                            {"dir1": 2.5}))
    ex.seed.value = 7
    assert ex.image.value not in (first, moved)
    ex.reset.click()
    assert ex.image.value == first and ex.seed.value == 1 and ex.values()["dir1"] == 0.0
    assert ex.last_ms > 0 and "ms" in ex.status.value


def test_class_picker_for_conditional_gan():
    torch.manual_seed(0)
    gan = Generator(GANConfig(image_size=8, latent_dim=4, g_width=8, num_classes=3, conditioning="acgan")).eval()
    ex = widgets.latent_explorer(gan, _dirs(), class_names=["a", "b", "c"])
    assert ex.class_picker is not None and [o[0] for o in ex.class_picker.options] == ["a", "b", "c"]
    before = ex.image.value
    ex.class_picker.value = 2
    assert ex.image.value != before and ex.labels().tolist() == [2]
    assert widgets.latent_explorer(Generator(GANConfig(image_size=8, latent_dim=4, g_width=8)).eval(),
                                   _dirs()).class_picker is None


def test_edit_comparison_side_by_side(vae, digits_classifier):
    mapper = Mapper(MapperConfig(feature_dim=32, latent_dim=4, hidden=(16,))).eval()
    ref = controlled.Reference(torch.randn(40, 4), torch.randn(40, 32), torch.arange(40) % 10, "classifier")
    cmp = widgets.edit_comparison(vae, digits_classifier, mapper, ref, n_images=2, source=3, target=5)
    lat, feat = cmp.latent_image.value, cmp.feature_image.value
    cmp.strength.value = 1.5
    assert cmp.latent_image.value != lat and cmp.feature_image.value != feat
    lat2 = cmp.latent_image.value
    cmp.target.value = 6
    assert cmp.latent_image.value != lat2
    cmp.reset.click()
    assert cmp.strength.value == 0.0 and cmp.latent_image.value == lat


def test_to_png_geometry():
    png = render.to_png(torch.rand(5, 3, 4, 4), nrow=5, scale=2, pad=1)
    assert Image.open(io.BytesIO(png)).size == ((5 * 5 - 1) * 2, 4 * 2)
