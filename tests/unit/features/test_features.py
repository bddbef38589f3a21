"""Feature extractors (registry, classifier, pixels, Inception against pytorch-fid, CLIP) and the feature cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit import features
from labkit.features import WeightsMismatchError, WeightsNotFoundError, extract, get_extractor, sha256_file
from labkit.features.cache import cached_features


def test_registry_lists_the_four_extractors():
    assert {"classifier", "inception", "clip", "pixels"} <= set(features.FEATURES)
    with pytest.raises(KeyError, match="registered"):
        get_extractor("vgg")


def test_pixels_and_classifier_features(digits_test, digits_classifier):
    x = digits_test.float()[:50]
    assert np.array_equal(extract(get_extractor("pixels"), x, batch_size=7), x.flatten(1).numpy())
    ex = get_extractor("classifier", model=digits_classifier)
    f = extract(ex, x, batch_size=16)
    assert f.shape == (50, digits_classifier.cfg.feature_dim) and f.dtype == np.float32
    with torch.no_grad():
        # extract runs the classifier with its batch norms folded into the convs: equal to float rounding
        np.testing.assert_allclose(f, digits_classifier.eval().features(x).numpy(), rtol=1e-5, atol=1e-5)
    p = extract(ex, x, what="probs")
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="no 'probs'"):
        extract(get_extractor("pixels"), x, what="probs")


def test_classifier_extractor_from_checkpoint(tmp_path, digits_classifier, digits_test):
    from labkit import save_models

    path = save_models(tmp_path / "c.pt", {"model": digits_classifier})
    ex = get_extractor("classifier", path=path)
    assert ex.identity["weights_sha256"] == sha256_file(path)
    x = digits_test.float()[:8]
    np.testing.assert_allclose(extract(ex, x), extract(get_extractor("classifier", model=digits_classifier), x),
                               rtol=1e-6)


def test_cache_hits_and_never_reuses_stale_entries(tmp_path, digits_test, digits_classifier):
    calls = []

    class Counting(features.PixelFeatures):
        def features(self, images):
            calls.append(len(images))
            return super().features(images)

    ex = Counting()
    ds = digits_test.subset(range(40))
    a = cached_features(ds, ex, cache_dir=tmp_path)
    b = cached_features(ds, ex, cache_dir=tmp_path)
    assert np.array_equal(a, b) and len(calls) == 1  # second call read the cache
    changed = ds.subset(range(39))  # another subset
    cached_features(changed, ex, cache_dir=tmp_path)
    edited = ds.subset(range(40))
    edited.images[0, 0, 0, 0] ^= 1  # same name, size and split; one pixel differs
    cached_features(edited, ex, cache_dir=tmp_path)
    original = ex.identity
    ex.identity = {**original, "weights_sha256": "other"}  # other weights
    cached_features(ds, ex, cache_dir=tmp_path)
    assert len(calls) == 4
    entries = list((tmp_path / "features").glob("*.npz"))
    assert len(entries) == 4 and not list((tmp_path / "features").glob("*.tmp"))
    for e in entries:
        e.write_bytes(b"garbage")  # a damaged entry is recomputed, not trusted
    ex.identity = original
    assert np.array_equal(cached_features(ds, ex, cache_dir=tmp_path), a)
    assert np.array_equal(cached_features(ds, ex, cache_dir=tmp_path), a)
    assert len(calls) == 5


def _save_random_inception(path):
    from labkit.features.inception import build_inception

    torch.manual_seed(0)
    torch.save(build_inception("fid").state_dict(), path)
    return sha256_file(path)


def test_inception_weights_are_required_and_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="pt_inception-2015-12-05-6726825d.pth"):
        get_extractor("inception")
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    _save_random_inception(path)
    with pytest.raises(WeightsMismatchError, match="sha256"):  # random weights are not the release
        get_extractor("inception")


def test_inception_matches_pytorch_fid_features(tmp_path, monkeypatch):
    """Same weights file (random) -> same pool3 features as pytorch-fid's FID Inception, preprocessing included."""
    from labkit.features.inception import FID_WEIGHTS

    hub = tmp_path / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    sha = _save_random_inception(hub / FID_WEIGHTS)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # pytorch-fid finds the file there and downloads nothing
    from pytorch_fid.inception import InceptionV3

    ours = get_extractor("inception", weights_path=hub / FID_WEIGHTS, sha256=sha)
    ref = InceptionV3([3]).eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        expected = ref(x.repeat(1, 3, 1, 1))[0].flatten(1).numpy()  # pytorch-fid loads images as RGB
    got = extract(ours, x)
    assert got.shape == (2, 2048)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    p = extract(ours, x, what="probs")
    assert p.shape == (2, 1008) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert ours.identity["weights_sha256"] == sha


def test_clip_extractor_with_random_tiny_weights(tmp_path):
    open_clip = pytest.importorskip("open_clip")
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    tiny = CLIP(embed_dim=16, quick_gelu=True,
                vision_cfg=CLIPVisionCfg(layers=1, width=64, head_width=64, patch_size=8, image_size=32),
                text_cfg=CLIPTextCfg(context_length=8, vocab_size=64, width=64, heads=1, layers=1))
    path = tmp_path / "tiny-clip.pt"
    torch.save(tiny.state_dict(), path)
    with pytest.raises(WeightsMismatchError):
        get_extractor("clip", weights_path=path)  # not the OpenAI release
    with pytest.raises(WeightsNotFoundError, match="ViT-L-14-336px.pt"):
        get_extractor("clip", weights_path=tmp_path / "elsewhere")
    ex = get_extractor("clip", weights_path=path, sha256=sha256_file(path))
    x = torch.rand(3, 1, 28, 28)
    f = extract(ex, x)
    assert f.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1, rtol=1e-5)
    with torch.no_grad():  # same as the tiny model's own image tower on the preprocessed images
        own = torch.nn.functional.normalize(tiny.eval().encode_image(ex.preprocess(x)), dim=1).numpy()
    # OpenAI checkpoints are fp16: building from one rounds the weights to fp16, hence the tolerance.
    np.testing.assert_allclose(f, own, atol=2e-3)
