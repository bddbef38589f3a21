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
    ex = widgets.latent_explorer(vae, _dirs(), max_sliders=3, seed=1, n_images=4)
    assert len(ex.sliders) == 3 and all(not s.continuous_update for s in ex.sliders)
    assert "1 more hidden" in ex.hidden_note.value and "max_sliders=3" in ex.hidden_note.value
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


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    return Generator(GANConfig(image_size=8, latent_dim=6, g_width=8)).eval()


def _sets(d, long=False):
    """Three sets of different sizes and labels; `long`: labels far over the old 14-character cut."""
    eye = torch.eye(d)
    name = "class: a class name much longer than fourteen characters" if long else "class: Ankle boot"
    return {"class": {name: eye[0], "class: Sneaker": eye[1]},
            "SeFa": {f"SeFa {i + 1} ({(10 - i) / 100:.1%} of Σλ)": eye[i] for i in range(d)},
            "PCA": {f"PCA {i + 1} (7.1% var)": -eye[i] for i in range(3)}}


def test_every_model_and_direction_set_is_offered(vae, gan):
    sets = {"vae": _sets(4), "gan": _sets(6)}
    ex = widgets.latent_explorer({"vae": vae, "gan": gan}, sets)
    assert list(ex.model_picker.options) == ["vae", "gan"]
    for model in ("vae", "gan"):
        ex.model_picker.value = model
        assert list(ex.set_picker.options) == ["class", "SeFa", "PCA"]
        for set_name, dirs in sets[model].items():
            ex.set_picker.value = set_name
            assert list(ex.directions) == list(dirs) and len(ex.sliders) == len(dirs)  # no cap by default
            assert len(ex.slider_box.children) == len(dirs) and ex.hidden == 0
            assert f"{len(dirs)} direction" in ex.hidden_note.value and "hidden" not in ex.hidden_note.value


def test_switching_model_or_set_swaps_sliders_and_image(vae, gan):
    ex = widgets.latent_explorer({"vae": vae, "gan": gan}, {"vae": _sets(4), "gan": _sets(6)}, seed=2)
    assert ex.model is vae and ex.set_picker.value == "class" and len(ex.sliders) == 2
    vae_image = ex.image.value
    ex.sliders[0].value = 2.0
    ex.set_picker.value = "SeFa"  # a new set starts at 0: the unedited image
    assert len(ex.sliders) == 4 and ex.values() == {k: 0.0 for k in _sets(4)["SeFa"]} and ex.image.value == vae_image
    ex.sliders[3].value = -1.5
    assert ex.image.value != vae_image
    assert torch.allclose(ex.render(), render.render_latent(vae, sampling.latents(vae, 1, seed=2),
                                                            _sets(4)["SeFa"], {"SeFa 4 (7.0% of Σλ)": -1.5}))
    ex.model_picker.value = "gan"  # keeps the set name, six SeFa sliders over the GAN's 6-d latent
    assert ex.model is gan and ex.set_picker.value == "SeFa" and len(ex.sliders) == 6
    assert ex.image.value != vae_image and ex._z.shape == (1, 6)
    gan_image = ex.image.value
    ex.sliders[5].value = 3.0
    assert ex.image.value != gan_image
    ex.set_picker.value = "PCA"
    assert [s.value for s in ex.sliders] == [0.0] * 3 and ex.image.value == gan_image


def test_labels_are_shown_in_full(vae):
    sets = {"vae": _sets(4, long=True)}
    ex = widgets.latent_explorer({"vae": vae}, sets)
    label = "class: a class name much longer than fourteen characters"
    assert label in ex.slider_labels[0].value and ex.sliders[0].tooltip == label
    assert "white-space: normal" in ex.slider_labels[0].value  # wraps instead of cutting
    ex.set_picker.value = "SeFa"
    assert [lab.value.count(name) for lab, name in zip(ex.slider_labels, sets["vae"]["SeFa"])] == [2] * 4


def test_cap_is_a_parameter_and_hidden_count_is_shown(vae):
    ex = widgets.latent_explorer({"vae": vae}, {"vae": _sets(4)}, max_sliders=2)
    ex.set_picker.value = "SeFa"
    assert len(ex.sliders) == 2 and ex.hidden == 2 and "2 more hidden (max_sliders=2)" in ex.hidden_note.value
    ex.set_picker.value = "class"
    assert ex.hidden == 0 and "hidden" not in ex.hidden_note.value


def test_bad_sets_get_clear_errors(vae, gan):
    with pytest.raises(ValueError, match="no direction set for model"):
        widgets.latent_explorer({"vae": vae, "gan": gan}, {"vae": _sets(4)})
    with pytest.raises(ValueError, match="not among the models"):
        widgets.latent_explorer({"vae": vae}, {"vae": _sets(4), "other": _sets(4)})
    with pytest.raises(ValueError, match=r"not \(6,\) latent vectors"):
        widgets.latent_explorer({"gan": gan}, {"gan": _sets(4)})
    with pytest.raises(ValueError, match="is empty"):
        widgets.latent_explorer({"vae": vae}, {"vae": {"class": {}}})
    with pytest.raises(ValueError, match="max_sliders"):
        widgets.latent_explorer({"vae": vae}, {"vae": _sets(4)}, max_sliders=0)


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
