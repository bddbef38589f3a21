"""Bad inputs and hostile files: each gets an error of the expected type whose message names what was wrong,
and nothing from a file or a parameter ever runs as code."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import labkit
from labkit import data, features, metrics
from labkit.__main__ import main as cli
from labkit.core import runtime
from labkit.features import cache
from labkit.metrics.prd import prd, prd_from_histograms
from labkit.models import checkpoint
from labkit.models.vae import VAEConfig
from labkit.study import runner as study
from labkit.train import loop as train

TINY_VAE = VAEConfig(image_size=8, latent_dim=2, widths=(4,), encoder_dense=(8,), decoder_dense=(8,))


class Marker:
    """A pickle payload that, if ever unpickled with code allowed, creates `path`."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _raises(exc, call, *named):
    """Run `call`; it must raise `exc` whose message contains every string in `named`."""
    with pytest.raises(exc) as info:
        call()
    for text in named:
        assert str(text) in str(info.value), (str(text), str(info.value))
    return info.value


def _images(folder: Path, classes: dict[str, int], size=8, mode="L"):
    for name, n in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((size, size) + (() if mode == "L" else (3,)), 40 * i % 255, np.uint8)).save(
                folder / name / f"{i}.png")


@pytest.fixture(scope="module")
def vae_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("vae") / "vae.pt"
    labkit.save_models(path, {"model": labkit.build_model("vae", TINY_VAE)})
    return path


@pytest.fixture(scope="module")
def clf_ckpt(tmp_path_factory, digits_classifier):
    path = tmp_path_factory.mktemp("clf") / "clf.pt"
    labkit.save_models(path, {"model": digits_classifier})
    return path


# ---------------------------------------------------------------- data

@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_load_rejects_bad_n_per_class(n):
    _raises(ValueError, lambda: data.load("digits", "train", n_per_class=n), "n_per_class", repr(n))


def test_load_rejects_unknown_split_and_dataset():
    _raises(ValueError, lambda: data.load("digits", "validation"), "'validation'")
    _raises(ValueError, lambda: data.load("nope-mnist", "train"), "'nope-mnist'")


def test_load_rejects_more_per_class_than_there_are():
    _raises(ValueError, lambda: data.load("digits", "test", n_per_class=10_000), "n_per_class=10000")


def test_folder_rejects_two_channels(tmp_path):
    _images(tmp_path, {"a": 3, "b": 3})
    _raises(ValueError, lambda: data.load(f"folder:{tmp_path}", "train", channels=2), "channels", "2")


def test_folder_that_is_missing_or_has_no_classes(tmp_path):
    _raises(FileNotFoundError, lambda: data.load(f"folder:{tmp_path / 'gone'}", "train"), "gone")
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "flat" / "x.png")
    _raises(FileNotFoundError, lambda: data.load(f"folder:{tmp_path / 'flat'}", "train"), "flat", "class sub-folders")


def test_small_folder_has_no_validation_split(tmp_path):
    _images(tmp_path, {"a": 3, "b": 3})
    _raises(ValueError, lambda: data.load(f"folder:{tmp_path}", "val"), str(tmp_path), "'val'")


def test_folder_with_different_train_and_test_classes_is_refused(tmp_path):
    _images(tmp_path / "train", {"cat": 2, "dog": 2})
    _images(tmp_path / "test", {"cow": 2, "dog": 2})
    _raises(ValueError, lambda: data.load(f"folder:{tmp_path}", "test"), "cow", "train")


def test_folder_test_labels_follow_the_training_class_names(tmp_path):
    """A test folder missing a class keeps the training numbering (no silent shift of labels)."""
    _images(tmp_path / "train", {"ant": 2, "bee": 2, "cat": 2})
    _images(tmp_path / "test", {"bee": 2, "cat": 2})
    test = data.load(f"folder:{tmp_path}", "test")
    assert test.class_names == ("ant", "bee", "cat")
    assert sorted(set(test.labels.tolist())) == [1, 2]


def test_folder_with_an_unreadable_image(tmp_path):
    _images(tmp_path, {"a": 2, "b": 2})
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    _raises(data.CorruptDataError, lambda: data.load(f"folder:{tmp_path}", "train"), "broken.png")


def test_image_checks_name_what_is_wrong():
    _raises(ValueError, lambda: data.check_images(torch.rand(4, 8, 8)), "(4, 8, 8)")
    _raises(ValueError, lambda: data.check_images(torch.rand(2, 1, 4, 4) * 3), "[0, 1]")
    _raises(ValueError, lambda: data.check_images(torch.zeros(2, 1, 4, 4, dtype=torch.uint8)), "uint8")
    _raises(ValueError, lambda: data.check_images(torch.full((1, 1, 2, 2), float("nan"))), "NaN")


# ---------------------------------------------------------------- metrics

def test_prdc_k_zero():
    x = np.random.default_rng(0).normal(size=(20, 3))
    _raises(ValueError, lambda: metrics.prdc(x, x, k=0), "k", "0")


def test_prd_from_all_zero_histogram():
    _raises(ValueError, lambda: prd_from_histograms(np.zeros(5), np.ones(5)), "real_hist")
    _raises(ValueError, lambda: prd_from_histograms(np.ones(5), np.zeros(5)), "fake_hist")
    _raises(ValueError, lambda: prd_from_histograms(np.ones(4), np.ones(5)), "4", "5")


def test_kid_subset_of_one():
    x = np.random.default_rng(0).normal(size=(20, 3))
    _raises(ValueError, lambda: metrics.kid(x, x, subset_size=1), "subset_size", "1")


def test_metric_feature_checks():
    x = np.random.default_rng(0).normal(size=(20, 3))
    _raises(ValueError, lambda: metrics.frechet_distance(x, x[:, :2]), "3 vs 2")
    _raises(ValueError, lambda: metrics.frechet_distance(x.reshape(20, 3, 1), x), "2-D")
    bad = x.copy()
    bad[3, 1] = np.nan
    _raises(ValueError, lambda: metrics.frechet_distance(x, bad), "NaN", "fake features")
    _raises(ValueError, lambda: metrics.inception_score(np.full((4, 3), 0.5)), "probability vectors")
    _raises(ValueError, lambda: metrics.inception_score(np.full((4, 2), 0.5), splits=9), "splits", "9")
    _raises(ValueError, lambda: prd(x, x, num_clusters=0), "num_clusters")


def test_evaluate_rejects_zero_repeats(digits_test, digits_classifier):
    _raises(ValueError, lambda: metrics.EvalSettings(repeats=0), "repeats", "0")
    _raises(ValueError, lambda: metrics.evaluate(digits_test, digits_test, metrics.EvalSpace.resolve(digits_classifier),
                                                 metrics=("fid", "fdi")), "'fdi'")


# ---------------------------------------------------------------- features

def test_extract_batch_size_zero(digits_classifier):
    ex = features.ClassifierFeatures(model=digits_classifier)
    _raises(ValueError, lambda: features.extract(ex, torch.rand(3, 1, 8, 8), batch_size=0), "batch_size", "0")


def test_extract_unknown_output_and_extractor():
    _raises(ValueError, lambda: features.extract(features.PixelFeatures(), torch.rand(3, 1, 8, 8), what="probs"),
            "'probs'")
    _raises(KeyError, lambda: features.get_extractor("resnet-9000"), "resnet-9000")


def test_classifier_features_from_a_vae_checkpoint(vae_ckpt):
    _raises(ValueError, lambda: features.ClassifierFeatures(path=vae_ckpt), str(vae_ckpt), "VAE", "Classifier")


def test_classifier_features_needs_exactly_one_source(digits_classifier, clf_ckpt):
    _raises(ValueError, lambda: features.ClassifierFeatures(), "exactly one")
    _raises(ValueError, lambda: features.ClassifierFeatures(model=digits_classifier, path=clf_ckpt), "exactly one")


def test_weights_file_missing(tmp_path):
    _raises(features.WeightsNotFoundError,
            lambda: features.get_extractor("inception", weights_path=tmp_path / "pt_inception.pth"), "pt_inception.pth")


# ---------------------------------------------------------------- checkpoints

def test_missing_and_damaged_checkpoints(tmp_path, vae_ckpt):
    _raises(FileNotFoundError, lambda: labkit.load_model(tmp_path / "none.pt"), "none.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    _raises(ValueError, lambda: labkit.load_model(tmp_path / "empty.pt"), "empty.pt", "damaged")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(vae_ckpt.read_bytes()[:200])
    _raises(ValueError, lambda: labkit.load_model(cut), "cut.pt")
    torch.save({"weights": torch.ones(2)}, tmp_path / "foreign.pt")
    _raises(ValueError, lambda: labkit.load_model(tmp_path / "foreign.pt"), "foreign.pt", "not a labkit checkpoint")


def test_checkpoint_of_unknown_model_kind(tmp_path):
    path = tmp_path / "alien.pt"
    torch.save({"version": 1, "specs": {"model": {"name": "transformer", "config": {}}}, "state": {"model": {}}}, path)
    _raises(KeyError, lambda: labkit.load_model(path), "alien.pt", "'transformer'")


def test_checkpoint_key_not_stored(vae_ckpt):
    _raises(KeyError, lambda: labkit.load_model(vae_ckpt, key="generator"), "'generator'", str(vae_ckpt))


def test_code_carrying_checkpoint_is_refused_before_anything_runs(tmp_path, vae_ckpt):
    marker = tmp_path / "pwned"
    payload = checkpoint.safe_load(vae_ckpt)
    payload["note"] = Marker(marker)  # hidden among valid fields
    torch.save(payload, tmp_path / "evil.pt")
    _raises(checkpoint.UnsafeCheckpointError, lambda: labkit.load_model(tmp_path / "evil.pt"), "evil.pt", "code")
    torch.save(Marker(marker), tmp_path / "bare.pt")
    _raises(checkpoint.UnsafeCheckpointError, lambda: labkit.load_model(tmp_path / "bare.pt"), "bare.pt")
    assert not marker.exists()


def test_legacy_checkpoint_with_numpy_rng_state_still_loads(tmp_path, vae_ckpt):
    """labkit 0.1 stored NumPy's RNG state as (name, ndarray, ...): it loads with weights_only, and resumes."""
    payload = checkpoint.safe_load(vae_ckpt)
    payload["rng"] = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    torch.save(payload, tmp_path / "old.pt")
    assert isinstance(labkit.load_model(tmp_path / "old.pt"), labkit.VAE)
    runtime.set_rng_state(checkpoint.safe_load(tmp_path / "old.pt")["rng"])


# ---------------------------------------------------------------- training and resume

def _train(ds, path, **kw):
    settings = labkit.ClassifierTraining(steps=kw.pop("steps", 4), batch_size=kw.pop("batch_size", 32),
                                         lr=kw.pop("lr", 2e-3))
    return labkit.train_classifier(ds, cfg=kw.pop("cfg", None) or labkit.ClassifierConfig(
        channels=1, image_size=8, widths=(4,), feature_dim=8), settings=settings, checkpoint=path, **kw)


def test_resume_from_a_vae_checkpoint_into_a_classifier_run(tmp_path, digits_train, vae_ckpt):
    import shutil
    path = tmp_path / "run.pt"
    payload = checkpoint.safe_load(vae_ckpt)
    payload.update(optim={}, position={"epoch": 0, "batch": 1, "step": 1}, rng=runtime.rng_state(), history=[],
                   steps=[], sums={})
    torch.save(payload, path)
    _raises(train.ResumeMismatchError, lambda: _train(digits_train, path), str(path), "models.model.name", "vae")
    shutil.copy(vae_ckpt, path)  # a model-only export
    _raises(train.ResumeMismatchError, lambda: _train(digits_train, path), str(path), "models only")


@pytest.mark.parametrize("change, field", [({"batch_size": 64}, "batch_size"), ({"lr": 1e-3}, "lr"),
                                           ({"seed": 7}, "seed")])
def test_resume_with_other_settings_is_refused(tmp_path, digits_train, change, field):
    path = tmp_path / "run.pt"
    _train(digits_train, path, steps=3)
    err = _raises(train.ResumeMismatchError, lambda: _train(digits_train, path, steps=6, **change), str(path), field)
    assert "resume=False" in str(err) and "delete" in str(err)


def test_resume_with_another_architecture_is_refused(tmp_path, digits_train):
    path = tmp_path / "run.pt"
    _train(digits_train, path, steps=3)
    wider = labkit.ClassifierConfig(channels=1, image_size=8, widths=(6,), feature_dim=8)
    _raises(train.ResumeMismatchError, lambda: _train(digits_train, path, steps=6, cfg=wider), "widths")


def test_planted_code_at_a_resume_path_never_runs(tmp_path, digits_train):
    marker = tmp_path / "pwned"
    path = tmp_path / "run.pt"
    torch.save({"version": 1, "specs": {}, "optim": Marker(marker)}, path)
    _raises(checkpoint.UnsafeCheckpointError, lambda: _train(digits_train, path), str(path))
    assert not marker.exists()


@pytest.mark.parametrize("kw, field", [({"batch_size": 0}, "batch_size"), ({"max_steps": -3}, "max_steps"),
                                       ({"epochs": 0}, "epochs")])
def test_fit_rejects_bad_sizes(kw, field):
    class Task:
        modules, optimizers = {}, {}
    args = {"epochs": 1, **kw}
    _raises(ValueError, lambda: train.fit(Task(), (torch.zeros(4, 1),), **args), field)


def test_classifier_config_must_match_the_data(digits_train):
    cfg = labkit.ClassifierConfig(channels=3, image_size=8)
    _raises(ValueError, lambda: labkit.train_classifier(digits_train, cfg=cfg), "3×8×8", "(1, 8, 8)")


# ---------------------------------------------------------------- caches

class _Counting(torch.nn.Module):
    name = "counting"
    identity = {"extractor": "counting"}

    def __init__(self):
        super().__init__()
        self.images = 0  # images it computed features of, whatever the batches

    def features(self, x):
        self.images += len(x)
        return x.flatten(1)


@pytest.mark.parametrize("damage", ["empty", "truncated", "flipped"])
def test_damaged_cache_entry_is_deleted_and_recomputed(tmp_path, digits_test, damage):
    ex = _Counting()
    first = cache.cached_features(digits_test, ex, cache_dir=tmp_path)
    (entry,) = (tmp_path / "features").glob("*.npz")
    raw = entry.read_bytes()
    entry.write_bytes({"empty": b"", "truncated": raw[: len(raw) // 2],
                       "flipped": raw[:200] + bytes([raw[200] ^ 0xFF]) + raw[201:]}[damage])
    with pytest.warns(UserWarning, match=entry.name):
        again = cache.cached_features(digits_test, ex, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, again)
    assert ex.images == 2 * len(digits_test)  # computed twice: first, and after the damage
    cache.cached_features(digits_test, ex, cache_dir=tmp_path)
    assert ex.images == 2 * len(digits_test)  # the rewritten entry is whole again


def test_damaged_saturation_record_is_dropped_with_a_warning(tmp_path):
    from labkit.experiments.saturation import read_records
    path = tmp_path / "saturation.jsonl"
    path.write_text('{"key": "a", "accuracy": 0.5}\n{"key": "b", "accu\n')
    with pytest.warns(UserWarning, match="line 2"):
        assert [r["key"] for r in read_records(path)] == ["a"]


# ---------------------------------------------------------------- atomic writes

def test_stale_temp_file_of_a_dead_writer_is_removed_on_next_save(tmp_path):
    path = tmp_path / "ckpt.pt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket
    stale = tmp_path / f".ckpt.pt.{socket.gethostname()}.{dead.stdout.strip()}.abcd1234.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".ckpt.pt.{socket.gethostname()}.{os.getpid()}.live0000.tmp"
    live.write_bytes(b"a save in progress")
    runtime.atomic_save({"w": torch.ones(1)}, path)
    assert not stale.exists() and live.exists()  # a live writer's file is left alone


# ---------------------------------------------------------------- study parameters and the CLI

def _cli(*args):
    with pytest.raises(SystemExit) as info:
        cli(["study", "--preset", "smoke", *args])
    return info.value.code


@pytest.mark.parametrize("args, named", [
    (["-p", "99_nope.x=1"], "99_nope"),
    (["-p", "01_train_classifier.epochz=3"], "epochz"),
    (["-p", "01_train_classifier.epochs"], "NOTEBOOK.PARAM=VALUE"),
    (["--only", "99_nope"], "99_nope"),
])
def test_cli_rejects_bad_parameters_with_exit_code_2(tmp_path, capsys, args, named):
    assert _cli("--root", str(tmp_path), *args) == 2
    assert named in capsys.readouterr().err
    assert not (tmp_path / "smoke").exists()  # nothing ran


def test_cli_rejects_a_params_file_that_is_a_list_or_missing(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("- a\n- b\n")
    assert _cli("--root", str(tmp_path), "--params", str(tmp_path / "p.yaml")) == 2
    assert "p.yaml" in capsys.readouterr().err
    assert _cli("--root", str(tmp_path), "--params", str(tmp_path / "gone.yaml")) == 2
    assert "gone.yaml" in capsys.readouterr().err


def test_parameter_names_never_reach_a_notebook_as_code(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = f"x=1\nimport os; os.system('touch {marker}')\ny"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"01_train_classifier": {evil: 1}}))
    assert _cli("--root", str(tmp_path), "--params", str(tmp_path / "p.yaml")) == 2
    assert "has no parameter" in capsys.readouterr().err
    assert _cli("--root", str(tmp_path), "-p", f"01_train_classifier.{evil}=1") == 2
    assert "has no parameter" in capsys.readouterr().err
    # and below the CLI: the job runner refuses such a name before papermill sees it
    _raises(ValueError, lambda: study.execute_job(str(tmp_path / "job"), "01_train_classifier", {evil: 1}, "f",
                                                  "smoke", None), "not a valid parameter name")
    assert not marker.exists()


def test_study_api_validates_values(tmp_path):
    s = study.Study(name="s", preset="smoke", root=tmp_path, overrides={"01_train_classifier": {"epochs": {1, 2}}})
    _raises(ValueError, s.run, "01_train_classifier.epochs", "set")
    assert not (tmp_path / "s").exists()


# ---------------------------------------------------------------- kill -9 during checkpoint saves

KILL_LOOP_CHILD = textwrap.dedent("""
    import pathlib, sys, torch
    from labkit.core import runtime
    path, ready = sys.argv[1], pathlib.Path(sys.argv[2])
    i = 0
    while True:  # 16 MB saves: the process spends nearly all its time inside atomic_save
        i += 1
        runtime.atomic_save({"step": i, "w": torch.full((4_000_000,), float(i))}, path)
        ready.touch()
""")


def test_kill_9_during_saves_never_corrupts_and_leaves_no_temp_after_next_save(tmp_path):
    path, ready = tmp_path / "ckpt.pt", tmp_path / "ready"
    rng = random.Random(0)
    kills = mid_write = 0
    while kills < 12 and mid_write < 3:  # bounded; stops once kills have landed mid-write a few times
        ready.unlink(missing_ok=True)
        child = subprocess.Popen([sys.executable, "-c", KILL_LOOP_CHILD, str(path), str(ready)])
        deadline = time.time() + 60
        while not ready.exists():  # past the imports and one whole save
            assert time.time() < deadline and child.poll() is None, "the saving child never got going"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.02, 0.4))
        child.kill()
        child.wait(timeout=30)
        kills += 1
        mid_write += bool(list(tmp_path.glob(".ckpt.pt.*.tmp")))
        ckpt = checkpoint.safe_load(path)  # a whole file, never half of one
        assert torch.all(ckpt["w"] == float(ckpt["step"]))
    assert mid_write > 0, f"none of {kills} kills landed inside a save"
    runtime.atomic_save({"step": 0, "w": torch.zeros(1)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "ready"]
