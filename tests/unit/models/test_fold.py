"""Batch norm folded into convolutions for inference: same function, original model untouched."""
import torch
import torch.nn as nn

from labkit.models.classifier import Classifier, ClassifierConfig, predict
from labkit.models.fold import folded_for_inference


def _trained_looking(model: nn.Module) -> nn.Module:
    """Batch norms with non-trivial statistics and affine parameters, as after training."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 3 + 0.1)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model


def test_folded_classifier_computes_the_same_logits_features_and_activations():
    model = _trained_looking(Classifier(ClassifierConfig())).eval()
    folded = folded_for_inference(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 4  # the original keeps its own
    x = torch.rand(64, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(folded.features(x), model.features(x), rtol=1e-5, atol=1e-5)
        for a, b in zip(folded.activations(x), model.activations(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    conv = folded.blocks[0][0]
    assert conv.bias is not None and conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_a_model_without_a_conv_batchnorm_pair_is_returned_itself():
    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2))  # BN not right after the conv
    plain.train()
    assert folded_for_inference(plain) is plain and plain.training
    no_stats = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False))
    assert folded_for_inference(no_stats) is no_stats  # batch statistics even in eval: not an affine map


def test_predict_leaves_a_training_model_training_and_unchanged():
    model = _trained_looking(Classifier(ClassifierConfig())).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(10, 1, 28, 28)
    probs = predict(model, x)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(probs, model.probs(x), rtol=1e-5, atol=1e-6)


def test_predict_does_not_depend_on_the_batch_size_or_the_row_order():
    model = _trained_looking(Classifier(ClassifierConfig()))
    x = torch.rand(37, 1, 28, 28)
    whole = predict(model, x, what="features", batch_size=37)
    torch.testing.assert_close(predict(model, x, what="features", batch_size=5), whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(predict(model, x, what="features", batch_size=1), whole, rtol=1e-5, atol=1e-6)
    perm = torch.randperm(37, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(predict(model, x[perm], what="features"), whole[perm], rtol=1e-5, atol=1e-6)
