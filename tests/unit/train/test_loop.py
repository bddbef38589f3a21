"""The fit loop: exact resume after interruption, NaN guard, checkpoints, classifier quality on digits."""
import copy

import pandas as pd
import pytest
import torch

import labkit
from labkit.models.checkpoint import read_checkpoint
from labkit.train import loop as train
from tests.helpers import TINY_CLASSIFIER

SETTINGS = labkit.ClassifierTraining(epochs=3, batch_size=64)


class Crash(Exception):
    pass


def _train(ds, path, **kw):
    return labkit.train_classifier(ds, cfg=TINY_CLASSIFIER, settings=SETTINGS, seed=7, checkpoint=path, **kw)


def test_resume_mid_epoch_matches_uninterrupted_run(digits_train, tmp_path):
    ref, _ = _train(digits_train, tmp_path / "ref.pt")

    def crash_at(pos, metrics):
        if pos.step == 30:  # mid-epoch 1 (23 steps per epoch)
            raise Crash()

    with pytest.raises(Crash):
        _train(digits_train, tmp_path / "run.pt", checkpoint_every=5, on_step=crash_at)
    assert read_checkpoint(tmp_path / "run.pt")["position"]["step"] == 25  # last periodic checkpoint (steps 25, 30: crash before save)
    resumed, result = _train(digits_train, tmp_path / "run.pt", checkpoint_every=5)
    assert result.resumed_from == 25
    for (k, a), b in zip(ref.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert len(result.history) == 3


class NaNTask:
    def __init__(self):
        self.model = labkit.Classifier(TINY_CLASSIFIER)
        self.modules = {"model": self.model}
        self.optimizers = {"model": torch.optim.SGD(self.model.parameters(), lr=0.1)}

    def training_step(self, batch, pos):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.model(x.float() / 255), y)
        self.optimizers["model"].zero_grad()
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": float("nan") if pos.step == 12 else loss.item()}


def test_nan_guard_names_step_and_last_good_checkpoint(digits_train, tmp_path):
    path = tmp_path / "nan.pt"
    with pytest.raises(train.TrainingDivergedError, match=r"loss=nan at step 12 .*step 10: .*nan\.pt"):
        train.fit(NaNTask(), (digits_train.images, digits_train.labels), epochs=2, batch_size=64,
                  checkpoint=path, checkpoint_every=5)
    ck = read_checkpoint(path)
    assert ck["position"]["step"] == 10
    assert all(torch.isfinite(v).all() for v in ck["state"]["model"].values() if v.is_floating_point())


class TensorNaNTask(NaNTask):
    """Returns its metrics as tensors, read in bulk by `fit`; the loss becomes NaN at step 12."""

    def training_step(self, batch, pos):
        out = {k: torch.tensor(v) for k, v in super().training_step(batch, pos).items()}
        return {**out, "lr": 0.1}


def test_nan_guard_names_the_step_when_metrics_are_read_in_bulk(digits_train, tmp_path):
    # metrics are read every log_every (50) steps and before each checkpoint; the error still names step 12
    # and the last checkpoint written before it, and no checkpoint is written after the NaN
    path = tmp_path / "nan.pt"
    with pytest.raises(train.TrainingDivergedError, match=r"loss=nan at step 12 .*step 10: .*nan\.pt"):
        train.fit(TensorNaNTask(), (digits_train.images, digits_train.labels), epochs=2, batch_size=64,
                  checkpoint=path, checkpoint_every=5)
    assert read_checkpoint(path)["position"]["step"] == 10
    with pytest.raises(train.TrainingDivergedError, match=r"loss=nan at step 12 \(epoch 0, batch 12\).*no checkpoint"):
        train.fit(TensorNaNTask(), (digits_train.images, digits_train.labels), epochs=2, batch_size=64)


def test_metrics_read_in_bulk_match_metrics_read_each_step(digits_train):
    # the same run with metrics read every step (on_step forces it) and every 7 steps logs the same numbers
    runs = []
    for on_step in (None, lambda pos, m: None):
        torch.manual_seed(0)
        runs.append(labkit.train_classifier(digits_train, cfg=TINY_CLASSIFIER, settings=SETTINGS, seed=3,
                                            log_every=7, on_step=on_step)[1])
    pd.testing.assert_frame_equal(runs[0].steps, runs[1].steps)
    pd.testing.assert_frame_equal(runs[0].history.drop(columns="time_s"), runs[1].history.drop(columns="time_s"))
    assert list(runs[0].steps["step"]) == list(range(7, 3 * 23 + 1, 7))
    assert runs[0].history["loss"].notna().all()


def test_fit_rejects_bad_arguments(digits_train):
    with pytest.raises(ValueError, match="epochs or max_steps"):
        train.fit(NaNTask(), (digits_train.images, digits_train.labels))
    with pytest.raises(ValueError, match="same length"):
        train.fit(NaNTask(), (digits_train.images, digits_train.labels[:5]), epochs=1)


def test_damaged_checkpoint_is_reported(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="damaged"):
        labkit.load_model(bad)


def test_classifier_learns_digits_and_round_trips(digits_classifier, digits_test, tmp_path):
    acc = labkit.accuracy(digits_classifier, digits_test)
    assert acc > 0.9
    labkit.save_models(tmp_path / "c.pt", {"model": digits_classifier})
    again = labkit.load_model(tmp_path / "c.pt")
    x = digits_test.float()[:50]
    assert torch.equal(labkit.predict(digits_classifier, x), labkit.predict(again, x))
    feats = labkit.predict(again, x, what="features")
    assert feats.shape == (50, TINY_CLASSIFIER.feature_dim)


def test_classifier_keeps_nhwc_weights_and_matches_nchw(digits_classifier, digits_test, tmp_path):
    # a checkpoint from before the layout change (NCHW tensors) loads into NHWC weights and predicts the same
    nchw = copy.deepcopy(digits_classifier).to(memory_format=torch.contiguous_format)
    labkit.save_models(tmp_path / "nchw.pt", {"model": nchw})
    loaded = labkit.load_model(tmp_path / "nchw.pt")
    convs = [m for m in loaded.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert not nchw.blocks[1][0].weight.is_contiguous(memory_format=torch.channels_last)
    x = digits_test.float()[:50]
    torch.testing.assert_close(labkit.predict(loaded, x, what="logits"), labkit.predict(nchw, x, what="logits"),
                               rtol=1e-4, atol=1e-4)


def test_soft_labels_are_used_as_targets(digits_train):
    ds = digits_train.subset(range(256))
    soft = torch.full((256, 10), 0.1)  # uniform targets: nothing to learn but the prior
    from dataclasses import replace
    model, res = labkit.train_classifier(replace(ds, soft_labels=soft), cfg=TINY_CLASSIFIER,
                                         settings=labkit.ClassifierTraining(epochs=2, batch_size=64))
    probs = labkit.predict(model, ds.float())
    assert (probs.max(1).values < 0.5).all()  # a hard-label fit would be confident
