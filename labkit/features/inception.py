"""Inception-v3 pool3 features (2048-d) and 1008-way softmax, as the FID reference computes them.

Decision: torchvision's Inception-v3 modules with the four block variants of the TensorFlow FID graph
(average pools that ignore padding, and a max pool in the last block), which is the architecture of
pytorch-fid's `pt_inception-2015-12-05` weights; their state dict loads unchanged. Preprocessing is
pytorch-fid's: grey repeated to RGB, bilinear resize to 299×299 (align_corners=False), then 2x − 1.
With `arch="torchvision"` the plain torchvision network loads torchvision's ImageNet weights instead
(not comparable with published FIDs).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import inception as tv

from .weights import resolve_weights

FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
TORCHVISION_WEIGHTS = "inception_v3_google-0cc3c7bd.pth"
KNOWN = {  # arch -> (file name, sha256 prefix from the release's file name, number of classes, where to get it)
    "fid": (FID_WEIGHTS, "6726825d", 1008, "https://github.com/mseitzer/pytorch-fid/releases (fid_weights)"),
    "torchvision": (TORCHVISION_WEIGHTS, "0cc3c7bd", 1000, "https://download.pytorch.org/models/"),
}


def _avg3(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(tv.InceptionA):
    def _forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))]


class FIDInceptionC(tv.InceptionC):
    def _forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            bd = layer(bd)
        return [self.branch1x1(x), b7, bd, self.branch_pool(_avg3(x))]


class FIDInceptionE1(tv.InceptionE):
    """First E block of the FID graph: average pool without padded zeros."""

    pool = staticmethod(_avg3)

    def _forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        return [self.branch1x1(x), b3, bd, self.branch_pool(self.pool(x))]


class FIDInceptionE2(FIDInceptionE1):
    """Second E block of the FID graph: max pool (a quirk of the TensorFlow graph)."""

    pool = staticmethod(lambda x: F.max_pool2d(x, kernel_size=3, stride=1, padding=1))


def build_inception(arch: str = "fid") -> tv.Inception3:
    """Uninitialised Inception-v3 of the given arch (`fid` or `torchvision`), no aux head."""
    if arch not in KNOWN:
        raise ValueError(f"arch must be one of {sorted(KNOWN)}; got {arch!r}")
    net = tv.Inception3(num_classes=KNOWN[arch][2], aux_logits=False, transform_input=False, init_weights=False)
    if arch == "fid":
        net.Mixed_5b = FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = FIDInceptionE1(1280)
        net.Mixed_7c = FIDInceptionE2(2048)
    return net


class InceptionFeatures(nn.Module):
    """pool3 features (B, 2048) and softmax (B, 1008 or 1000) of Inception-v3 for images in [0, 1]."""

    name = "inception"
    dim = 2048

    def __init__(self, weights_path: str | Path | None = None, arch: str = "fid", sha256: str | None = None):
        super().__init__()
        if arch not in KNOWN:
            raise ValueError(f"arch must be one of {sorted(KNOWN)}; got {arch!r}")
        filename, prefix, _, source = KNOWN[arch]
        path, digest = resolve_weights(filename, weights_path, sha256=sha256 or prefix,
                                       what=f"Inception-v3 weights ({arch})", source=source)
        self.net = build_inception(arch)
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.net.eval()
        self.identity = {"extractor": "inception", "arch": arch, "weights_sha256": digest,
                         "preprocessing": "grey->rgb, bilinear 299 align_corners=False, 2x-1, pool3"}

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """(B, 1 or 3, H, W) in [0, 1] -> (B, 3, 299, 299) in [-1, 1], as pytorch-fid."""
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)  # (B, 3, H, W)
        x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)  # (B, 3, 299, 299)
        return 2 * x - 1

    def _pool3(self, images: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = self.preprocess(images)
        for layer in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1, n.Conv2d_4a_3x3,
                      n.maxpool2, n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d,
                      n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = layer(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)  # (B, 2048)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """pool3 features (B, 2048)."""
        return self._pool3(images)

    def probs(self, images: torch.Tensor) -> torch.Tensor:
        """Softmax over all logits (B, 1008) for the FID weights, as the original IS code."""
        return F.softmax(self.net.fc(self._pool3(images)), dim=1)
