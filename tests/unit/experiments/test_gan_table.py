"""The GAN comparison table on toy 8×8 generators: columns, rows, protocol, and the diversity/PPL conventions."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from labkit.core.record import records_table
from labkit.experiments import gan_table as gt
from labkit.experiments import views
from labkit.metrics import EvalSettings, EvalSpace, MetricRecord, PPLProtocol
from labkit.train import convergence
from labkit.train.classifier import ClassifierTraining


class ToyGenerator(nn.Module):
    """z (B, 4) -> 8×8 grey images in [0, 1]; `use_z=False` ignores z (one image, whatever the latent)."""

    def __init__(self, use_z: bool = True, seed: int = 0):
        super().__init__()
        self.cfg = SimpleNamespace(latent_dim=4, num_classes=0)
        torch.manual_seed(seed)
        self.lin = nn.Linear(4, 64)
        self.use_z = use_z

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z if self.use_z else torch.zeros_like(z)
        return torch.sigmoid(2 * self.lin(x)).view(-1, 1, 8, 8)  # (B, 1, 8, 8)

    @torch.no_grad()
    def sample(self, n, generator=None, labels=None):
        return self(torch.randn(n, 4, generator=generator))


def _space(classifier):
    return EvalSpace.resolve(classifier, cmmd="clip", cmmd_fallback=True, distance="classifier", device="cpu",
                             cache=False)


@pytest.fixture(scope="module")
def records(digits_test, digits_classifier):
    verdicts = {"varied": {"diverged": 0, "converged": 1, "reason": "", "min_class_share": 0.05},
                "constant": {"diverged": 1, "converged": 0, "reason": "collapsed samples", "min_class_share": 0.0}}
    gens = {"varied": ToyGenerator(True), "constant": ToyGenerator(False)}
    return gt.gan_table(gens, digits_test, _space(digits_classifier),
                        EvalSettings(n_fake=100, repeats=2, n_pairs=50, prd_runs=1), ppl=PPLProtocol(n_paths=40),
                        verdicts=verdicts)


@pytest.fixture(scope="module")
def table(records):
    return records_table(records)


def test_rows_and_columns(records, table):
    assert list(table.index) == ["varied", "constant"]
    for c in ("is", "fid", "lpips_diversity", "lpips_to_real", "ppl", "cmmd_classifier", "prd_f8", "prd_f1_8",
              "precision", "recall", "density", "coverage", *gt.VERDICT_METRICS):
        assert c in table, c
    assert "cmmd" not in table  # no CLIP weights offline: the CMMD column says which space it used
    assert {r.protocol["distance"] for r in records if r.metric in ("ppl", "lpips_diversity")} == {"lpips-classifier"}
    assert {r.protocol["extractor"] for r in records if r.metric == "cmmd_classifier"} == {"classifier"}
    by = {(r.protocol["model"], r.metric): r for r in records}
    assert by[("constant", "diverged")].protocol["reason"] == "collapsed samples"
    assert table.loc["varied", "converged"] == 1
    shown = views.shown(records)
    assert list(shown.index) == ["varied", "constant"] and "diverged" in shown
    # names say what was measured: the paper's LPIPS direction (a surrogate here), pair-diversity, C1 spaces
    for label in ("IS (C1)", "FID (C1)", "LPIPS surrogate (C1 distance)", "pair-diversity (C1 distance)",
                  "PPL (C1 distance)", "CMMD surrogate (C1)", "precision (C1)"):
        assert label in shown, label


def test_records_carry_protocol(records):
    assert all(isinstance(r, MetricRecord) and r.protocol["experiment"] == "gan_table" for r in records)
    by = {(r.protocol["model"], r.metric): r for r in records}
    div = by[("varied", "lpips_diversity")]
    assert div.protocol["n_pairs"] == 50 and div.protocol["seed"] == 0 and len(div.values) == 2
    assert div.protocol["distance"] == "lpips-classifier" and div.protocol["repeats"] == 2
    to_real = by[("varied", "lpips_to_real")]
    assert to_real.protocol["distance"] == "lpips-classifier" and to_real.protocol["n_pairs"] == 50
    assert by[("varied", "is")].protocol["extractor"] == "classifier"
    p = by[("varied", "ppl")].protocol
    assert p["n_paths"] == 40 and p["epsilon"] == 1e-4 and p["seed"] == 0 and p["distance"] == "lpips-classifier"
    fid = by[("varied", "fid")].protocol
    assert fid["n_fake"] == 100 and fid["extractor"] == "classifier" and fid["repeats"] == 2
    assert by[("varied", "cmmd_classifier")].protocol["extractor"] == "classifier"
    assert by[("constant", "diverged")].value == 1.0 and by[("constant", "diverged")].protocol["reason"]


def test_generator_ignoring_z_has_zero_ppl_and_less_diversity(table):
    assert table.loc["constant", "ppl"] == 0.0
    assert table.loc["varied", "ppl"] > 0
    assert table.loc["constant", "lpips_diversity"] < 1e-6 < table.loc["varied", "lpips_diversity"]
    assert math.isfinite(table.loc["constant", "fid"])
    assert table.loc["constant", "lpips_to_real"] > 0  # one image is far from most real digits


class NaNGenerator(ToyGenerator):
    """A diverged generator: NaN pixels."""

    @torch.no_grad()
    def sample(self, n, generator=None, labels=None):
        return torch.full((n, 1, 8, 8), float("nan"))


def test_a_generator_with_nan_samples_keeps_its_row_with_the_reason(digits_test, digits_classifier):
    verdicts = {"nan": {"diverged": 1, "converged": 0, "reason": "NaN losses", "min_class_share": 0.0}}
    with pytest.warns(UserWarning, match="nan not evaluated"):
        recs = gt.gan_table({"varied": ToyGenerator(True), "nan": NaNGenerator()}, digits_test,
                            _space(digits_classifier), EvalSettings(n_fake=60, repeats=1, n_pairs=20, prd_runs=1),
                            metrics=("fid",), ppl=PPLProtocol(n_paths=10), verdicts=verdicts)
    t = records_table(recs)
    assert list(t.index) == ["varied", "nan"] and "NaN or inf" in t.loc["nan", "error"]
    assert t.loc["nan", "diverged"] == 1 and math.isnan(t.loc["nan", "fid"])
    errors = [r for r in recs if r.metric == "error"]
    assert [r.protocol["model"] for r in errors] == ["nan"]
    assert not [r for r in recs if r.metric == "ppl" and r.protocol["model"] == "nan"]  # no PPL of a broken model
    assert "NaN or inf" in views.shown(recs).loc["nan", "not evaluated"]


def test_swd_optional_and_missing_verdicts(digits_train, digits_classifier):
    gens = {"varied": ToyGenerator(True)}
    # 8×8 is below SWD's intended size; one level of 3×3 patches keeps the plumbing tested
    settings = EvalSettings(n_fake=60, repeats=1, n_pairs=20, prd_runs=1, swd_images=50,
                            swd_kwargs={"patch_size": 3, "levels": 1})
    t = records_table(gt.gan_table(gens, digits_train.subset(range(200)), _space(digits_classifier), settings,
                                   metrics=("fid", "swd"), ppl=None))
    assert t.loc["varied", "swd"] >= 0 and "diverged" not in t and "ppl" not in t


def test_verdicts_round_trip(tmp_path):
    results = {"acgan": {"diverged": 0, "converged": 1, "reason": "", "min_class_share": 0.08, "wall_s": 3.2,
                         "class_histogram": [0.1] * 10}}
    path = convergence.save_verdicts(results, tmp_path / "convergence.json")
    back = convergence.load_verdicts(path)
    assert back["acgan"]["converged"] == 1 and back["acgan"]["min_class_share"] == pytest.approx(0.08)
    assert "class_histogram" not in back["acgan"] and convergence.load_verdicts("") == {}
    # one file per training run (the study trains each variant in a job of its own), merged
    other = convergence.save_verdicts({"r3gan": {**results["acgan"], "converged": 0}}, tmp_path / "other.json")
    merged = convergence.load_verdicts({"acgan": path, "r3gan": other})
    assert merged["acgan"]["converged"] == 1 and merged["r3gan"]["converged"] == 0
    assert convergence.load_verdicts({}) == {}


class ConditionalToy(nn.Module):
    """A class-conditional 'generator' that draws real training digits of the asked class: all of them
    (`narrow=False`) or always the first one of each class (`narrow=True`: recognisable, no diversity)."""

    conditional = True

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, narrow: bool):
        super().__init__()
        self.cfg = SimpleNamespace(latent_dim=4, num_classes=10)
        self.by_class = [images[labels == k][:1 if narrow else None] for k in range(10)]

    @torch.no_grad()
    def sample(self, n, generator=None, labels=None):
        assert labels is not None and len(labels) == n  # a conditional model is always given its labels
        pick = [int(torch.randint(len(self.by_class[k]), (1,), generator=generator)) for k in labels.tolist()]
        return torch.stack([self.by_class[k][i] for k, i in zip(labels.tolist(), pick)])

    def forward(self, z, labels):  # PPL walks z; these samples ignore it
        return torch.stack([self.by_class[k][0] for k in labels.tolist()])


def test_gan_train_and_gan_test_for_conditional_models_and_real_images_only(digits_train, digits_test,
                                                                              digits_classifier):
    images, labels = digits_train.float(), torch.as_tensor(digits_train.labels)
    gens = {"unconditional": ToyGenerator(True), "varied": ConditionalToy(images, labels, narrow=False),
            "narrow": ConditionalToy(images, labels, narrow=True)}
    settings = EvalSettings(n_fake=200, repeats=1, n_pairs=20, prd_runs=1,
                            gan_train=ClassifierTraining(steps=60, batch_size=64, lr=3e-3))
    recs = gt.gan_table(gens, digits_test, _space(digits_classifier), settings, metrics=("fid", *gt.CLASS_METRICS),
                        ppl=None, real=digits_train.subset(range(200)))
    t = records_table(recs)
    assert list(t.index) == [gt.REAL_ROW, "unconditional", "varied", "narrow"]  # real images first, as the paper's
    for row in (gt.REAL_ROW, "varied", "narrow"):
        assert 0 <= t.loc[row, "gan_train"] <= 1 and 0 <= t.loc[row, "gan_test"] <= 1, row
    # an unconditional generator's labels would be C1's own: no GAN-train or GAN-test, but its other metrics
    assert math.isnan(t.loc["unconditional", "gan_train"]) and math.isnan(t.loc["unconditional", "gan_test"])
    assert math.isfinite(t.loc["unconditional", "fid"])
    assert "conditional" in gt.UNCONDITIONAL_REASON
    # the paper's reading: copies of real digits are recognisable whether varied or not (GAN-test high for
    # both), but only the varied set teaches a classifier the real test set (GAN-train)
    assert t.loc["narrow", "gan_test"] > 0.8 and t.loc["varied", "gan_test"] > 0.8
    assert t.loc["varied", "gan_train"] > t.loc["narrow", "gan_train"] + 0.1
    by = {(r.protocol["model"], r.metric): r for r in recs}
    assert by[("narrow", "gan_train")].protocol["steps"] == 60 and by[("narrow", "gan_train")].protocol["n_fake"] == 200
