"""Training GANs on the shared fit loop: variants (paper presets), the two-optimiser task, EMA, snapshots.

Scheme: the fit loop calls `training_step` once per real batch. Each call makes one discriminator
(critic) step; every `n_critic`-th call (steps n_critic-1, 2·n_critic-1, ...) also makes one generator
step. So a budget of S steps means S critic updates, S / n_critic generator updates and S real batches.
Latents and penalty noise come from the global CPU RNG, which checkpoints store, so resume is exact.
"""
from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from ..core.plots import image_grid
from ..core.runtime import PRECISIONS, pick_device, seed_everything, training_autocast
from ..data.dataset import ImageDataset
from ..models.checkpoint import save_models
from ..models.classifier import class_shares, predict
from ..models.gan import Discriminator, GANConfig, Generator
from . import convergence
from . import gan_losses as L
from .classifier import accuracy
from .loop import FitResult, Position, TrainingDivergedError, fit


@dataclass(frozen=True)
class GANTraining:
    loss: str = "ns"               # "ns" (non-saturating), "wasserstein", "hinge" or "relativistic" (RpGAN)
    optimizer: str = "adam"        # "adam" or "rmsprop" (the WGAN-clip paper)
    lr_g: float = 2e-4             # generator learning rate
    lr_d: float = 2e-4             # discriminator learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas
    n_critic: int = 1              # critic steps per generator step
    clip: float = 0.0              # WGAN weight clipping bound c; 0: off
    gp_weight: float = 0.0         # WGAN-GP λ; 0: off
    r_gamma: float = 0.0           # R3GAN γ: adds γ/2·(R1 + R2); 0: off
    aux_weight: float = 1.0        # ACGAN: weight of the class cross-entropy in both losses
    ema_decay: float = 0.0         # EMA of G weights (with warm-up min(decay, (1+t)/(10+t))); 0: off
    batch_size: int = 64           # real images per step
    snapshot_every: int = 100      # steps between grids of the fixed latent batch; 0: epoch ends only
    n_snapshot: int = 64           # images in the fixed latent batch
    precision: str = "auto"        # "auto": bf16 mixed precision where the device runs bf16 natively; "bf16", "fp32"

    def __post_init__(self):
        if self.loss not in L.LOSSES:
            raise ValueError(f"loss must be one of {L.LOSSES}; got {self.loss!r}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop'; got {self.optimizer!r}")
        if self.n_critic < 1:
            raise ValueError("n_critic must be at least 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")


@dataclass(frozen=True)
class GANVariant:
    name: str
    model: GANConfig               # geometry fields are replaced by the data's at build time
    training: GANTraining
    note: str = ""                 # the paper and its defaults


VARIANTS: dict[str, GANVariant] = {}


def register_variant(name: str, model: GANConfig, training: GANTraining, note: str = "") -> GANVariant:
    """Add a named preset to `VARIANTS`."""
    VARIANTS[name] = GANVariant(name, model, training, note)
    return VARIANTS[name]


_UNCOND = GANConfig()
register_variant("dcgan", dataclasses.replace(_UNCOND, d_norm="batch"), GANTraining(),
                 "Radford et al. 2016: non-saturating loss, batch norm in G and D, Adam 2e-4, beta1 0.5")
register_variant("wgan-clip", dataclasses.replace(_UNCOND, d_norm="batch"),
                 GANTraining(loss="wasserstein", optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, n_critic=5, clip=0.01),
                 "Arjovsky et al. 2017: RMSprop 5e-5, clip 0.01, n_critic 5, DCGAN networks")
_GP = GANTraining(loss="wasserstein", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5, gp_weight=10.0)
register_variant("wgan-gp", _UNCOND, _GP,
                 "Gulrajani et al. 2017: λ 10, Adam 1e-4, betas (0, 0.9), n_critic 5, no batch norm in the critic")
register_variant("wgan-sn", dataclasses.replace(_UNCOND, d_spectral=True), dataclasses.replace(_GP, gp_weight=0.0),
                 "Wasserstein loss with a spectrally normalised critic (Miyato et al. 2018) instead of a penalty")
register_variant("wgan-sn-gp", dataclasses.replace(_UNCOND, d_spectral=True), _GP,
                 "spectral norm and the gradient penalty together")
register_variant("r3gan", dataclasses.replace(_UNCOND, g_norm="none"),
                 GANTraining(loss="relativistic", lr_g=5e-4, lr_d=5e-4, betas=(0.0, 0.99), r_gamma=1.0,
                             ema_decay=0.999),
                 "Huang et al. 2024: RpGAN loss + γ/2 (R1 + R2), Adam betas (0, 0.99), no normalisation, G EMA; "
                 "γ is tuned per dataset in the paper (0.05 for CIFAR-10); the paper's ResNet backbone is "
                 "replaced by the shared DCGAN one. lr 5e-4: on Fashion-MNIST the rarest class passes 3% of samples "
                 "after about 1750 steps, against about 4000 at 2e-4")
register_variant("acgan", GANConfig(num_classes=10, conditioning="acgan", d_norm="none"),
                 GANTraining(ema_decay=0.999),
                 "Odena et al. 2017: non-saturating loss + auxiliary classifier cross-entropy, Adam 2e-4, beta1 0.5")
register_variant("wgan-gp-acgan", GANConfig(num_classes=10, conditioning="acgan"),
                 dataclasses.replace(_GP, ema_decay=0.999), "WGAN-GP with an auxiliary classifier head")
register_variant("sngan-projection", GANConfig(num_classes=10, conditioning="projection", d_spectral=True),
                 GANTraining(loss="hinge", betas=(0.0, 0.9), ema_decay=0.999),
                 "Miyato & Koyama 2018: hinge loss, spectral norm D with projection, conditional BN in G")

UNCONDITIONAL = ("wgan-clip", "wgan-gp", "wgan-sn", "wgan-sn-gp", "r3gan", "dcgan")
DEFAULT_CONDITIONAL = "acgan"


def build_gan(variant: str | GANVariant, *, channels: int, image_size: int, num_classes: int = 0,
              **model_overrides) -> tuple[Generator, Discriminator, GANTraining]:
    """Generator and discriminator of a variant for the given geometry (num_classes ignored if unconditional)."""
    v = VARIANTS[variant] if isinstance(variant, str) else variant
    geometry = dict(channels=channels, image_size=image_size)
    if v.model.conditioning != "none":
        geometry["num_classes"] = num_classes or v.model.num_classes
    cfg = dataclasses.replace(v.model, **geometry, **model_overrides)
    return Generator(cfg), Discriminator(cfg), v.training


class GANTask:
    """The fit-loop task: one D step per batch, one G step every n_critic batches, EMA, fixed-latent grids."""

    def __init__(self, generator: Generator, discriminator: Discriminator, settings: GANTraining,
                 snapshot_seed: int = 0):
        self.G, self.D, self.s = generator, discriminator, settings
        self.modules = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {"generator": self._optimizer(generator, settings.lr_g),
                           "discriminator": self._optimizer(discriminator, settings.lr_d)}
        self.ema = copy.deepcopy(generator).eval().requires_grad_(False) if settings.ema_decay > 0 else None
        self.ema_updates = 0
        g = torch.Generator().manual_seed(snapshot_seed)
        self.fixed_z = torch.randn(settings.n_snapshot, generator.cfg.latent_dim, generator=g)  # (S, latent)
        self.fixed_labels = generator.default_labels(settings.n_snapshot)
        self.snapshots: list[tuple[int, torch.Tensor]] = []  # (step, uint8 (S, C, H, W))
        self.steps_done = 0

    def _optimizer(self, module, lr):
        # one kernel per step for all parameters (fused) or per op (foreach), not one per tensor (CPU: Adam 2.6x faster)
        if self.s.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr, foreach=True)  # RMSprop has no fused kernel
        return torch.optim.Adam(module.parameters(), lr=lr, betas=self.s.betas, fused=True)

    @property
    def sampler(self) -> Generator:
        """The generator to sample from: the EMA copy when EMA is on."""
        return self.ema if self.ema is not None else self.G

    def _latents(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.G.cfg.latent_dim).to(device)  # (B, latent), global CPU RNG
        labels = torch.randint(self.G.num_classes, (n,)).to(device) if self.G.conditional else None
        return z, labels

    def training_step(self, batch, pos: Position) -> dict[str, torch.Tensor]:
        self.steps_done = pos.step + 1
        x = batch[0].float() / 127.5 - 1  # (B, C, H, W) uint8 -> [-1, 1]
        y = batch[1] if self.G.conditional else None
        with training_autocast(x.device, self.s.precision):
            out = self._d_step(x, y)
            if (pos.step + 1) % self.s.n_critic == 0:
                out.update(self._g_step(x, y))
        if (pos.step + 1) % self.s.n_critic == 0:
            self._update_ema()
        if self.s.snapshot_every and (pos.step + 1) % self.s.snapshot_every == 0:
            self.snapshot(pos.step + 1)
        return out

    def _scores(self, x, labels, aux: bool):
        if aux:
            return self.D(x, labels, return_aux=True)
        return self.D(x, labels), None

    def _d_step(self, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:
        s, D, acgan = self.s, self.D, self.D.aux is not None
        z, _ = self._latents(len(x), x.device)
        fake_labels = y  # conditional critics see fakes of the real batch's classes
        with torch.no_grad():
            fake = self.G(z, fake_labels)  # (B, C, H, W)
        out = {}
        if s.r_gamma > 0:
            critic_real = lambda v: self._scores(v, y, False)[0]  # noqa: E731
            critic_fake = lambda v: self._scores(v, fake_labels, False)[0]  # noqa: E731
            r1, real_s = L.zero_centred_penalty(critic_real, x)
            r2, fake_s = L.zero_centred_penalty(critic_fake, fake)
            real_aux = fake_aux = None
            if acgan:
                real_aux, fake_aux = D(x, y, return_aux=True)[1], D(fake, fake_labels, return_aux=True)[1]
            penalty = s.r_gamma / 2 * (r1 + r2)
            out.update(r1=r1.detach(), r2=r2.detach())
        else:
            real_s, real_aux = self._scores(x, y, acgan)
            fake_s, fake_aux = self._scores(fake, fake_labels, acgan)
            penalty = torch.zeros((), device=x.device)
        loss = L.d_loss(s.loss, real_s, fake_s)
        if s.gp_weight > 0:
            gp = L.gradient_penalty(lambda v: D(v, y), x, fake)  # fakes share the real labels
            penalty = penalty + s.gp_weight * gp
            out["gp"] = gp.detach()
        if acgan:
            cls = F.cross_entropy(real_aux, y) + F.cross_entropy(fake_aux, fake_labels)
            loss = loss + s.aux_weight * cls
            out["d_class_acc"] = (real_aux.argmax(1) == y).float().mean()
        opt = self.optimizers["discriminator"]
        opt.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        opt.step()
        if s.clip > 0:
            L.clip_weights(D, s.clip)
        d_real, d_fake = real_s.detach().mean(), fake_s.detach().mean()
        gap = d_real - d_fake
        out.update(d_loss=loss.detach(), d_real=d_real, d_fake=d_fake, critic_gap=gap)
        if s.loss == "wasserstein":
            out["wasserstein"] = gap
        return out

    def _g_step(self, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:
        s, acgan = self.s, self.D.aux is not None
        z, labels = self._latents(len(x), x.device)
        self.D.requires_grad_(False)
        try:
            fake_s, fake_aux = self._scores(self.G(z, labels), labels, acgan)
            real_s = self.D(x, y) if s.loss == "relativistic" else None
            loss = L.g_loss(s.loss, fake_s, real_s)
            if acgan:
                loss = loss + s.aux_weight * F.cross_entropy(fake_aux, labels)
            opt = self.optimizers["generator"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        finally:
            self.D.requires_grad_(True)
        return {"g_loss": loss.detach()}

    @torch.no_grad()
    def _update_ema(self):
        if self.ema is None:
            return
        self.ema_updates += 1
        decay = min(self.s.ema_decay, (1 + self.ema_updates) / (10 + self.ema_updates))
        for pe, p in zip(self.ema.parameters(), self.G.parameters()):
            pe.lerp_(p, 1 - decay)
        for be, b in zip(self.ema.buffers(), self.G.buffers()):
            be.copy_(b)

    @torch.no_grad()
    def snapshot(self, step: int) -> torch.Tensor:
        """Images of the fixed latent batch (S, C, H, W) in [0, 1], stored as uint8 with the step."""
        g = self.sampler
        was = g.training
        g.eval()
        device = next(g.parameters()).device
        labels = None if self.fixed_labels is None else self.fixed_labels.to(device)
        img = ((g(self.fixed_z.to(device), labels) + 1) / 2).clamp(0, 1).cpu()  # (S, C, H, W)
        g.train(was)
        self.snapshots.append((step, (img * 255).round().to(torch.uint8)))
        return img

    def epoch_end(self, pos: Position) -> dict[str, float]:
        if not self.snapshots or self.snapshots[-1][0] != pos.step:
            self.snapshot(pos.step)
        return {}

    def extra_state(self) -> dict:
        return {"ema": None if self.ema is None else self.ema.state_dict(), "ema_updates": self.ema_updates,
                "snapshots": self.snapshots, "steps_done": self.steps_done}

    def load_extra_state(self, d: dict) -> None:
        if self.ema is not None and d.get("ema") is not None:
            self.ema.load_state_dict(d["ema"])
        self.ema_updates = d.get("ema_updates", 0)
        self.snapshots = list(d.get("snapshots", []))
        self.steps_done = d.get("steps_done", 0)


@dataclass
class GANRun:
    """What `train_gan` returns: the networks, the task (EMA, snapshots), the fit result or the error."""
    generator: Generator
    discriminator: Discriminator
    task: GANTask
    result: FitResult | None
    error: str | None = None       # the TrainingDivergedError message when a loss became NaN / inf
    wall_s: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def sampler(self) -> Generator:
        return self.task.sampler


def train_gan(train: ImageDataset, variant: str | GANVariant = DEFAULT_CONDITIONAL, *, steps: int | None = None,
              epochs: int | None = None, settings: GANTraining | None = None, seed: int = 0,
              device: str | torch.device = "auto", checkpoint: str | Path | None = None,
              progress: bool | None = None, log_every: int = 10, **model_overrides) -> GANRun:
    """Train a GAN variant on `train` (uint8 images; labels used when conditional) for a step/epoch budget.

    A NaN/inf loss does not raise: the run comes back with `error` set and the networks as they were.
    Args:
        steps: critic steps (= real batches); epochs: passes over `train`; the first reached stops.
        settings: overrides the variant's training settings.
        model_overrides: GANConfig fields (widths, latent_dim) replacing the variant's.
    """
    seed_everything(seed)
    device = pick_device(device)
    C, H, _ = train.shape
    G, D, default_settings = build_gan(variant, channels=C, image_size=H, num_classes=train.num_classes,
                                       **model_overrides)
    settings = settings or default_settings
    task = GANTask(G.to(device), D.to(device), settings, snapshot_seed=seed)
    if task.ema is not None:
        task.ema.to(device)
    t0, result, error = time.perf_counter(), None, None
    try:
        result = fit(task, (train.images, train.labels), epochs=epochs, max_steps=steps,
                     batch_size=settings.batch_size, seed=seed, checkpoint=checkpoint, drop_last=True,
                     log_every=log_every, device=device, progress=progress)
    except TrainingDivergedError as e:
        error = str(e)
    if error is None and (not task.snapshots or task.snapshots[-1][0] != task.steps_done):
        task.snapshot(task.steps_done)  # the final state is always among the snapshots
    for m in (G, D, task.sampler):
        m.eval()
    return GANRun(G, D, task, result, error, time.perf_counter() - t0,
                  {"variant": variant if isinstance(variant, str) else variant.name, "steps": steps,
                   "epochs": epochs, "batch_size": settings.batch_size, "seed": seed, "device": str(device)})


def export_generator(run: GANRun, path: str | Path, **extra) -> Path:
    """Save a sampling checkpoint: 'generator' (the EMA copy when EMA is on) and 'discriminator'.

    `labkit.load_model(path)` returns the generator.
    """
    return save_models(path, {"generator": run.sampler, "discriminator": run.discriminator},
                       info=run.info, ema=run.task.ema is not None, error=run.error, **extra)


def assess(run: GANRun, real: ImageDataset, *, classifier: torch.nn.Module | None = None, n: int = 10_000,
           seed: int = 0, n_diversity: int = 2000, checks=None) -> dict:
    """Convergence verdict of a run, plus (with the evaluation classifier) the class histogram and GAN-test.

    Args:
        real: real images (uint8 dataset); the first `n_diversity` are the diversity reference.
        classifier: the evaluation classifier; adds `class_histogram` (K shares of n samples, `class_shares`),
            `min_class_share` and, for a conditional generator, `gan_test` (its accuracy on samples
            w.r.t. their conditioning labels, balanced labels).
        n: samples drawn with a seeded generator (`seed`).
    """
    samples = labels = None
    if run.error is None:
        labels = run.sampler.default_labels(n)
        samples = run.sampler.sample(n, generator=torch.Generator().manual_seed(seed), labels=labels).cpu()
    steps = run.result.steps if run.result is not None else None
    ref = real.float()[:n_diversity]
    hist = None
    if classifier is not None and samples is not None:
        hist = class_shares(predict(classifier, samples, what="logits"), classifier.cfg.num_classes)  # (K,)
    out = convergence.verdict(steps, None if samples is None else samples[:n_diversity], ref, error=run.error,
                              class_shares=hist, checks=checks or convergence.ConvergenceChecks())
    out.update(wall_s=run.wall_s, n_samples=n)
    if hist is not None:
        out.update(class_histogram=hist.tolist(), min_class_share=float(hist.min()))
        if labels is not None:
            out["gan_test"] = accuracy(classifier, ImageDataset.from_float(samples, labels, real.class_names))
    return out


def snapshot_figure(snapshots: list[tuple[int, torch.Tensor]], panels: int = 6, nrow: int = 8):
    """Grids of the fixed latent batch at up to `panels` evenly spaced snapshots, side by side; a figure."""
    if not snapshots:
        raise ValueError("no snapshots: train with snapshot_every > 0 or for at least one epoch")
    pick = sorted({round(i * (len(snapshots) - 1) / max(1, panels - 1)) for i in range(min(panels, len(snapshots)))})
    fig, axes = plt.subplots(1, len(pick), figsize=(2.2 * len(pick), 2.4), squeeze=False)
    for ax, i in zip(axes[0], pick):
        step, img = snapshots[i]
        image_grid(img.float() / 255, nrow=nrow, ax=ax, title=f"step {step}")
    fig.tight_layout()
    return fig
