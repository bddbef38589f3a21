"""Notebook parameter overrides for smoke runs: seconds per notebook, same code path."""
from __future__ import annotations

from types import SimpleNamespace

# Notebook name -> parameters replaced when SMOKE=True. Later notebooks add their entries here.
SMOKE: dict[str, dict] = {
    "00_tour": {},
    "01_train_classifier": {"epochs": 1, "n_per_class": 30, "n_test": 500},
    "02_train_vae": {"epochs": 1, "steps": 0, "n_per_class": 20, "n_eval": 50},
    "03_train_gan": {"steps": 4, "compare_steps": 2, "n_per_class": 20, "n_eval": 200},
    "04_evaluate": {"n_per_class": 20, "n_real_per_class": 20, "repeats": 1, "gan_train_steps": 5, "n_small": 100,
                    "kid_subsets": 5, "prd_runs": 1, "gan_n_fake": 100, "n_pairs": 50, "n_paths": 20},
    "07_latent_sliders": {"n_reference": 200, "n_samples": 200, "n_batch": 16, "n_directions": 2,
                          "strengths": [-2, 0, 2]},
    "05_diversity_saturation": {"real_sizes": [10, 30], "generated_sizes": [10, 30], "seeds": 2, "steps": 10,
                                "workers": 1, "n_test": 500},
    "06_validate_metrics": {"degradation_per_class": 30, "subsample_sizes": [10], "salt_pepper": [0.2],
                            "gaussian_std": [0.3], "blur_sigma": [1.0], "gan_train_steps": 10, "subset_n": 300,
                            "truncations": [0.5, 1.0], "n_generated": 30, "augment_sizes": [10],
                            "augment_seeds": 1, "n_test": 500, "n_memo_train": 2000, "prd_runs": 1},
    "08_controlled_generation": {"n_train": 500, "mapper_epochs": 1, "n_reference": 200, "n_per_class": 3,
                                 "n_eval": 100, "strengths": [0, 2]},
}


def resolve(notebook: str, smoke: bool, **params) -> SimpleNamespace:
    """The notebook's parameters, with the smoke overrides applied when `smoke`; attribute access."""
    if notebook not in SMOKE:
        raise KeyError(f"no smoke preset for notebook {notebook!r}; add one to labkit.presets.SMOKE")
    unknown = set(SMOKE[notebook]) - set(params)
    if unknown:
        raise KeyError(f"smoke preset of {notebook} sets {sorted(unknown)}, which the notebook does not pass")
    return SimpleNamespace(**{**params, **(SMOKE[notebook] if smoke else {}), "smoke": smoke})
