"""The features -> z mapper and the controlled-generation measurements, on a toy generator of digit prototypes.

The toy generator decodes z (10,) to a softmax-weighted blend of the ten class-mean digits, so the
class of an image is (mostly) argmax z and both latent and feature edits have a right answer.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from labkit.latent import controlled
from labkit.models import sampling
from labkit.models.checkpoint import load_model, save_models
from labkit.models.mapper import Mapper, MapperConfig, map_features
from labkit.train.mapper import MapperTraining, sample_pairs, train_mapper


class PrototypeDecoder(nn.Module):
    """z (B, 10) -> Σ_k softmax(sharpness · z)_k · prototype_k, images (B, 1, 8, 8) in [0, 1]."""

    latent_dim = 10

    def __init__(self, prototypes: torch.Tensor, sharpness: float = 3.0):
        super().__init__()
        self.prototypes = nn.Parameter(prototypes.clone(), requires_grad=False)  # (10, 1, 8, 8)
        self.sharpness = sharpness

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        w = torch.softmax(self.sharpness * z, dim=1)  # (B, 10)
        return torch.einsum("bk,kchw->bchw", w, self.prototypes)


@pytest.fixture(scope="module")
def toy(digits_train, digits_classifier):
    x = digits_train.float()
    protos = torch.stack([x[digits_train.labels == k].mean(0) for k in range(10)])  # (10, 1, 8, 8)
    model = PrototypeDecoder(protos).eval()
    mapper, result = train_mapper(model, digits_classifier, device="cpu", seed=0,
                                  cfg=MapperConfig(feature_dim=32, latent_dim=10, hidden=(64, 64)),
                                  settings=MapperTraining(n_samples=3000, epochs=15, batch_size=128, lr=3e-3))
    return model, mapper, result


def test_mapper_registered_and_round_trips(tmp_path):
    m = Mapper(MapperConfig(feature_dim=5, latent_dim=3, hidden=(16,)))
    m.set_normalisation(torch.randn(50, 5) * 3 + 1)
    f = torch.randn(4, 5)
    path = save_models(tmp_path / "m.pt", {"model": m})
    back = load_model(path)
    assert torch.allclose(back(f), m.eval()(f)) and torch.allclose(back.f_mean, m.f_mean)


def test_sample_pairs_seeded_and_rejects_conditional(digits_classifier, toy):
    model = toy[0]
    z1, f1 = sample_pairs(model, digits_classifier, 64, seed=5, batch_size=30)
    z2, f2 = sample_pairs(model, digits_classifier, 64, seed=5)
    assert z1.shape == (64, 10) and f1.shape == (64, 32)
    assert torch.equal(z1, z2) and torch.allclose(f1, f2, atol=1e-5)
    cond = nn.Linear(1, 1)
    cond.conditional = True
    with pytest.raises(ValueError, match="conditional"):
        sample_pairs(cond, digits_classifier, 4)


def test_mapper_learns_and_cycle_is_consistent(digits_classifier, toy):
    model, mapper, result = toy
    losses = result.history["loss"]
    assert losses.iloc[-1] < min(0.8, losses.iloc[0])  # predicting z = 0 scores 1 (var z)
    err = controlled.mapper_errors(model, digits_classifier, mapper, n=500)
    assert err["latent_r2"] > 0.2  # z is only partly identifiable from the image
    assert err["cycle_cosine"] > 0.9 and err["class_kept"] > 0.8


def test_class_edits_succeed_where_expected(digits_classifier, toy):
    model, mapper, _ = toy
    ref = controlled.reference_set(model, digits_classifier, n=3000, seed=0)
    assert ref.source == "classifier"
    pairs = [(0, 1), (3, 8), (7, 2)]
    edits = controlled.class_edits(model, digits_classifier, mapper, ref, pairs, [0.0, 2.0], n_per_class=30)
    table = controlled.success_table(edits)
    assert set(table.columns) == {"latent", "feature"}
    assert table.loc[0.0].max() < 0.15  # nothing has moved yet (feature edits re-generate through M)
    assert table.loc[2.0, "latent"] > 0.8 and table.loc[2.0, "feature"] > 0.5
    assert (edits.query("method == 'latent' and strength == 0")["pixel_change"] == 0).all()


def test_edit_quality_target_and_leakage(digits_classifier, toy):
    model = toy[0]
    z = torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    e = torch.eye(10)
    q = controlled.edit_quality(model, z, {"to_1": e[1], "noise": torch.zeros(10).index_fill_(0, torch.tensor([4]), 1)},
                                targets={"to_1": "p_1"}, classifier=digits_classifier, strengths=(-1, 0, 1))
    row = q.set_index("direction").loc["to_1"]
    assert row["target"] == "p_1" and row["effect"] > 0.05
    assert 0 <= row["leakage"] < 1  # moves its target more than the average other attribute
    assert {"std_slope:brightness", "std_slope:p_9"} <= set(q.columns)


def test_feature_edit_needs_mapper(digits_classifier, toy):
    model = toy[0]
    z = torch.randn(3, 10)
    with pytest.raises(ValueError, match="mapper"):
        controlled.edited_latents("feature", z, torch.zeros(10), torch.zeros(32), 1.0, model, digits_classifier, None)
    assert torch.equal(controlled.edited_latents("latent", z, torch.ones(10), None, 0.0, model, None, None), z)
    f = map_features(toy[1], torch.randn(7, 32))
    assert f.shape == (7, 10) and sampling.decode(model, f).shape == (7, 1, 8, 8)


def test_edit_quality_gives_nan_not_a_huge_leakage_for_an_attribute_constant_on_the_batch(toy):
    model = toy[0]
    z = torch.randn(32, 10, generator=torch.Generator().manual_seed(0))
    scores = {"blank": lambda x: torch.zeros(len(x)), "brightness": lambda x: x.mean(dim=(1, 2, 3))}
    q = controlled.edit_quality(model, z, {"d": torch.eye(10)[0]}, targets={"d": "blank"}, scores=scores,
                                strengths=(-1, 0, 1)).set_index("direction")
    assert math.isnan(q.loc["d", "leakage"]) and math.isnan(q.loc["d", "effect_std"])
    free = controlled.edit_quality(model, z, {"d": torch.eye(10)[0]}, scores=scores, strengths=(-1, 0, 1))
    assert free.loc[0, "target"] == "brightness" and free.loc[0, "leakage"] == 0.0  # the constant one is not "other"
