"""Table 1 plumbing of notebook 04: its rows, the confidence filter of row 5, row-by-row evaluation, display, figure."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from labkit.core.record import records_table  # noqa: E402
from labkit.experiments import table1 as et  # noqa: E402
from labkit.experiments import views  # noqa: E402
from labkit.generate import GenerationBudgetError  # noqa: E402
from labkit.metrics import EvalSettings, EvalSpace  # noqa: E402


class RealSampler(nn.Module):
    """A 'generator' that returns random real digits (seeded); conditional: digits of the asked classes."""

    def __init__(self, ds, conditional: bool = False):
        super().__init__()
        self.x, self.y, self.conditional = ds.float(), ds.labels, conditional
        self.cfg = type("Cfg", (), {"num_classes": ds.num_classes if conditional else 0})()

    def sample(self, n, generator=None, labels=None):
        if labels is None:
            return self.x[torch.randint(len(self.x), (n,), generator=generator)]
        pick = [torch.nonzero(self.y == c).flatten() for c in labels.tolist()]
        return torch.stack([self.x[p[torch.randint(len(p), (1,), generator=generator)]][0] for p in pick])


@pytest.fixture(scope="module")
def rows(digits_train, digits_classifier):
    vae = {"plain": RealSampler(digits_train), "conditional": RealSampler(digits_train, conditional=True)}
    return et.table1_sources(vae, digits_classifier, dataset="digits", n_per_class=5, n_real_per_class=5,
                             min_confidence=0.9)


def test_table1_rows_in_the_papers_order(rows):
    assert list(rows) == ["real images", "1 VAE + hard labels", "2 VAE + soft labels", "3 conditional VAE",
                          "5 VAE + soft labels + confidence ≥ 0.9"]  # no perceptual VAE given: no row 4
    real = rows["real images"](0)
    assert len(real) == 50 and real.split == "train"


def test_row5_keeps_only_confident_images(rows, digits_classifier):
    ds = rows["5 VAE + soft labels + confidence ≥ 0.9"](3)
    assert 0 < len(ds) <= 50 and (ds.soft_labels.max(1).values >= 0.9).all()
    soft = rows["2 VAE + soft labels"](3)
    assert soft.soft_labels is not None and len(soft) == 50
    assert torch.equal(rows["1 VAE + hard labels"](7).images, rows["1 VAE + hard labels"](7).images)  # seeded


def _space(classifier, **kw):
    return EvalSpace.resolve(classifier, device="cpu", cache=False, **kw)


def test_table1_evaluates_row_by_row_with_records_and_notes(rows, digits_test, digits_classifier):
    picked = {k: rows[k] for k in ("real images", "3 conditional VAE")}
    records, notes = et.table1(picked, digits_test, _space(digits_classifier, cmmd="clip"),
                               EvalSettings(n_fake=50, repeats=2), metrics=("lap", "is", "fid", "gan_test", "cmmd"))
    assert list(records_table(records).index) == list(picked)
    assert {r.protocol["model"] for r in records} == set(picked)
    assert all(r.protocol["repeats"] == 2 and r.protocol["experiment"] == "table1" for r in records)
    assert any("CMMD skipped" in n for n in notes)  # no CLIP weights offline: said, not silent
    cols = views.metric_order(records)
    assert cols[:3] == ["lap", "is", "fid"] and "gan_test" in cols
    shown = views.shown(records, renames=et.RENAMES)
    assert shown.loc["real images", "FID (C1)"].count("±") == 1  # labels carry the feature space
    assert {"LAP", "IS (C1)", "VAE-test"} <= set(shown.columns)
    fig = views.bar_figure(records, list(et.FIGURE_METRICS), "t", renames=et.RENAMES)
    assert len(fig.axes) == len([c for c in et.FIGURE_METRICS if c in cols])
    assert fig.axes[1].get_title() == "IS (C1)"


def test_a_model_that_cannot_draw_a_class_keeps_its_row(digits_test, digits_classifier):
    def fails(seed):
        raise GenerationBudgetError("class 3 drawn 0 times in 500 samples")

    good = lambda seed: digits_test.subset(range(60))  # noqa: E731
    records, notes = et.table1({"ok": good, "broken": fails}, digits_test, _space(digits_classifier),
                               EvalSettings(n_fake=60, repeats=1), metrics=("lap", "fid"))
    assert list(records_table(records).index) == ["ok", "broken"] and any("broken not evaluated" in n for n in notes)
    errors = [r for r in records if r.metric == "error"]
    assert [(r.protocol["model"], r.value) for r in errors] == [("broken", "class 3 drawn 0 times in 500 samples")]
    shown = views.shown(records, metrics=["lap", "fid"])
    assert shown.loc["broken", "not evaluated"] == "class 3 drawn 0 times in 500 samples"
    assert shown.loc["broken", "FID (C1)"] == "" and shown.loc["ok", "not evaluated"] == ""


def test_each_record_names_the_space_it_was_measured_in(digits_test, digits_classifier):
    records, _ = et.table1({"real": lambda s: digits_test.subset(range(60))}, digits_test,
                           _space(digits_classifier, extractor="pixels"), EvalSettings(n_fake=60, repeats=1),
                           metrics=("is", "fid"))
    space = {r.metric: r.protocol["extractor"] for r in records}
    assert space == {"is": "classifier", "fid": "pixels"}  # pixels have no softmax: IS falls back to C1
    assert list(views.shown(records).columns) == ["IS (C1)", "FID (pixels)"]
