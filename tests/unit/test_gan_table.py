"""The GAN comparison table on toy 8×8 generators: columns, rows, protocol, and the diversity/PPL conventions."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from labkit import gan_table as gt
from labkit.metrics import MetricRecord


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


@pytest.fixture(scope="module")
def table(digits_test, digits_classifier):
    verdicts = {"varied": {"diverged": 0, "converged": 1, "reason": "", "min_class_share": 0.05},
                "constant": {"diverged": 1, "converged": 0, "reason": "collapsed samples", "min_class_share": 0.0}}
    gens = {"varied": ToyGenerator(True), "constant": ToyGenerator(False)}
    return gt.gan_table(gens, digits_test, classifier=digits_classifier, verdicts=verdicts, n_fake=100, repeats=2,
                        n_pairs=50, n_paths=40, prd_runs=1, swd_images=0, device="cpu", cache=False)


def test_rows_and_columns(table):
    assert list(table.index) == ["varied", "constant"]
    for c in ("is", "fid", "lpips_diversity", "ppl", "cmmd_classifier", "prd_f8", "prd_f1_8", "precision", "recall",
              "density", "coverage", *gt.VERDICT_COLUMNS, "distance", "cmmd_space", "wall_s"):
        assert c in table, c
    assert "cmmd" not in table  # no CLIP weights offline: the CMMD column says which space it used
    assert set(table["distance"]) == {"lpips-classifier"} and set(table["cmmd_space"]) == {"classifier"}
    assert table.loc["constant", "reason"] == "collapsed samples" and table.loc["varied", "converged"] == 1
    shown = gt.shown(table)
    assert list(shown.index) == ["varied", "constant"] and "reason" in shown
    # names say what was measured: the paper's LPIPS direction (a surrogate here), pair-diversity, C1 spaces
    for label in ("IS (C1)", "FID (C1)", "LPIPS surrogate (C1 distance)", "pair-diversity (C1 distance)",
                  "PPL (C1 distance)", "CMMD surrogate (C1)", "precision (C1)"):
        assert label in shown, label


def test_records_carry_protocol(table):
    recs = table.attrs["records"]
    assert all(isinstance(r, MetricRecord) for r in recs)
    by = {(r.protocol["model"], r.metric): r for r in recs}
    div = by[("varied", "lpips_diversity")]
    assert div.protocol["n_pairs"] == 50 and div.protocol["seeds"] == [0, 1]
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
        t = gt.gan_table({"varied": ToyGenerator(True), "nan": NaNGenerator()}, digits_test,
                         classifier=digits_classifier, verdicts=verdicts, n_fake=60, n_pairs=20, n_paths=10,
                         prd_runs=1, metrics=("fid",), device="cpu", cache=False)
    assert list(t.index) == ["varied", "nan"] and "NaN or inf" in t.loc["nan", "error"]
    assert t.loc["nan", "diverged"] == 1 and math.isnan(t.loc["nan", "fid"])
    errors = [r for r in t.attrs["records"] if r.metric == "error"]
    assert [r.protocol["model"] for r in errors] == ["nan"]
    assert "NaN or inf" in gt.shown(t).loc["nan", "not evaluated"]


def test_swd_optional_and_missing_verdicts(digits_train, digits_classifier):
    gens = {"varied": ToyGenerator(True)}
    # 8×8 is below SWD's intended size; one level of 3×3 patches keeps the plumbing tested
    t = gt.gan_table(gens, digits_train.subset(range(200)), classifier=digits_classifier, n_fake=60, n_pairs=20,
                     n_paths=10, prd_runs=1, swd_images=50, metrics=("fid",), device="cpu", cache=False,
                     swd_kwargs={"patch_size": 3, "levels": 1})
    assert t.loc["varied", "swd"] >= 0 and t.loc["varied", "diverged"] is None


def test_verdicts_round_trip(tmp_path):
    results = {"acgan": {"diverged": 0, "converged": 1, "reason": "", "min_class_share": 0.08, "wall_s": 3.2,
                         "class_histogram": [0.1] * 10}}
    path = gt.save_verdicts(results, tmp_path / "convergence.json")
    back = gt.load_verdicts(path)
    assert back["acgan"]["converged"] == 1 and back["acgan"]["min_class_share"] == pytest.approx(0.08)
    assert "class_histogram" not in back["acgan"] and gt.load_verdicts("") == {}
    # one file per training run (the study trains each variant in a job of its own), merged
    other = gt.save_verdicts({"r3gan": {**results["acgan"], "converged": 0}}, tmp_path / "other.json")
    merged = gt.load_verdicts({"acgan": path, "r3gan": other})
    assert merged["acgan"]["converged"] == 1 and merged["r3gan"]["converged"] == 0 and gt.load_verdicts({}) == {}
