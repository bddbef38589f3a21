"""Notebook parameters: the smoke sizes (seconds per notebook, same code path) and `resolve`, each notebook's
one-line view of its own parameters."""
from __future__ import annotations

from types import ModuleType, SimpleNamespace
from typing import Any, Mapping

# Notebook name -> parameters replaced when SMOKE=True. A new notebook adds its entry here.
SMOKE_SIZES: dict[str, dict] = {
    "00_tour": {},
    "01_train_classifier": {"epochs": 1, "n_per_class": 30, "n_test": 500},
    "02_train_vae": {"epochs": 1, "steps": 0, "n_per_class": 20, "n_eval": 50, "similarity_n": 50, "attribute_n": 200},
    "03_train_gan": {"steps": 4, "compare_steps": 2, "n_per_class": 20, "n_eval": 200},
    "04_evaluate": {"n_per_class": 20, "n_real_per_class": 20, "repeats": 1, "gan_train_steps": 5, "n_small": 100,
                    "kid_subsets": 5, "prd_runs": 1, "gan_n_fake": 100, "n_pairs": 50, "n_paths": 20,
                    "swd_images": 64},
    "07_latent_sliders": {"n_reference": 200, "n_samples": 200, "n_batch": 16, "n_directions": 2,
                          "strengths": [-2, 0, 2]},
    "05_diversity_saturation": {"real_sizes": [3, 10, 30], "generated_sizes": [10, 30], "seeds": 2, "max_epochs": 3,
                                "patience": 1, "min_epoch_images": 256, "val_per_class": 10, "workers": 1,
                                "n_test": 500},
    "06_validate_metrics": {"degradation_per_class": 30, "subsample_sizes": [10], "salt_pepper": [0.2],
                            "gaussian_std": [0.3], "blur_sigma": [1.0], "gan_train_steps": 10, "subset_n": 300,
                            "truncations": [0.5, 1.0], "n_generated": 30, "augment_sizes": [10],
                            "augment_seeds": 1, "n_test": 500, "n_memo_train": 2000, "prd_runs": 1,
                            "equal_fid_n": 300, "tsne_points": 50},
    "09_evaluate_your_model": {"n": 100, "n_train": 2000, "bootstrap": 20},
    "08_controlled_generation": {"n_train": 500, "mapper_epochs": 1, "n_reference": 200, "n_per_class": 3,
                                 "n_eval": 100, "strengths": [0, 2]},
}


def resolve(notebook: str, namespace: Mapping[str, Any]) -> SimpleNamespace:
    """The notebook's parameters with the smoke sizes applied when `SMOKE` is true; attribute access.

    Args:
        notebook: its name, e.g. "04_evaluate" (the key of its smoke sizes).
        namespace: the notebook's `globals()`; its parameters are the names the `parameters` cell annotates
            (`epochs: int = 5`), so call this right after that cell.
    """
    if notebook not in SMOKE_SIZES:
        raise KeyError(f"no smoke sizes for notebook {notebook!r}; add them to labkit.study.presets.SMOKE_SIZES")
    names = list(namespace.get("__annotations__", {}))
    if "SMOKE" not in names:
        raise ValueError(f"{notebook}: no annotated parameters found (expected `SMOKE: bool = False` and the other "
                         "parameters as annotated assignments in the `parameters` cell)")
    params = {n: namespace[n] for n in names if n in namespace}
    rebound = [n for n, v in params.items() if isinstance(v, ModuleType) or callable(v)]
    if rebound:
        raise TypeError(f"{notebook}: parameters {rebound} were rebound to a module or function (an import of the "
                        "same name after the parameters cell); rename that import")
    unknown = set(SMOKE_SIZES[notebook]) - set(params)
    if unknown:
        raise KeyError(f"smoke sizes of {notebook} set {sorted(unknown)}, which are not parameters of the notebook")
    smoke = bool(params["SMOKE"])
    return SimpleNamespace(**{**params, **(SMOKE_SIZES[notebook] if smoke else {}), "smoke": smoke})
