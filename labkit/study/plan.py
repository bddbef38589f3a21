"""What the study runs: the notebook jobs of each preset, their parameters, and which inputs they take.

A job is one execution of a numbered notebook; a notebook can run several times (one per model variant),
each an *instance* with its own run directory `runs/<study>/<notebook>-<instance>/`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRESET_NAMES = ("smoke", "quick", "paper")

# Inputs: parameter -> (job id, artefact key), or parameter -> {name: (job id, artefact key)} for a dict of paths.
Inputs = dict[str, Any]


@dataclass(frozen=True)
class Job:
    notebook: str                      # e.g. "02_train_vae"
    instance: str = ""                 # e.g. "plain"; empty for a notebook that runs once
    params: dict = field(default_factory=dict)
    inputs: Inputs = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.notebook}-{self.instance}" if self.instance else self.notebook

    def upstream(self) -> set[str]:
        """Ids of the jobs whose artefacts this one reads."""
        out = set()
        for v in self.inputs.values():
            out |= {v[0]} if isinstance(v, tuple) else {src for src, _ in v.values()}
        return out


# Per preset and notebook: parameters. SMOKE=True makes a notebook shrink itself (`presets.SMOKE_SIZES`).
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {nb: {"SMOKE": True} for nb in ("00_tour", "01_train_classifier", "02_train_vae", "03_train_gan", "04_evaluate",
                                   "05_diversity_saturation", "06_validate_metrics", "07_latent_sliders",
                                   "08_controlled_generation", "09_evaluate_your_model")},
    # About 30 minutes on 2 CPU cores (two jobs side by side): short trainings, the papers' protocols at reduced sizes.
    "quick": {
        "00_tour": {},
        "01_train_classifier": {"epochs": 3},
        # The plain and conditional VAEs train beside the classifier. At 3 epochs the plain VAE drew no Shirt
        # with confidence ≥ 0.9 in 20k samples, which Table 1's row 5 needs. The perceptual loss costs 4× per
        # step; at 2 epochs it draws every class at ≥ 5%.
        "02_train_vae": {"epochs": 5},
        "02_train_vae-perceptual": {"epochs": 2},
        # R3GAN needs about 1750 steps to draw every class at ≥ 3%; the compared variants share its budget.
        # `steps` is the one budget of the three conditional GANs
        "03_train_gan": {"steps": 1500, "compare_steps": 2000},
        "04_evaluate": {"n_per_class": 300, "n_real_per_class": 300, "repeats": 2, "gan_train_steps": 100,
                        "n_small": 2000, "kid_subsets": 20, "prd_runs": 5, "gan_n_fake": 2000, "n_pairs": 1000,
                        "n_paths": 1000, "swd_images": 250},  # SWD: about 4 s per GAN and repeat on a core
        # The real curve starts at 1 image per class so that a weak model's plateau still has an effective size; it
        # still rises at 1000 (C1's architecture, to convergence: 0.87 at 1000, 0.90 at 3000 per class, one seed),
        # and so do the generated sizes. Real 3000 would cost about 2 min of a core per seed: left to the paper preset.
        # Every point trains to convergence (early stopping on 100 held-out images per class, patience 2). The plain
        # VAE draws Shirts at under 1%: up to 15 draws per pooled image keep its soft-label curve. About 6 min of
        # one core (CPU time; 10 min on the clock with the machine at load 4 on 2 cores), 28 points.
        "05_diversity_saturation": {"real_sizes": [1, 10, 30, 100, 300, 1000],
                                    "generated_sizes": [10, 100, 300, 1000], "seeds": 2, "max_epochs": 15,
                                    "patience": 2, "min_epoch_images": 1280, "max_draws": 15, "n_test": 2000,
                                    "workers": 1},
        "06_validate_metrics": {"degradation_per_class": 300, "subsample_sizes": [30, 100], "repeats": 1,
                                "gan_train_steps": 200, "subset_n": 2000, "n_generated": 300,
                                "truncations": [0.25, 0.5, 1.0, 1.5],
                                "augment_sizes": [100], "augment_seeds": 1, "n_test": 2000, "n_memo_train": 20000,
                                "prd_runs": 5, "tsne_points": 300},
        "07_latent_sliders": {"n_reference": 2000, "n_samples": 1000, "n_batch": 128, "strengths": [-2, -1, 0, 1, 2]},
        "08_controlled_generation": {"n_train": 10000, "mapper_epochs": 5, "n_reference": 2000, "n_per_class": 20,
                                     "n_eval": 1000, "strengths": [0, 1, 2]},
        "09_evaluate_your_model": {"n": 2000, "bootstrap": 200},
    },
    # The papers' sizes: 20 epochs, 1000 generated images per class, 3 repeats. Hours on a CPU; meant for a GPU.
    "paper": {
        "00_tour": {},
        "01_train_classifier": {"epochs": 20},
        "02_train_vae": {"epochs": 20},
        "02_train_vae-perceptual": {"epochs": 20},
        "03_train_gan": {"steps": 18740, "compare_steps": 4000},
        "04_evaluate": {"n_per_class": 1000, "n_real_per_class": 1000, "repeats": 3, "swd_images": 2000},
        "05_diversity_saturation": {"real_sizes": [1, 3, 10, 30, 100, 300, 1000, 3000, 5900],  # 100/class held out
                                    "generated_sizes": [10, 30, 100, 300, 1000, 3000, 10000], "seeds": 3},
        "06_validate_metrics": {"repeats": 3},
        "07_latent_sliders": {},
        "08_controlled_generation": {},
        "09_evaluate_your_model": {"n": 2500},  # half of the held-out half of the test set
    },
}

VAE_VARIANTS = ("plain", "conditional", "perceptual")
GAN_MAIN = "acgan"  # class-conditional: its accuracy under C1 is GAN-test; notebooks 05 and 06 use it
# the class-conditional GANs of "How good is my GAN?" (its conditional WGAN-GP has an auxiliary classifier head,
# as ACGAN), all trained on GAN_MAIN's budget and compared by GAN-train and GAN-test in the GAN table
GAN_CONDITIONAL = (GAN_MAIN, "sngan-projection", "wgan-gp-acgan")
GAN_COMPARED = ("wgan-clip", "wgan-gp", "wgan-sn", "wgan-sn-gp", "r3gan", "dcgan")
GAN_LATENT = "r3gan"  # the unconditional generator used for latent directions and controlled generation


def plan(preset: str) -> list[Job]:
    """The jobs of a preset, every job after the jobs it reads; among jobs ready at once, earlier ones start first.

    Each GAN variant and each of 04's two tables is a job of its own, so that a 2-core machine always has
    two jobs to run: the VAEs that need no classifier train beside it, and Table 1, listed before the GANs,
    starts as soon as the VAEs are done while the GANs train on the other core. Long jobs come before short
    ones, so the study does not end on one core: the saturation sweep (05), the longest, is listed right after
    the conditional GANs, the last of its inputs (on the quick preset's recorded timings this ends the study
    about 1.4 minutes earlier than listing it after 06).
    """
    if preset not in SIZES:
        raise ValueError(f"unknown preset {preset!r}; choose one of {PRESET_NAMES}")
    s = SIZES[preset]
    clf = ("01_train_classifier", "classifier")
    vae = {v: (f"02_train_vae-{v}", "vae") for v in VAE_VARIANTS}
    gan = {v: (f"03_train_gan-{v}", "generator") for v in (*GAN_CONDITIONAL, *GAN_COMPARED)}
    jobs = [Job("00_tour", params=s["00_tour"]), Job("01_train_classifier", params=s["01_train_classifier"])]
    for v in VAE_VARIANTS:
        params = {**s["02_train_vae"], **s.get(f"02_train_vae-{v}", {}), "variant": v}
        # only the perceptual loss reads the classifier; the others train while it does
        jobs.append(Job("02_train_vae", v, params, inputs={"classifier_path": clf} if v == "perceptual" else {}))
    jobs.append(Job("04_evaluate", "vaes", {**s["04_evaluate"], "tables": ["table1"]},
                    inputs={"classifier_path": clf, "vae_checkpoints": vae}))
    gan_sizes = {k: v for k, v in s["03_train_gan"].items() if k != "compare_steps"}
    for v in (*GAN_CONDITIONAL, *GAN_COMPARED):
        compare_steps = s["03_train_gan"].get("compare_steps")  # one budget for every compared variant
        steps = {"steps": compare_steps} if v not in GAN_CONDITIONAL and compare_steps else {}
        jobs.append(Job("03_train_gan", v, {**gan_sizes, **steps, "variant": v}, inputs={"classifier_path": clf}))
        if v == GAN_CONDITIONAL[-1]:  # the saturation sweep, the longest job, starts as soon as its GAN exists
            jobs.append(Job("05_diversity_saturation", params=s["05_diversity_saturation"],
                            inputs={"classifier_path": clf,
                                    "generators": {"VAE (plain)": vae["plain"], f"GAN ({GAN_MAIN})": gan[GAN_MAIN]}}))
    jobs.append(Job("04_evaluate", "gans", {**s["04_evaluate"], "tables": ["gans"]},
                    inputs={"classifier_path": clf, "gan_checkpoints": gan,
                            "convergence_paths": {v: (src, "convergence") for v, (src, _) in gan.items()}}))
    jobs.append(Job("06_validate_metrics", params=s["06_validate_metrics"],
                    inputs={"classifier_path": clf, "generator_path": gan[GAN_MAIN]}))
    latent_inputs = {"classifier_path": clf, "vae": vae["plain"], "gan": gan[GAN_LATENT]}
    if preset == "smoke":  # a GAN trained for seconds produces too few classes for class directions
        del latent_inputs["gan"]
    jobs.append(Job("07_latent_sliders", params=s["07_latent_sliders"], inputs=latent_inputs))
    jobs.append(Job("08_controlled_generation", params=s["08_controlled_generation"], inputs=latent_inputs))
    # every trained model diagnosed against the test set, in C1's space (the study's classifier, not retrained)
    trained = {**{f"VAE ({v})": vae[v] for v in VAE_VARIANTS}, **{f"GAN ({v})": gan[v] for v in gan}}
    jobs.append(Job("09_evaluate_your_model", params=s["09_evaluate_your_model"],
                    inputs={"classifier_path": clf, "samples": trained}))
    return jobs
