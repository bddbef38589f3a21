"""Records carry their protocol and gather into a DataFrame."""
import json

from labkit.core import runs


def test_record_and_load(tmp_runs):
    r = runs.run_dir(tmp_runs / "runs" / "a")
    runs.record(r, "fid", 12.5, std=0.3, extractor="classifier", n_real=100, seed=0)
    runs.record(r, "fid", 11.0, std=0.2, extractor="classifier", n_real=100, seed=0)  # same protocol: replaced
    runs.record(r, "fid", 9.0, extractor="classifier", n_real=500, seed=0)
    runs.record_artifact(r, "classifier", r / "c.pt")
    doc = json.loads((r / "metrics.json").read_text())
    assert len(doc["records"]) == 2 and "torch" in doc["versions"]
    df = runs.load_records(tmp_runs / "runs")
    assert set(df["value"]) == {11.0, 9.0} and set(df["run"]) == {"a"}
    assert runs.artifacts(r)["classifier"].endswith("c.pt")
