"""Attribute directions from binary labels (seed 003's attribute vectors): closed forms, properties, a tiny VAE."""
from __future__ import annotations

import pytest
import torch

from labkit.data.dataset import ImageDataset
from labkit.latent import attribute_set
from labkit.latent.directions import attribute_directions, unit
from labkit.models.vae import VAE, VAEConfig


def _latents(n: int = 400, d: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    attrs = torch.randint(0, 2, (n, 3), generator=g)
    shift = torch.tensor([[2.0, 0, 0, 0, 0], [0, 0, -1.0, 1.0, 0], [0, 0, 0, 0, 0]])  # per attribute
    z = 0.1 * torch.randn(n, d, generator=g) + attrs.float() @ shift
    return z, attrs


def test_mean_difference_by_hand_and_unit_length():
    z, attrs = _latents()
    raw = attribute_directions(z, attrs, ["Smiling", "Wearing_Hat", "Male"], normalize=False)
    assert list(raw) == ["Smiling", "Wearing Hat", "Male"]  # readable names, table order
    for a, name in enumerate(raw):
        expected = z[attrs[:, a] == 1].mean(0) - z[attrs[:, a] == 0].mean(0)
        assert torch.allclose(raw[name], expected, atol=1e-5)
    assert torch.allclose(raw["Smiling"], torch.tensor([2.0, 0, 0, 0, 0]), atol=0.1)  # recovers the planted shift
    unit_dirs = attribute_directions(z, attrs, ["Smiling", "Wearing_Hat", "Male"])
    for name, d in unit_dirs.items():
        assert d.shape == (5,) and torch.isclose(d.norm(), torch.tensor(1.0)) and torch.allclose(d, unit(raw[name]))


def test_row_order_and_duplicated_sets_do_not_change_directions():
    z, attrs = _latents()
    names = ["a", "b", "c"]
    base = attribute_directions(z, attrs, names)
    perm = torch.randperm(len(z), generator=torch.Generator().manual_seed(1))
    for other in (attribute_directions(z[perm], attrs[perm], names),
                  attribute_directions(torch.cat([z, z]), torch.cat([attrs, attrs]), names)):
        assert all(torch.allclose(base[k], other[k], atol=1e-5) for k in names)


def test_celeba_minus_one_labels_and_attributes_lacking_a_side_are_skipped():
    z, attrs = _latents(50)
    pm = attrs * 2 - 1  # CelebA's ±1
    assert all(torch.allclose(attribute_directions(z, pm, "abc")[k], attribute_directions(z, attrs, "abc")[k])
               for k in "abc")
    attrs[:, 2] = 1  # everyone has it: no images without
    attrs[:3, 1], attrs[3:, 1] = 1, 0  # three with it
    found = attribute_directions(z, attrs, ["a", "b", "c"], min_count=5)
    assert list(found) == ["a"]


def test_shape_mismatch_is_refused():
    z, attrs = _latents(10)
    with pytest.raises(ValueError, match="attributes must be"):
        attribute_directions(z, attrs, ["a", "b"])
    with pytest.raises(ValueError, match="attributes must be"):
        attribute_directions(z[:5], attrs, ["a", "b", "c"])


def _tiny_faces(n: int = 40) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    attrs = torch.randint(0, 2, (n, 2), generator=g)
    images = (torch.rand(n, 3, 8, 8, generator=g) * 100 + 100 * attrs[:, :1, None, None]).to(torch.uint8)
    return ImageDataset(images, attrs[:, 1], ("female", "male"), attributes=attrs, attribute_names=("Smiling", "Male"))


def test_vae_directions_grid_and_a_saved_set_round_trip(tmp_path):
    torch.manual_seed(0)
    vae = VAE(VAEConfig(channels=3, image_size=8, latent_dim=4, widths=(8,), encoder_dense=(16,),
                        decoder_dense=(16,))).eval()
    found = attribute_set.vae_attribute_directions(vae, _tiny_faces(), min_count=3)
    assert list(found) == ["Smiling", "Male"] and all(d.shape == (4,) for d in found.values())
    assert len(attribute_set.vae_attribute_directions(vae, _tiny_faces(), n=10, min_count=1)) == 2
    path = attribute_set.save_directions(found, tmp_path / "dirs.pt")
    back = attribute_set.load_directions(path)
    assert list(back) == list(found) and all(torch.equal(back[k], found[k]) for k in found)
    fig = attribute_set.attribute_grid(vae, found, strengths=(-1, 0, 1))
    assert fig is not None
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a direction set"):
        attribute_set.load_directions(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no directions"):
        attribute_set.save_directions({}, tmp_path / "none.pt")


def test_datasets_without_attributes_are_refused():
    ds = _tiny_faces()
    plain = ImageDataset(ds.images, ds.labels, ds.class_names, name="fashion-mnist")
    vae = VAE(VAEConfig(channels=3, image_size=8, latent_dim=4, widths=(8,), encoder_dense=(16,), decoder_dense=(16,)))
    with pytest.raises(ValueError, match="no attribute labels"):
        attribute_set.vae_attribute_directions(vae, plain)
