"""Slider UIs for JupyterLab (ipywidgets 8): wiring only; every image comes from `labkit.ui.render`.

- `latent_explorer(model, directions)`: one slider per direction, a class picker for conditional
  models, a seed box, a reset button, and one image (grid) redrawn when a slider is released.
- `edit_comparison(model, classifier, mapper, ref)`: the same class edit done on z and in feature
  space (through the mapper), side by side.

Both return an object whose `.widget` is the box to display (it also displays itself in a notebook)
and whose controls are attributes, so tests drive them by setting `.value`.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch
import torch.nn as nn

from ..latent.controlled import starting_points
from ..models.sampling import is_conditional, latents
from .render import render_comparison, render_latent, to_png


def _ipw():
    import ipywidgets
    return ipywidgets


class _Panel:
    """Shared parts: seed box, reset button, status line, `_repr_mimebundle_`."""

    def _common(self, seed: int):
        w = _ipw()
        self.seed = w.IntText(value=int(seed), description="seed", layout=w.Layout(width="160px"))
        self.reset = w.Button(description="reset", tooltip="sliders back to 0 (and the first seed)")
        self.status = w.HTML(value="")
        self._seed0 = int(seed)

    def _timed(self, fn):
        t0 = time.perf_counter()
        fn()
        self.last_ms = (time.perf_counter() - t0) * 1000
        self.status.value = f"<small>redraw {self.last_ms:.0f} ms</small>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class LatentExplorer(_Panel):
    """Sliders over latent directions; see `latent_explorer`."""

    def __init__(self, model: nn.Module, directions: dict[str, torch.Tensor], *, n_sliders: int = 6,
                 limit: float = 3.0, step: float = 0.1, seed: int = 0, n_images: int = 1, nrow: int | None = None,
                 class_names: Sequence[str] | None = None, scale: int = 6):
        w = _ipw()
        self.model, self.n_images, self.nrow, self.scale = model, n_images, nrow, scale
        self.directions = dict(list(directions.items())[:n_sliders])
        self.sliders = [w.FloatSlider(value=0.0, min=-limit, max=limit, step=step, description=name[:14],
                                      continuous_update=False, readout_format=".1f") for name in self.directions]
        self._common(seed)
        self.class_picker = None
        if is_conditional(model):
            k = model.cfg.num_classes
            names = list(class_names) if class_names else [str(i) for i in range(k)]
            self.class_picker = w.Dropdown(options=[(n, i) for i, n in enumerate(names[:k])], value=0,
                                           description="class")
        self.image = w.Image(format="png")
        self._z = latents(model, n_images, seed=seed)
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.seed.observe(self._on_seed, names="value")
        if self.class_picker is not None:
            self.class_picker.observe(self._on_change, names="value")
        self.reset.on_click(self._on_reset)
        top = [self.seed, self.reset] + ([self.class_picker] if self.class_picker is not None else [])
        self.widget = w.HBox([w.VBox([w.HBox(top), *self.sliders, self.status]), self.image])
        self.redraw()

    def values(self) -> dict[str, float]:
        """Current slider values, direction name -> strength."""
        return {name: s.value for name, s in zip(self.directions, self.sliders)}

    def labels(self) -> torch.Tensor | None:
        if self.class_picker is None:
            return None
        return torch.full((self.n_images,), int(self.class_picker.value), dtype=torch.long)

    def render(self) -> torch.Tensor:
        """The images (n_images, C, H, W) the current controls describe."""
        return render_latent(self.model, self._z, self.directions, self.values(), self.labels())

    def redraw(self, *_):
        self._timed(lambda: setattr(self.image, "value", to_png(self.render(), self.nrow, self.scale)))

    def _on_change(self, change):
        self.redraw()

    def _on_seed(self, change):
        self._z = latents(self.model, self.n_images, seed=change["new"])
        self.redraw()

    def _on_reset(self, _button=None):
        with self.widget.hold_trait_notifications():
            for s in self.sliders:
                s.unobserve(self._on_change, names="value")
                s.value = 0.0
                s.observe(self._on_change, names="value")
        if self.seed.value != self._seed0:
            self.seed.value = self._seed0  # redraws through _on_seed
        else:
            self.redraw()


def latent_explorer(model: nn.Module, directions: dict[str, torch.Tensor], **kwargs) -> LatentExplorer:
    """Slider explorer of `model` (VAE or GAN generator) along `directions` (name -> (D,) latent vector).

    Args:
        n_sliders: how many directions get a slider (the first ones); limit/step: slider range ±limit.
        seed: seed of the starting latents; n_images: images shown (a grid of `nrow` per row).
        class_names: names in the class picker of a conditional model; scale: pixels per image pixel.
    """
    return LatentExplorer(model, directions, **kwargs)


class EditComparison(_Panel):
    """Latent-space vs feature-space class edits side by side; see `edit_comparison`."""

    def __init__(self, model: nn.Module, classifier: nn.Module, mapper: nn.Module, ref, *,
                 class_names: Sequence[str] | None = None, source: int = 0, target: int = 1, limit: float = 2.0,
                 step: float = 0.1, seed: int = 0, n_images: int = 4, scale: int = 5):
        w = _ipw()
        self.model, self.classifier, self.mapper, self.ref = model, classifier, mapper, ref
        self.n_images, self.scale = n_images, scale
        k = int(classifier.cfg.num_classes)
        names = list(class_names) if class_names else [str(i) for i in range(k)]
        opts = [(n, i) for i, n in enumerate(names[:k])]
        self.source = w.Dropdown(options=opts, value=source, description="from")
        self.target = w.Dropdown(options=opts, value=target, description="to")
        self.strength = w.FloatSlider(value=0.0, min=0.0, max=limit, step=step, description="strength",
                                      continuous_update=False, readout_format=".1f")
        self._common(seed)
        self.latent_image, self.feature_image = w.Image(format="png"), w.Image(format="png")
        self._cache: dict = {}
        for c in (self.source, self.target, self.strength, self.seed):
            c.observe(lambda change: self.redraw(), names="value")
        self.reset.on_click(lambda _b: setattr(self.strength, "value", 0.0))
        panes = w.HBox([w.VBox([w.HTML("<b>latent-space edit</b>"), self.latent_image]),
                        w.VBox([w.HTML("<b>feature-space edit (mapper)</b>"), self.feature_image])])
        self.widget = w.VBox([w.HBox([self.source, self.target, self.seed, self.reset]), self.strength, panes,
                              self.status])
        self.redraw()

    def _starts(self) -> torch.Tensor:
        key = (int(self.source.value), int(self.seed.value))
        if key not in self._cache:
            k = int(self.classifier.cfg.num_classes)
            z = starting_points(self.model, self.classifier, self.n_images, k, seed=key[1], max_draws=4000)[key[0]]
            # a class the model (almost) never generates: start from plain seeded samples instead
            self._cache[key] = z if len(z) else latents(self.model, self.n_images, seed=key[1])
        return self._cache[key]

    def render(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(latent-edit images, feature-edit images) of the current controls."""
        d_z, d_f = self.ref.directions(int(self.source.value), int(self.target.value))
        return render_comparison(self.model, self.classifier, self.mapper, self._starts(), d_z, d_f,
                                 float(self.strength.value))

    def redraw(self, *_):
        def draw():
            latent, feature = self.render()
            self.latent_image.value = to_png(latent, self.n_images, self.scale)
            self.feature_image.value = to_png(feature, self.n_images, self.scale)
        self._timed(draw)


def edit_comparison(model: nn.Module, classifier: nn.Module, mapper: nn.Module, ref, **kwargs) -> EditComparison:
    """Side-by-side class edits: on z, and in the classifier's feature space mapped back by `mapper`.

    Args:
        ref: `labkit.latent.controlled.Reference` defining the class directions.
        class_names / source / target: class pickers; limit/step: strength slider range 0..limit.
        seed: seed of the starting latents (the first `n_images` samples the classifier puts in `source`).
    """
    return EditComparison(model, classifier, mapper, ref, **kwargs)
