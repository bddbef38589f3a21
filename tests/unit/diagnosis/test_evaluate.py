"""`evaluate_models` and `labkit evaluate` end to end on digits: the report's shape, the caches, order-free
numbers, and clear errors; on Fashion-MNIST (when installed) the verdicts of sets whose answer is known."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labkit.__main__ import main
from labkit.diagnosis import EvaluateSettings, evaluate_models, write_report
from labkit.diagnosis.cases import EXPECTED, known_cases
from labkit.diagnosis.verdicts import VERDICTS

FASHION = Path("/usr/share/datasets/fashion-mnist")
DIGITS = dict(reference="digits:test", n=60, bootstrap=10, progress=False)


@pytest.fixture
def digit_arrays(tmp_path, digits_test, digits_train):
    real = tmp_path / "real.npy"
    np.save(real, digits_train.images[:200].numpy())  # training images: copies
    flipped = tmp_path / "flipped.npy"
    np.save(flipped, digits_test.images[:120].flip(-1).numpy())  # mirrored test images
    return real, flipped


def test_evaluation_json_holds_every_model_metric_and_verdict(tmp_runs, digit_arrays):
    real, flipped = digit_arrays
    ev = evaluate_models({"copies": str(real), "flipped": str(flipped)}, EvaluateSettings(**DIGITS))
    paths = write_report(ev, tmp_runs / "out")
    doc = json.loads(paths["json"].read_text())
    assert set(doc["models"]) == {"copies", "flipped"}
    for m in doc["models"].values():
        assert m["n"] == 60 and set(m["diagnosis"]) == set(VERDICTS)
        for v in m["diagnosis"].values():
            assert v["verdict"] in ("yes", "no", "unclear") and v["reason"] and v["evidence"]
        assert {"precision", "recall", "density", "coverage", "fd", "lap_ratio", "ct"} <= set(m["metrics"])
        lo, hi = m["intervals"]["precision"]
        assert lo <= m["metrics"]["precision"] <= hi
        assert len(m["per_class"]) == 10
    assert doc["protocol"]["classifier"]["cached"] is False and doc["protocol"]["n"] == 60
    assert doc["models"]["copies"]["metrics"]["ct"] < doc["models"]["flipped"]["metrics"]["ct"]
    assert ev.ranking()["copying"] == ["flipped", "copies"]  # best (least copying) first
    html = paths["html"].read_text()
    assert "Diagnosis" in html and "calibration.png" in html and (tmp_runs / "out" / "calibration.png").is_file()
    # a second call reuses the classifier and the calibration
    again = evaluate_models({"copies": str(real)}, EvaluateSettings(**DIGITS))
    assert again.protocol["classifier"]["cached"] is True
    assert again.models["copies"].measured.values == ev.models["copies"].measured.values


def test_row_order_of_the_samples_changes_no_number(tmp_runs, tmp_path, digits_test):
    x = digits_test.images[:90].numpy()
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "b.npy", x[np.random.default_rng(0).permutation(len(x))])
    ev = evaluate_models([str(tmp_path / "a.npy"), str(tmp_path / "b.npy")], EvaluateSettings(**DIGITS))
    a, b = (ev.models[k].measured.values for k in ("a", "b"))
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12), k


def test_cli_writes_the_reports_and_prints_verdicts(tmp_runs, digit_arrays, capsys):
    real, _ = digit_arrays
    out = tmp_runs / "cli"
    assert main(["evaluate", f"mine={real}", "--reference", "digits:test", "--n", "50", "--bootstrap", "0",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "mine" in printed and "copying:" in printed
    assert {"report.html", "report.md", "evaluation.json"} <= {p.name for p in out.iterdir()}


@pytest.mark.parametrize("args, names", [
    (["nothing_here.npy", "--reference", "digits:test"], "nothing_here.npy"),
    (["{bad}", "--reference", "nope:test"], "nope"),
    (["{bad}", "--reference", "digits:test", "--n", "0"], "n must be a positive integer"),
    (["{bad}", "--reference", "digits:test", "--extractor", "inception", "--extractor-weights", "/nonexistent/w.pth"],
     "w.pth"),
])
def test_cli_bad_input_exits_2_naming_it(tmp_runs, tmp_path, capsys, args, names):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(SystemExit) as e:
        main(["evaluate", *[a.replace("{bad}", str(bad)) for a in args], "--quiet"])
    assert e.value.code == 2 and names in capsys.readouterr().err


def test_two_sets_of_one_name_are_refused(tmp_runs, digit_arrays):
    real, _ = digit_arrays
    with pytest.raises(ValueError, match="share a name"):
        evaluate_models([str(real), str(real)], EvaluateSettings(**DIGITS))


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_known_cases_on_fashion_mnist(tmp_runs):
    """Real unseen images: no on all four; each damage: yes on its own verdict. Small sizes (150 per set)."""
    settings, cases = known_cases(EvaluateSettings(n=150, n_train=3000, bootstrap=0, progress=False))
    ev = evaluate_models(cases, settings)
    verdicts = ev.verdicts()
    assert verdicts["real unseen"] == dict.fromkeys(VERDICTS, "no")
    for name, (_, expected) in EXPECTED.items():
        for kind in expected:
            assert verdicts[name][kind] == "yes", (name, kind, ev.models[name].diagnosis[kind].reason)
