"""The whole study in its smoke preset, executed headless by papermill, with checks on what each notebook recorded."""
import concurrent.futures as cf
import math
import re

import pytest

from labkit.core import runs
from labkit.experiments.gan_table import REAL_ROW
from labkit.study import runner as study
from labkit.study.plan import GAN_COMPARED, GAN_CONDITIONAL
from labkit.study.report import write_report
from tests.helpers import kill_child_when_running, kill_worker, wait_until_running

pytestmark = pytest.mark.notebooks


# Job id, or notebook for all its jobs -> {metric: check on its value}. Every job has checks, and every job must
# record at least one finite number. Smoke models train for seconds, so most checks are about the plumbing (ranges a
# value of that kind must lie in), a few about what even a seconds-old model shows.
unit = lambda v: 0 <= v <= 1  # noqa: E731
flag = lambda v: v in (0, 1)  # noqa: E731
CHECKS = {
    "00_tour": {"n_train": lambda v: v == 60000, "n_test": lambda v: v == 10000, "num_classes": lambda v: v == 10},
    "01_train_classifier": {"test_accuracy": lambda v: 0.15 < v <= 1.0},  # 300 images, 1 epoch: above chance
    "02_train_vae": {"reconstruction_ssim": lambda v: 0 < v <= 1, "reconstruction_mse": unit, "final_kl": lambda v: v >= 0,
                     # seed 003: the KL flag (last window over the lowest, ≥ 0 by definition) and the equal-MSE pair
                     "kl_rise": lambda v: v >= 0, "distortion_mse": lambda v: abs(v - 144 / 255 ** 2) < 1e-6,
                     "distortion_ssim": unit, "ssim_gap": lambda v: v > 0},
    "03_train_gan": {"diverged": flag, "converged": flag, "min_class_share": unit,
                     "class_histogram": lambda v: len(v) == 10 and abs(sum(v) - 1) < 1e-6},
    "04_evaluate-vaes": {"lap_real_test": lambda v: abs(v - 0.184) < 0.01,  # the paper's 0.184 on the real test set
                         "gan_train": unit, "precision": unit, "fid": lambda v: v >= 0, "is": lambda v: 1 <= v <= 10},
    "04_evaluate-gans": {"is": lambda v: 1 <= v <= 10, "lpips_diversity": lambda v: v >= 0, "ppl": lambda v: v >= 0,
                         "recall": unit, "diverged": flag, "swd": lambda v: v >= 0, "gan_train": unit,
                         "gan_test": unit},
    "05_diversity_saturation": {"saturation_accuracy": unit, "plateau_accuracy": unit},
    "06_validate_metrics": {"degradation_fid": lambda v: v >= 0, "degradation_gan_test": unit,
                            "class_subset_recall": unit, "nn_share_close": unit,
                            # the equal-FID pair, the forest's second opinion, the t-SNE map
                            "fid": lambda v: v >= 0, "prd_f8": unit, "classes_found": lambda v: 1 <= v <= 10,
                            "gan_train_forest": unit, "gan_train_cnn": unit, "forest_rank_agreement": lambda v: -1 <= v <= 1,
                            "tsne_generated_neighbours": unit},
    # NaN: the direction's target attribute is constant on the batch (the smoke VAE draws no ink variation)
    "07_latent_sliders": {"edit_leakage": lambda v: math.isnan(v) or v >= 0},
    "08_controlled_generation": {"edit_success": unit, "mapper_class_kept": unit, "mapper_latent_mse": lambda v: v >= 0},
    "09_evaluate_your_model": {"density": lambda v: v >= 0, "coverage": unit, "lap_ratio": lambda v: v >= 0,
                               "ct": math.isfinite},
}


def checks_of(job) -> dict:
    return {**CHECKS.get(job.notebook, {}), **CHECKS.get(job.id, {})}


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    s = study.Study(name="smoke", preset="smoke", root=root, cell_timeout=600)
    with cf.ProcessPoolExecutor(2) as pool:  # as `make study` runs it: jobs side by side as their inputs are ready
        statuses = s.run(executor=pool, max_parallel=2)
    return s, statuses


def test_every_notebook_succeeds_and_records_numbers(smoke_study):
    s, statuses = smoke_study
    assert [st["state"] for st in statuses] == ["succeeded"] * len(s.jobs())
    records = runs.load_records(s.dir)
    for job in s.jobs():
        mine = records[records["run"] == job.id]
        assert len(mine), f"{job.id} recorded nothing"
        numeric = [v for v in mine["value"] if isinstance(v, (int, float)) and not isinstance(v, bool)]
        assert any(math.isfinite(v) for v in numeric), f"{job.id} recorded no finite number"
        assert checks_of(job), f"{job.id} has no value checks"
        for metric, check in checks_of(job).items():
            values = mine.loc[mine["metric"] == metric, "value"].tolist()
            assert values and all(check(v) for v in values), (job.id, metric, values)


def test_notebooks_are_committed_without_outputs():
    import nbformat
    for nb_path in sorted(study.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), nb_path.name
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), nb_path.name


def test_report_is_written_with_tables(smoke_study):
    s, _ = smoke_study
    html, md = write_report(s.dir)
    text = html.read_text()
    assert "Timings per notebook" in text and "01_train_classifier" in text and "test_accuracy" in text
    assert "| metric" in md.read_text()
    assert "Diagnosis of every trained model" in text and "VAE (plain)" in text  # notebook 09's verdicts
    # the findings lead; the equal-FID pair, the forest's ranking check and the t-SNE map have sections with their
    # figures; SWD is a column of the GAN table
    assert text.index("<h2") == text.index('<h2 id="findings">Findings</h2>')
    findings = text[text.index(">Findings</h2>"):text.index("<h2", text.index(">Findings</h2>"))]
    assert re.search(r"<td>(holds|does not hold|not comparable)[^<]*</td>", findings) and 'href="#' in findings
    for section, figures in (("Equal FID, different failures (PRD)", ("equal_fid_prd.png", "equal_fid_classes.png")),
                             ("Second opinion: random-forest GAN-train", ()),
                             ("t-SNE of real and generated features", ("tsne.png",)),
                             ("KL term during training (seed 003)", ("02_train_vae-plain/losses.png",)),
                             ("MSE against SSIM as similarity (seed 003)", ("mse_vs_ssim.png",))):
        start = text.index(f">{section}</h2>")
        body = text[start:text.index("<h2", start)]
        assert "<table" in body and all(f in body for f in figures), section
    gan_table = text[text.index(">GAN table</h2>"):]
    assert "<th>SWD</th>" in gan_table[:gan_table.index("<h2")]
    # GAN-train and GAN-test of the three conditional GANs and of real images, as "How good is my GAN?" compares
    # them; none for the unconditional GANs, whose reason the table's note gives
    rows = _markdown_table(md.read_text(), "GAN table")
    for model in (*GAN_CONDITIONAL, REAL_ROW):
        assert all(0 <= float(rows[model][c]) <= 1 for c in ("GAN-train", "GAN-test")), model
    assert all(rows[v]["GAN-train"] == rows[v]["GAN-test"] == "" and rows[v]["FID (C1)"] for v in GAN_COMPARED)
    assert "Unconditional GANs have neither column" in gan_table[:gan_table.index("<h2")]


def _markdown_table(md: str, heading: str) -> dict[str, dict[str, str]]:
    """The first table under `## heading` of a Markdown report: first column -> {column: cell}."""
    section = md[md.index(f"## {heading}\n"):]
    lines = [line for line in section[:section.index("\n## ", 1)].splitlines() if line.startswith("|")]
    header, *rows = ([c.strip() for c in line.strip("|").split("|")] for line in lines[:1] + lines[2:])
    return {row[0]: dict(zip(header, row)) for row in rows}


def check_saturation_section(study_dir, job) -> None:
    """The report's saturation section holds the real curve, a row per generator of job 05 with a numeric effective
    size ("120 [80, 200]", "< 3", "> 3000") or the reason it was left out, and the curves' figure."""
    text = (study_dir / "report.md").read_text()
    section = text[text.index("## Diversity saturation"):]
    section = section[:section.index("\n## ", 1)]
    assert "Real curve (the reference" in section and "saturation.png" in section
    rows = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| curve")}
    assert set(job.inputs["generators"]) <= set(rows), rows
    for curve in job.inputs["generators"]:
        assert re.match(r"([<>] )?\d[\d.e+]*( \[|$| \()|left out: ", rows[curve]), (curve, rows[curve])
    assert any(re.match(r"([<>] )?\d", v) for v in rows.values()), rows  # at least one curve has a number


def test_report_shows_the_saturation_curves_with_effective_sizes(smoke_study):
    s, _ = smoke_study
    write_report(s.dir)
    check_saturation_section(s.dir, next(j for j in s.jobs() if j.notebook == "05_diversity_saturation"))


TIMING = ("wall", "seconds", "time", "per_s")  # metrics that measure the clock, not the study


def _stable_records(study_dir):
    df = runs.load_records(study_dir)
    df = df[~df["metric"].astype(str).str.contains("|".join(TIMING))]
    return sorted(zip(df["run"], df["metric"], [str(v) for v in df["value"]]))  # NaN too: astype(str) keeps it NaN


def test_killed_smoke_study_resumes_with_the_same_records(smoke_study, tmp_path):
    """SIGKILL the smoke study (run one job at a time) while 04's Table 1 runs; the rerun skips the jobs before
    it, redoes the rest, and ends with the records of the uninterrupted study, which ran two jobs at a time (clock
    readings aside)."""
    import subprocess
    import sys

    reference, _ = smoke_study
    kill_child_when_running([sys.executable, "-m", "labkit", "study", "--preset", "smoke", "--name", "killed",
                             "--root", str(tmp_path), "--cell-timeout", "600"],
                            tmp_path / "killed/04_evaluate-vaes/status.json", timeout_s=900,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    events = []
    study.Study(name="killed", preset="smoke", root=tmp_path, cell_timeout=600).run(
        on_event=lambda e, job, st: events.append((e, job.id)))
    skipped = {j for e, j in events if e == "skip"}
    ids = [j.id for j in reference.jobs()]
    assert set(ids[:ids.index("04_evaluate-vaes")]) <= skipped  # everything the plan runs before it
    assert ("start", "04_evaluate-vaes") in events
    assert _stable_records(tmp_path / "killed") == _stable_records(reference.dir)


def test_smoke_study_on_a_local_dask_cluster_survives_a_killed_worker_with_the_same_records(smoke_study, tmp_path):
    """`labkit study --scheduler local:2` (2 workers on loopback): SIGKILL the worker running 04's Table 1 by its pid;
    the study reports that job lost and stops; the rerun skips what is done, redoes the rest and ends with the
    records of the local process pool's run (clock readings aside). Both consoles: a line per job start and end
    with [k/N], no kernel noise, a summary."""
    import re
    import subprocess
    import sys

    reference, _ = smoke_study
    cmd = [sys.executable, "-m", "labkit", "study", "--preset", "smoke", "--name", "dask", "--root", str(tmp_path),
           "--scheduler", "local:2", "--cell-timeout", "600"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = wait_until_running(tmp_path / "dask/04_evaluate-vaes/status.json", timeout_s=900, child=first)
    kill_worker(running["pid"])
    out, err = first.communicate(timeout=900)
    assert first.returncode == 1, err[-3000:]
    assert re.search(r"notebook 04_evaluate-vaes was lost: the worker running it \(host \S+, pid \d+\) died mid-job", err)
    assert re.search(r"\] LOST 04_evaluate-vaes after \d+:\d\d: the worker running it", out)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _stable_records(tmp_path / "dask") == _stable_records(reference.dir)

    n = len(reference.jobs())
    done_before = {m for m in re.findall(rf"\[\s*\d+/{n}\] done  (\S+)", out)}
    skipped = set(re.findall(rf"\[\s*\d+/{n}\] skip  (\S+)", rerun.stdout))
    redone = re.findall(rf"\[\s*\d+/{n}\] start (\S+)", rerun.stdout)
    assert skipped == done_before and "04_evaluate-vaes" in redone and len(skipped) + len(redone) == n
    assert len(re.findall(rf"\[\s*\d+/{n}\] done  ", rerun.stdout)) == len(redone)
    assert f"{n} jobs: {len(redone)} succeeded, {len(skipped)} unchanged" in rerun.stdout
    for console in (out + err, rerun.stdout + rerun.stderr):  # the kernels' and Dask's logs stay out of it
        assert not re.search(r"IPKernelApp|KeyboardInterrupt|distributed\.\w+ - ", console), console[-3000:]
