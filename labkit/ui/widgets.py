"""Slider UIs for JupyterLab (ipywidgets 8): wiring only; every image comes from `labkit.ui.render`.

- `latent_explorer(models, sets)`: dropdowns for the model and its direction set, one slider per
  direction of the set (labels in full), a class picker for conditional models, a seed box, a reset
  button, and one image (grid) redrawn when a slider is released.
- `edit_comparison(model, classifier, mapper, ref)`: the same class edit done on z and in feature
  space (through the mapper), side by side.

Both return an object whose `.widget` is the box to display (it also displays itself in a notebook)
and whose controls are attributes, so tests drive them by setting `.value`.
"""
from __future__ import annotations

import html
import time
from typing import Mapping, Sequence

import torch
import torch.nn as nn

from ..latent.controlled import starting_points
from ..models.sampling import is_conditional, latent_size, latents
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
    """Sliders over named direction sets of several models; see `latent_explorer`."""

    def __init__(self, models: Mapping[str, nn.Module], sets: Mapping[str, Mapping[str, Mapping[str, torch.Tensor]]],
                 *, max_sliders: int | None = None, limit: float = 3.0, step: float = 0.1, seed: int = 0,
                 n_images: int = 1, nrow: int | None = None, class_names: Sequence[str] | None = None, scale: int = 6,
                 label_width: str = "220px", max_height: str = "460px"):
        w = _ipw()
        self.models, self.sets = _checked(models, sets)
        if max_sliders is not None and max_sliders < 1:
            raise ValueError(f"max_sliders must be at least 1 (or None for every direction); got {max_sliders}")
        self.max_sliders, self.limit, self.step, self.label_width = max_sliders, limit, step, label_width
        self.n_images, self.nrow, self.scale, self.class_names = n_images, nrow, scale, class_names
        first = next(iter(self.models))
        self.model_picker = w.Dropdown(options=list(self.models), value=first, description="model")
        self.set_picker = w.Dropdown(options=list(self.sets[first]), description="directions")
        self._common(seed)
        self.hidden_note = w.HTML(value="")
        self.slider_box = w.VBox(layout=w.Layout(max_height=max_height, overflow="auto"))
        self.class_box = w.HBox()
        self.image = w.Image(format="png", layout=w.Layout(align_self="flex-start"))  # not stretched to the sliders
        self.model_picker.observe(self._on_model, names="value")
        self.set_picker.observe(self._on_set, names="value")
        self.seed.observe(self._on_seed, names="value")
        self.reset.on_click(self._on_reset)
        controls = w.VBox([w.HBox([self.model_picker, self.set_picker]),
                           w.HBox([self.seed, self.reset, self.class_box]), self.hidden_note, self.slider_box,
                           self.status])
        self.widget = w.HBox([controls, self.image])
        self._load_model(first)

    # -- state -------------------------------------------------------------------------------------------------
    def _load_model(self, name: str):
        """Make `name` the current model: its latents, class picker and direction sets (keeping the set name)."""
        w = _ipw()
        self.model = self.models[name]
        self._z = latents(self.model, self.n_images, seed=self.seed.value)
        self.class_picker = None
        if is_conditional(self.model):
            k = self.model.cfg.num_classes
            names = list(self.class_names) if self.class_names else [str(i) for i in range(k)]
            self.class_picker = w.Dropdown(options=[(n, i) for i, n in enumerate(names[:k])], value=0,
                                           description="class")
            self.class_picker.observe(self._on_change, names="value")
        for old in self.class_box.children:
            old.close()
        self.class_box.children = [self.class_picker] if self.class_picker is not None else []
        keep = self.set_picker.value
        self.set_picker.unobserve(self._on_set, names="value")
        self.set_picker.options = list(self.sets[name])
        self.set_picker.value = keep if keep in self.sets[name] else self.set_picker.options[0]
        self.set_picker.observe(self._on_set, names="value")
        self._load_set(self.set_picker.value)

    def _load_set(self, set_name: str):
        """One slider (at 0) per direction of the current model's set `set_name`, up to `max_sliders`."""
        w = _ipw()
        every = self.sets[self.model_picker.value][set_name]
        shown = list(every)[:self.max_sliders] if self.max_sliders else list(every)
        for old in self.slider_box.children:  # the previous set's rows: close their widgets (and comms)
            for child in old.children:
                child.close()
            old.close()
        self.directions = {label: every[label] for label in shown}
        self.sliders = [w.FloatSlider(value=0.0, min=-self.limit, max=self.limit, step=self.step, description="",
                                      tooltip=label, continuous_update=False, readout_format=".1f")
                        for label in shown]
        # a wrapping HTML label beside each slider: long names stay readable in full, never cut to a fixed width
        self.slider_labels = [w.HTML(value=_label_html(label), layout=w.Layout(width=self.label_width))
                              for label in shown]
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.slider_box.children = [w.HBox([lab, s], layout=w.Layout(align_items="center"))
                                    for lab, s in zip(self.slider_labels, self.sliders)]
        self.hidden = len(every) - len(shown)
        count = f"{len(shown)} direction{'s' if len(shown) != 1 else ''} of {html.escape(set_name)}"
        self.hidden_note.value = (f"<small>{count}; {self.hidden} more hidden (max_sliders={self.max_sliders})</small>"
                                  if self.hidden else f"<small>{count}</small>")
        self.redraw()

    def values(self) -> dict[str, float]:
        """Current slider values, direction label -> strength."""
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

    # -- events --------------------------------------------------------------------------------------------------
    def _on_change(self, change):
        self.redraw()

    def _on_model(self, change):
        self._load_model(change["new"])

    def _on_set(self, change):
        self._load_set(change["new"])

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


def _label_html(label: str) -> str:
    return (f'<div title="{html.escape(label)}" style="white-space: normal; overflow-wrap: anywhere; '
            f'line-height: 1.25; padding: 2px 0">{html.escape(label)}</div>')


def _checked(models, sets) -> tuple[dict[str, nn.Module], dict[str, dict[str, dict[str, torch.Tensor]]]]:
    """`models` and `sets` as dicts, after checking every model has at least one set and every set a model."""
    models, sets = dict(models), {m: {k: dict(v) for k, v in s.items()} for m, s in sets.items()}
    if not models:
        raise ValueError("latent_explorer needs at least one model")
    if unknown := sorted(set(sets) - set(models)):
        raise ValueError(f"direction sets for {unknown}, which are not among the models {sorted(models)}")
    if missing := [m for m in models if not sets.get(m)]:
        raise ValueError(f"no direction set for model(s) {missing}; give each model {{set name: {{label: (D,)}}}}")
    for m, s in sets.items():
        for name, dirs in s.items():
            if not dirs:
                raise ValueError(f"direction set {name!r} of model {m!r} is empty; leave it out instead")
            d = latent_size(models[m])
            if bad := [label for label, v in dirs.items() if tuple(v.shape) != (d,)]:
                raise ValueError(f"directions {bad[:3]} of set {name!r} of model {m!r} are not ({d},) latent vectors")
    return models, sets


def latent_explorer(models: nn.Module | Mapping[str, nn.Module], sets: Mapping, **kwargs) -> LatentExplorer:
    """Slider explorer of one or several models (VAE or GAN generator) over named direction sets.

    Dropdowns pick the model and its direction set; every direction of the set gets a slider with its
    full label (a scrolling list when there are many).

    Args:
        models: name -> model; sets: model name -> {set name: {label: (D,) latent direction}}
            (`labkit.latent.sets.direction_sets` builds every kind). A single model with a flat
            {label: (D,)} mapping is accepted too (one set, "directions").
        max_sliders: at most this many sliders per set (the first ones; the panel says how many are hidden);
            None: all. limit/step: slider range ±limit.
        seed: seed of the starting latents; n_images: images shown (a grid of `nrow` per row).
        class_names: names in the class picker of a conditional model; scale: pixels per image pixel.
        label_width: width of the (wrapping) label column; max_height: height before the sliders scroll.
    """
    if isinstance(models, nn.Module):
        models, sets = {"model": models}, {"model": {"directions": sets}}
    return LatentExplorer(models, sets, **kwargs)


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
