"""LPIPS distances: zero on identical pairs, monotone in noise, the package path with local weights."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from labkit.features.weights import sha256_file
from labkit.metrics.lpips import (
    BACKBONE_FILES,
    LPIPS,
    ClassifierDistance,
    PixelDistance,
    layer_distance,
    load_backbone_state,
    lpips_diversity,
    lpips_to_real,
    make_distance,
    paired_distance,
)


def _noisy(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def test_layer_distance_analytic():
    # Orthogonal unit channel vectors everywhere: |e1 - e2|^2 = 2 per position and layer.
    a = torch.zeros(2, 3, 4, 4)
    a[:, 0] = 5.0
    b = torch.zeros(2, 3, 4, 4)
    b[:, 1] = 0.1
    d = layer_distance([a, a[:, :, :2, :2]], [b, b[:, :, :2, :2]])
    torch.testing.assert_close(d, torch.full((2,), 4.0))


def test_identical_batches_give_zero(digits_test, digits_classifier):
    x = digits_test.float()[:64]
    for dist in (ClassifierDistance(digits_classifier, device="cpu"), PixelDistance()):
        assert paired_distance(dist, x, x).abs().max().item() == 0.0


def test_distance_grows_with_noise(digits_test, digits_classifier):
    x = digits_test.float()[:128]
    dist = ClassifierDistance(digits_classifier, device="cpu")
    means = [paired_distance(dist, x, _noisy(x, s)).mean().item() for s in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert all(lo < hi for lo, hi in zip(means, means[1:])), means
    assert dist.name == "lpips-classifier"


def test_classifier_distance_leaves_model_alone(digits_classifier):
    digits_classifier.train()
    before = {k: v.clone() for k, v in digits_classifier.state_dict().items()}
    dist = ClassifierDistance(digits_classifier, device="cpu")
    dist.train()  # the internal copy must stay in eval mode
    assert not dist.classifier.training
    x = torch.rand(8, 1, 8, 8)
    paired_distance(dist, x, x.flip(0))
    assert digits_classifier.training
    for k, v in digits_classifier.state_dict().items():
        assert torch.equal(v, before[k])
    digits_classifier.eval()


def test_rejects_out_of_range_images(digits_classifier):
    dist = ClassifierDistance(digits_classifier, device="cpu")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        paired_distance(dist, torch.rand(2, 1, 8, 8) * 2 - 1, torch.rand(2, 1, 8, 8))


def test_diversity_collapsed_vs_diverse(digits_test, digits_classifier):
    dist = make_distance("classifier", classifier=digits_classifier, device="cpu")
    x = digits_test.float()[:200]
    collapsed = x[:1].expand(200, -1, -1, -1).contiguous()
    res = lpips_diversity(x, dist, n_pairs=300, seed=3)
    assert lpips_diversity(collapsed, dist, n_pairs=300, seed=3).value == 0.0
    assert res.value > 0.05
    assert res.n_pairs == 300 and res.seed == 3 and res.n_images == 200 and res.distance == "lpips-classifier"
    assert lpips_diversity(x, dist, n_pairs=300, seed=3).value == res.value
    assert lpips_diversity(x, dist, n_pairs=300, seed=4).value != res.value
    assert set(res.protocol()) == {"sem", "n_pairs", "n_images", "seed", "distance"}


def test_lpips_to_real_is_lower_for_images_closer_to_the_real_ones(digits_train, digits_test, digits_classifier):
    dist = make_distance("classifier", classifier=digits_classifier, device="cpu")
    real = digits_test.float()[:200]
    other_real = digits_train.float()[:200]
    close = lpips_to_real(real, other_real, dist, n_pairs=300, seed=1)
    for far in (1 - other_real, torch.zeros_like(other_real)):  # inverted digits, blank images
        assert 0 < close.value < lpips_to_real(real, far, dist, n_pairs=300, seed=1).value
    # random pairs mix classes, so one average image lands closer to random real digits than real digits do
    # (the paper's caveat that LPIPS needs class-aligned pairs; the legend says so)
    mean_image = other_real.mean(0, keepdim=True).expand(200, -1, -1, -1).contiguous()
    assert lpips_to_real(real, mean_image, dist, n_pairs=300, seed=1).value < close.value
    one = real[:1].expand(20, -1, -1, -1).contiguous()
    assert lpips_to_real(one, one, dist, n_pairs=50).value == 0.0  # a copy of the only real image
    assert close.n_fake == close.n_real == 200 and close.distance == "lpips-classifier"
    assert set(close.protocol()) == {"sem", "n_pairs", "n_fake", "n_real", "seed", "distance"}
    with pytest.raises(ValueError, match="differ in shape"):
        lpips_to_real(real, real[:, :, :4], dist)


def test_missing_weights_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="alexnet-owt-7be5be79.pth") as err:
        LPIPS("alex")
    assert str(tmp_path) in str(err.value)


def test_wrong_checksum_is_refused(tmp_path):
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="sha256"):
        load_backbone_state("alex", path)


def _alex_features_state(reference) -> dict:
    """torchvision-style `features.<i>.*` state of the package model's trunk (written independently of labkit)."""
    state = {}
    for slice_ in reference.net.children():
        for idx, module in slice_.named_children():
            for k, v in module.state_dict().items():
                state[f"features.{idx}.{k}"] = v.clone()
    return state


def test_random_backbone_matches_package_end_to_end(tmp_path):
    """Our wrapper with a weight file of random AlexNet weights = the lpips package holding the same weights."""
    import warnings

    import lpips

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    path = tmp_path / "random-alex.pth"
    torch.save(_alex_features_state(reference), path)
    ours = LPIPS("alex", weights=path, sha256=sha256_file(path), device="cpu")
    assert ours.weights_sha256 == sha256_file(path)
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(4, 3, 64, 64, generator=g), torch.rand(4, 3, 64, 64, generator=g)
    with torch.no_grad():
        expected = reference(a * 2 - 1, b * 2 - 1).flatten()
    torch.testing.assert_close(paired_distance(ours, a, b), expected)
    assert paired_distance(ours, a, a).abs().max().item() == 0.0
    # Grey 28×28 images take the documented path: 3 channels, upsampled to 64.
    grey = torch.rand(3, 1, 28, 28, generator=g)
    up = torch.nn.functional.interpolate(grey.expand(-1, 3, -1, -1), size=(64, 64), mode="bilinear", align_corners=False)
    with torch.no_grad():
        expected = reference(up * 2 - 1, up.flip(0) * 2 - 1).flatten()
    torch.testing.assert_close(paired_distance(ours, grey, grey.flip(0)), expected)


def test_random_backbone_flag_runs_and_is_named():
    dist = LPIPS("alex", random_backbone=True, device="cpu")
    assert dist.name == "lpips-alex-randombackbone"
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    near, far = paired_distance(dist, x, _noisy(x, 0.05)), paired_distance(dist, x, _noisy(x, 0.4))
    assert (near > 0).all() and near.mean() < far.mean()


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_real_weights_match_reference_package(net, tmp_path, monkeypatch):
    """With the real ImageNet backbone under $LABKIT_WEIGHTS, equal the package loading it via torchvision."""
    from labkit.metrics.lpips import backbone_path

    src = backbone_path(net)
    if not src.is_file():
        pytest.skip(f"LPIPS-{net} weights absent: put {BACKBONE_FILES[net][0]} in $LABKIT_WEIGHTS "
                    f"(looked for {src}) to run this comparison")
    import warnings

    import lpips

    hub = tmp_path / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    os.symlink(src, hub / src.name)  # torchvision finds the cached file there; nothing is downloaded
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("attempted a download"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = lpips.LPIPS(net=net, verbose=False).eval()
    ours = LPIPS(net, device="cpu")
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    with torch.no_grad():
        expected = reference(a, b, normalize=True).flatten()
    torch.testing.assert_close(paired_distance(ours, a, b), expected)
    assert Path(src).name == BACKBONE_FILES[net][0]


def test_make_distance_names(digits_classifier):
    assert make_distance("pixel").name == "pixel-mse"
    assert make_distance("classifier", classifier=digits_classifier, device="cpu").name == "lpips-classifier"
    with pytest.raises(ValueError, match="needs classifier"):
        make_distance("classifier")
    with pytest.raises(ValueError, match="unknown distance"):
        make_distance("inception")
