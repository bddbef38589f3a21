"""Batch norm folded into the convolution before it, for inference: the same function in one pass fewer.

In eval mode a BatchNorm2d is a fixed affine map per channel, so after a Conv2d it merges into that conv's
weights and bias (`torch.nn.utils.fusion.fuse_conv_bn_eval`). On a CPU the folded classifier infers 1.13x as
fast (benchmarks/bench_inference.py) and agrees with the original to float rounding (relative difference about
1e-7).
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _pairs(model: nn.Module) -> list[tuple[nn.Sequential, int]]:
    """(container, index of the conv) for every Conv2d directly followed by a BatchNorm2d with running
    statistics inside an nn.Sequential."""
    found = []
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        layers = list(seq)
        for i, (a, b) in enumerate(zip(layers, layers[1:])):
            if (type(a) is nn.Conv2d and type(b) is nn.BatchNorm2d and b.track_running_stats
                    and b.running_mean is not None and a.out_channels == b.num_features):
                found.append((seq, i))
    return found


def folded_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` with every Conv2d → BatchNorm2d pair of an nn.Sequential merged into one
    conv; `model` itself (not a copy, mode unchanged) when it has no such pair. The copy keeps each conv
    weight's memory layout; it is for inference only (no batch norm is left in it to train)."""
    if not _pairs(model):
        return model
    folded = copy.deepcopy(model).eval()
    for seq, i in _pairs(folded):
        conv = seq[i]
        fused = fuse_conv_bn_eval(conv, seq[i + 1])
        if conv.weight.is_contiguous(memory_format=torch.channels_last):
            fused.weight.data = fused.weight.data.contiguous(memory_format=torch.channels_last)
        seq[i], seq[i + 1] = fused, nn.Identity()
    return folded
