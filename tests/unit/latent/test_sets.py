"""Direction sets for the sliders: every kind, every class, labels that identify each direction."""
from __future__ import annotations

import re
import warnings

import pytest
import torch

from labkit.experiments import latent_edits
from labkit.generate import labelled_latents
from labkit.latent import sets as latent_sets
from labkit.latent.directions import ATTRIBUTES, attribute_direction, measure, unit
from labkit.models.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(VAEConfig(image_size=8, latent_dim=4, widths=(8, 16), encoder_dense=(32,), decoder_dense=(32,))).eval()


def test_class_set_is_each_class_mean_minus_overall_mean():
    z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0], [5.0, 5.0]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    out = latent_sets.class_set(z, labels, ["T-shirt/top", "Trouser", "Pullover"])
    assert list(out) == ["class: T-shirt/top", "class: Trouser"]  # an absent class gets no direction
    overall = z.mean(0)
    assert torch.allclose(out["class: T-shirt/top"], unit(torch.tensor([2.0, 0.0]) - overall))
    assert torch.allclose(out["class: Trouser"], unit(z[2:].mean(0) - overall))


def test_one_class_has_no_class_direction():
    with pytest.warns(UserWarning, match="1 class"):
        assert latent_sets.class_set(torch.randn(5, 2), torch.full((5,), 3), [str(i) for i in range(10)]) == {}


def test_constant_score_has_no_direction():
    z = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match="flat is 0.3 on all 50 samples: no direction"):
        out = latent_sets.regression_set(z, {"flat": torch.full((50,), 0.3), "first": 2 * z[:, 0] + 1})
    assert list(out) == ["first, R² 1.00"] and torch.allclose(out["first, R² 1.00"], torch.tensor([1.0, 0, 0]),
                                                                   atol=1e-5)


def test_every_kind_with_readable_labels(vae, digits_classifier, digits_test):
    names = digits_test.class_names
    ref_z = torch.randn(200, 4, generator=torch.Generator().manual_seed(1))
    ref_labels = torch.arange(200) % 10
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".* on all 300 samples: no direction")  # constant scores
        sets = latent_sets.direction_sets(vae, digits_classifier, ref_z, ref_labels, class_names=names, k=3, n=300)
    assert list(sets) == ["class", "class probability", "attribute", "SeFa", "PCA"]
    assert list(sets["class"]) == [f"class: {n}" for n in names]
    assert [re.sub(r", R² -?[0-9.]+$", "", k) for k in sets["class probability"]] == [f"p({n})" for n in names]
    z, images, probs = labelled_latents(vae, digits_classifier, 300, seed=0)
    varying = [k for k, s in measure(images, ATTRIBUTES).items() if s.max() > s.min()]  # untrained: ink is constant
    assert [k.split(",")[0] for k in sets["attribute"]] == varying and len(varying) >= 4
    assert all(re.fullmatch(r"SeFa \d \(\d+\.\d% of Σλ\)", k) for k in sets["SeFa"]) and len(sets["SeFa"]) == 3
    assert all(re.fullmatch(r"PCA \d \(\d+\.\d% var\)", k) for k in sets["PCA"]) and len(sets["PCA"]) == 3
    for dirs in sets.values():
        for d in dirs.values():
            assert d.shape == (4,) and torch.isclose(d.norm(), torch.tensor(1.0), atol=1e-5)
    # p(3)'s direction is the regression of the classifier's p(3) on the same seeded samples
    d, _, r2 = attribute_direction(z, probs[:, 3])
    label = f"p({names[3]}), R² {r2:.2f}"
    assert torch.allclose(sets["class probability"][label], d, atol=1e-5)


@pytest.mark.filterwarnings("ignore:.*no direction for it")  # the untrained VAEs draw a constant ink share
def test_all_directions_gives_sets_for_every_model(vae, digits_classifier, digits_test):
    torch.manual_seed(0)  # a second VAE (an untrained GAN draws too few classes for the measured class direction)
    other = VAE(VAEConfig(image_size=8, latent_dim=6, widths=(8,), encoder_dense=(16,), decoder_dense=(16,))).eval()
    found = latent_edits.all_directions({"vae": vae, "other": other}, digits_classifier, digits_test.subset(range(200)),
                                        source=0, target=1, k=2, n_reference=200, n_samples=200)
    assert set(found.sets) == {"vae", "other"}
    for name, dim in (("vae", 4), ("other", 6)):
        assert list(found.sets[name]) == ["class", "class probability", "attribute", "SeFa", "PCA"]
        assert len(found.sets[name]["class probability"]) == 10 and len(found.sets[name]["SeFa"]) == 2
        assert all(d.shape == (dim,) for s in found.sets[name].values() for d in s.values())


def test_a_set_left_with_no_direction_is_dropped(vae, digits_classifier, monkeypatch):
    monkeypatch.setattr(latent_sets, "ATTRIBUTES", {"flat": lambda images: torch.zeros(len(images))})
    with pytest.warns(UserWarning, match="flat is 0 on all 50 samples"):
        sets = latent_sets.direction_sets(vae, digits_classifier, torch.randn(30, 4), torch.arange(30) % 10,
                                          class_names=[str(i) for i in range(10)], k=2, n=50)
    assert list(sets) == ["class", "class probability", "SeFa", "PCA"]


@pytest.mark.filterwarnings("ignore:.*no direction for it")
def test_conditional_generator_gets_every_set(digits_classifier):
    from labkit.models.gan import GANConfig, Generator
    torch.manual_seed(0)
    gan = Generator(GANConfig(image_size=8, latent_dim=4, g_width=8, num_classes=10, conditioning="acgan")).eval()
    sets = latent_sets.direction_sets(gan, digits_classifier, torch.randn(40, 4), torch.arange(40) % 10,
                                      class_names=[str(i) for i in range(10)], k=2, n=60)
    assert {"class", "class probability", "SeFa", "PCA"} <= set(sets) and len(sets["PCA"]) == 2


def test_add_set_joins_a_saved_attribute_set_to_one_model_as_unit_directions(tmp_path):
    from labkit.latent.attribute_set import load_directions, save_directions
    from labkit.latent.sets import add_set

    saved = save_directions({"Smiling": torch.tensor([3.0, 4.0]), "Wearing Hat": torch.tensor([0.0, -2.0])},
                            tmp_path / "attributes.pt")
    sets = {"vae": {"PCA": {"PCA 1": torch.tensor([1.0, 0.0])}}, "gan": {}}
    add_set(sets, "vae", "attribute labels", load_directions(saved), latent_dim=2)
    assert list(sets["vae"]) == ["PCA", "attribute labels"] and sets["gan"] == {}
    got = sets["vae"]["attribute labels"]
    assert list(got) == ["Smiling", "Wearing Hat"]
    assert torch.allclose(got["Smiling"], torch.tensor([0.6, 0.8])) and torch.allclose(got["Wearing Hat"],
                                                                                       torch.tensor([0.0, -1.0]))


@pytest.mark.parametrize("model, name, dirs, match", [
    ("gan", "x", {"a": torch.ones(2)}, "no direction sets"),
    ("vae", "PCA", {"a": torch.ones(2)}, "already has"),
    ("vae", "x", {"a": torch.ones(3)}, r"\(2,\) vectors"),
    ("vae", "x", {}, "no directions"),
])
def test_add_set_refuses_what_does_not_fit(model, name, dirs, match):
    from labkit.latent.sets import add_set

    with pytest.raises((KeyError, ValueError), match=match):
        add_set({"vae": {"PCA": {"PCA 1": torch.ones(2)}}}, model, name, dirs, latent_dim=2)
