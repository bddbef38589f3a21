"""CLIP image embeddings (for CMMD) from local OpenAI-format weights, through the optional `open_clip` package.

CMMD's reference model is OpenAI's ViT-L/14 at 336 px; its file `ViT-L-14-336px.pt` carries its sha256
in its release URL. Preprocessing as CMMD: grey repeated to RGB, bicubic resize to the model's input
size, CLIP mean/std normalisation; embeddings are L2-normalised.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import resolve_weights

CLIP_WEIGHTS = "ViT-L-14-336px.pt"
CLIP_SHA256 = "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02"
CLIP_SOURCE = f"https://openaipublic.azureedge.net/clip/models/{CLIP_SHA256}/{CLIP_WEIGHTS}"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _read_state_dict(path: Path) -> dict:
    """State dict of an OpenAI CLIP file: a TorchScript archive (the release) or a plain state dict."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
        return sd.get("state_dict", sd)
    except Exception:  # a TorchScript archive (torch raises several types for it)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, still the release format
            return torch.jit.load(str(path), map_location="cpu").state_dict()


class ClipFeatures(nn.Module):
    """L2-normalised CLIP image embeddings (B, D) for images in [0, 1]; needs `pip install open-clip-torch`."""

    name = "clip"

    def __init__(self, weights_path: str | Path | None = None, sha256: str | None = None):
        super().__init__()
        try:
            from open_clip.model import build_model_from_openai_state_dict
        except ImportError as e:
            raise ImportError("the clip extractor needs the optional package open-clip-torch "
                              "(pip install 'labkit[clip]')") from e
        path, digest = resolve_weights(CLIP_WEIGHTS, weights_path, sha256=sha256 or CLIP_SHA256,
                                       what="CLIP ViT-L/14@336px weights", source=CLIP_SOURCE)
        model = build_model_from_openai_state_dict(_read_state_dict(path)).float().eval()
        self.visual = model.visual
        size = self.visual.image_size
        self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        self.dim = int(self.visual.output_dim)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)
        self.identity = {"extractor": "clip", "arch": "openai", "weights_sha256": digest,
                         "preprocessing": f"grey->rgb, bicubic {self.image_size}, clip mean/std, l2-normalised"}

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1 or 3, H, W) in [0, 1] -> (B, 3, S, S) normalised."""
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)  # (B, 3, H, W)
        x = F.interpolate(images, size=self.image_size, mode="bicubic", align_corners=False).clamp(0, 1)
        return (x - self.mean) / self.std

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings (B, D)."""
        return F.normalize(self.visual(self.preprocess(images)).float(), dim=1)
