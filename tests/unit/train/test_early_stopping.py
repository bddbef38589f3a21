"""Training to convergence: stops after patience, keeps the best epoch's weights, deterministic, guarded."""
import numpy as np
import pytest
import torch

from labkit.experiments.saturation import hold_out, hold_out_all
from labkit.train.classifier import ClassifierTraining, accuracy
from labkit.train.early_stopping import EarlyStopping, train_until_converged
from tests.helpers import TINY_CLASSIFIER

FAST = ClassifierTraining(batch_size=64, lr=3e-3)


@pytest.fixture(scope="module")
def split(digits_train):
    rest, val = hold_out(digits_train, 20, seed=0)
    return rest.subset(range(0, len(rest), 3)), val


def test_returns_the_best_epochs_weights_and_stops_after_patience(split):
    train, val = split
    stopping = EarlyStopping(max_epochs=12, patience=2, min_epoch_images=256)
    model, fitted = train_until_converged(train, val, cfg=TINY_CLASSIFIER, settings=FAST, stopping=stopping, seed=0)
    h = fitted.history
    assert len(h) == fitted.epochs_run and h["epoch"].tolist() == list(range(1, fitted.epochs_run + 1))
    assert fitted.best_val_accuracy == h["val_accuracy"].max()
    assert fitted.best_epoch == int(h.loc[h["val_accuracy"].idxmax(), "epoch"])  # the first epoch with the best score
    assert accuracy(model, val) == pytest.approx(fitted.best_val_accuracy, abs=1e-12)  # its weights, not the last
    if fitted.stopped_early:  # patience ran out: exactly `patience` epochs after the best, none better
        assert fitted.epochs_run == fitted.best_epoch + stopping.patience
    else:
        assert fitted.epochs_run == stopping.max_epochs
    assert fitted.best_val_accuracy > 0.5  # it learned (10 classes: chance is 0.1)


def test_a_plateau_stops_after_exactly_patience_epochs(split):
    # with a margin of 0.99 no later epoch counts as better than the first: a plateau from epoch 1 on
    train, val = split
    stopping = EarlyStopping(max_epochs=20, patience=3, min_epoch_images=64, min_delta=0.99)
    model, fitted = train_until_converged(train, val, cfg=TINY_CLASSIFIER, settings=FAST, stopping=stopping, seed=0)
    assert fitted.stopped_early and fitted.best_epoch == 1 and fitted.epochs_run == 1 + 3
    assert accuracy(model, val) == pytest.approx(fitted.history["val_accuracy"].iloc[0], abs=1e-12)  # epoch 1's weights


def test_max_epochs_ends_a_training_that_keeps_improving(split):
    train, val = split
    _, fitted = train_until_converged(train, val, cfg=TINY_CLASSIFIER, settings=FAST,
                                      stopping=EarlyStopping(max_epochs=2, patience=5, min_epoch_images=64), seed=0)
    assert fitted.epochs_run == 2 and not fitted.stopped_early


def test_same_seed_same_weights_other_seed_other_weights(split):
    train, val = split
    stopping = EarlyStopping(max_epochs=3, patience=1, min_epoch_images=128)
    runs = [train_until_converged(train, val, cfg=TINY_CLASSIFIER, settings=FAST, stopping=stopping, seed=s)
            for s in (0, 0, 1)]
    (a, fa), (b, fb), (c, _) = runs
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), k
    assert fa.history.equals(fb.history)
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_a_tiny_set_is_repeated_up_to_min_epoch_images(digits_train, split):
    _, val = split
    tiny = digits_train.subset(range(10))
    _, fitted = train_until_converged(tiny, val, cfg=TINY_CLASSIFIER, settings=FAST,
                                      stopping=EarlyStopping(max_epochs=1, patience=1, min_epoch_images=300), seed=0)
    assert fitted.repeats_per_epoch == 30
    assert fitted.history["step"].tolist() == [int(np.ceil(300 / FAST.batch_size))]  # 300 images: 5 steps of 64


@pytest.mark.parametrize("bad, match", [
    (dict(max_epochs=0), "max_epochs must be a positive integer"),
    (dict(patience=1.5), "patience must be a positive integer"),
    (dict(min_epoch_images=True), "min_epoch_images must be a positive integer"),
    (dict(min_delta=-0.1), "min_delta"),
])
def test_bad_settings_raise_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**bad)


def test_bad_splits_are_refused(split, digits_test):
    train, val = split
    with pytest.raises(ValueError, match="must not be the test set"):
        train_until_converged(train, digits_test, cfg=TINY_CLASSIFIER, settings=FAST)
    with pytest.raises(ValueError, match="held-out split"):
        train_until_converged(train, val.subset([]), cfg=TINY_CLASSIFIER, settings=FAST)


def test_the_held_out_split_is_disjoint_balanced_and_seeded(digits_train):
    rest, val = hold_out(digits_train, 15, seed=3)
    assert len(rest) + len(val) == len(digits_train) and val.split == "val"
    assert (val.class_counts() == 15).all()
    rows = lambda ds: {bytes(x.numpy()) for x in ds.images.flatten(1)}  # noqa: E731
    # no image of the held-out split is in the rest (digits has a few duplicate images: compare indices instead)
    n_dup = len(digits_train) - len(rows(digits_train))
    assert len(rows(rest) & rows(val)) <= n_dup
    again_rest, again_val = hold_out(digits_train, 15, seed=3)
    assert torch.equal(again_val.images, val.images) and torch.equal(again_rest.images, rest.images)
    assert not torch.equal(hold_out(digits_train, 15, seed=4)[1].images, val.images)
    pools, held = hold_out_all({"a": digits_train}, 15, seed=3)
    assert torch.equal(held["a"].images, val.images) and torch.equal(pools["a"].images, rest.images)
