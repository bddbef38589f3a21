"""The baseline of `bench_training`: each network labkit trains, written the obvious way in plain PyTorch.

What a researcher writes from the papers: NCHW `nn.Sequential` networks in fp32, a `DataLoader` over a
`TensorDataset` of float images, the optimiser with its default settings, the losses inline, and each step's
losses logged with `.item()`. The architectures, batch sizes and optimisers match labkit's (the benchmark
checks that both count the same FLOP per step); nothing else is shared with labkit.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.utils.data import DataLoader, TensorDataset

Step = Callable[[torch.Tensor, torch.Tensor], None]


def loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int, scale: str) -> DataLoader:
    """Float images ([0, 1] or [-1, 1]) and labels in a shuffling DataLoader, full batches only."""
    x = images.float() / 255 if scale == "unit" else images.float() / 127.5 - 1
    return DataLoader(TensorDataset(x, labels), batch_size=batch_size, shuffle=True, drop_last=True)


# -- classifier -----------------------------------------------------------------------------------------
def classifier_net(widths=(16, 32), feature_dim=128, classes=10) -> nn.Sequential:
    layers, c = [], 1
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                   nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
        c = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * 7 * 7, feature_dim), nn.ReLU(),
                         nn.Dropout(0.3), nn.Linear(feature_dim, classes))


def classifier_step(total_steps: int) -> Step:
    model = classifier_net().train()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total_steps)
    log = []

    def step(x, y):
        loss = F.cross_entropy(model(x * 2 - 1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        log.append(loss.item())
    return step


# -- VAEs -----------------------------------------------------------------------------------------------
class VAE(nn.Module):
    """The fashion preset: convs 16, 32 (4×4, stride 2), dense 128 each way, 16 latent dims."""

    def __init__(self, classes: int = 0, latent: int = 16):
        super().__init__()
        self.classes = classes
        self.enc = nn.Sequential(nn.Conv2d(1 + classes, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent + classes, 128), nn.ReLU(), nn.Linear(128, 32 * 7 * 7), nn.ReLU(),
                                 nn.Unflatten(1, (32, 7, 7)), nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(),
                                 nn.ConvTranspose2d(16, 1, 4, 2, 1))

    def forward(self, x, y=None):
        if self.classes:
            onehot = F.one_hot(y, self.classes).float()
            x = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, 28, 28)], 1)
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        if self.classes:
            z = torch.cat([z, onehot], 1)
        return self.dec(z), mu, logvar


def vae_step(variant: str) -> Step:
    model = VAE(classes=10 if variant == "conditional" else 0).train()
    beta = 4.0 if variant == "beta" else 1.0
    features = None
    if variant == "perceptual":  # the frozen classifier's two conv blocks
        features = classifier_net()[:14].eval().requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    log = []

    def blocks(x):
        out, h = [], x * 2 - 1
        for i, layer in enumerate(features):
            h = layer(h)
            if i in (6, 13):
                out.append(h)
        return out

    def step(x, y):
        logits, mu, logvar = model(x, y)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        if features is None:
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
        else:
            with torch.no_grad():
                real = blocks(x)
            fake = blocks(torch.sigmoid(logits))
            rec = sum(0.5 * (f - r).pow(2).sum((1, 2, 3)) for f, r in zip(fake, real))
        loss = (rec + beta * kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append((loss.item(), rec.mean().item(), kl.mean().item()))
    return step


# -- GANs -----------------------------------------------------------------------------------------------
class CondBN(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.bn, self.gain, self.bias = nn.BatchNorm2d(c, affine=False), nn.Embedding(classes, c), nn.Embedding(classes, c)

    def forward(self, h, y):
        return self.bn(h) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class Generator(nn.Module):
    """DCGAN: z (64) -> dense 64×7×7 -> BN ReLU -> ConvT 32 (14×14) BN ReLU -> ConvT 1 (28×28) tanh."""

    def __init__(self, norm=True, acgan=False, projection=False, classes=10, latent=64):
        super().__init__()
        self.acgan, self.projection = acgan, projection
        self.embed = nn.Embedding(classes, latent) if acgan else None
        self.fc = nn.Linear(latent * (2 if acgan else 1), 64 * 7 * 7)
        self.bn0 = CondBN(64, classes) if projection else nn.BatchNorm2d(64) if norm else None
        self.up = nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=not norm)
        self.bn1 = CondBN(32, classes) if projection else nn.BatchNorm2d(32) if norm else None
        self.out = nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def forward(self, z, y=None):
        if self.acgan:
            z = torch.cat([z, self.embed(y)], 1)
        h = self.fc(z).view(-1, 64, 7, 7)
        h = F.relu(self.bn0(h, y) if self.projection else self.bn0(h) if self.bn0 is not None else h)
        h = self.up(h)
        h = F.relu(self.bn1(h, y) if self.projection else self.bn1(h) if self.bn1 is not None else h)
        return torch.tanh(self.out(h))


class Discriminator(nn.Module):
    """Conv 32 (14×14) LReLU -> Conv 64 (7×7) [norm] LReLU -> dense score [+ class head | projection]."""

    def __init__(self, norm="none", sn=False, acgan=False, projection=False, classes=10):
        super().__init__()
        wrap = spectral_norm if sn else (lambda m: m)
        self.body = nn.Sequential(
            wrap(nn.Conv2d(1, 32, 4, 2, 1)), nn.LeakyReLU(0.2), wrap(nn.Conv2d(32, 64, 4, 2, 1)),
            nn.BatchNorm2d(64) if norm == "batch" else nn.GroupNorm(1, 64) if norm == "layer" else nn.Identity(),
            nn.LeakyReLU(0.2), nn.Flatten())
        self.score = wrap(nn.Linear(64 * 7 * 7, 1))
        self.aux = wrap(nn.Linear(64 * 7 * 7, classes)) if acgan else None
        self.embed = wrap(nn.Embedding(classes, 64 * 7 * 7)) if projection else None

    def forward(self, x, y=None):
        h = self.body(x)
        s = self.score(h).squeeze(1)
        if self.embed is not None:
            s = s + (self.embed(y) * h).sum(1)
        return s, (self.aux(h) if self.aux is not None else None)


# variant -> (G kwargs, D kwargs, loss, optimiser, lr, betas, n_critic, clip, gp, r_gamma, ema)
GAN_RECIPES = {
    "dcgan": ({}, {"norm": "batch"}, "ns", "adam", 2e-4, (0.5, 0.999), 1, 0, 0, 0, 0),
    "wgan-clip": ({}, {"norm": "batch"}, "wasserstein", "rmsprop", 5e-5, None, 5, 0.01, 0, 0, 0),
    "wgan-gp": ({}, {}, "wasserstein", "adam", 1e-4, (0.0, 0.9), 5, 0, 10, 0, 0),
    "wgan-sn": ({}, {"sn": True}, "wasserstein", "adam", 1e-4, (0.0, 0.9), 5, 0, 0, 0, 0),
    "wgan-sn-gp": ({}, {"sn": True}, "wasserstein", "adam", 1e-4, (0.0, 0.9), 5, 0, 10, 0, 0),
    "r3gan": ({"norm": False}, {}, "relativistic", "adam", 5e-4, (0.0, 0.99), 1, 0, 0, 1.0, 0.999),
    "acgan": ({"acgan": True}, {"acgan": True}, "ns", "adam", 2e-4, (0.5, 0.999), 1, 0, 0, 0, 0.999),
    "wgan-gp-acgan": ({"acgan": True}, {"acgan": True}, "wasserstein", "adam", 1e-4, (0.0, 0.9),
                      5, 0, 10, 0, 0.999),
    "sngan-projection": ({"projection": True}, {"sn": True, "projection": True}, "hinge", "adam", 2e-4,
                         (0.0, 0.9), 1, 0, 0, 0, 0.999),
}


def gan_step(variant: str, latent: int = 64) -> Step:
    g_kw, d_kw, loss, optim, lr, betas, n_critic, clip, gp, r_gamma, ema_decay = GAN_RECIPES[variant]
    G, D = Generator(**g_kw).train(), Discriminator(**d_kw).train()
    conditional = g_kw.get("acgan") or g_kw.get("projection")
    if optim == "rmsprop":
        opt_g, opt_d = torch.optim.RMSprop(G.parameters(), lr=lr), torch.optim.RMSprop(D.parameters(), lr=lr)
    else:
        opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    G_ema = copy.deepcopy(G) if ema_decay else None
    state = {"i": 0}
    log = []

    def grad_at(x, y):
        x = x.detach().requires_grad_(True)
        s, _ = D(x, y)
        (g,) = torch.autograd.grad(s.sum(), x, create_graph=True)
        return s, g

    def step(x, y):
        y = y if conditional else None
        # critic step
        z = torch.randn(len(x), latent)
        with torch.no_grad():
            fake = G(z, y)
        if r_gamma:
            real_s, g_real = grad_at(x, y)
            fake_s, g_fake = grad_at(fake, y)
            penalty = r_gamma / 2 * (g_real.pow(2).sum((1, 2, 3)).mean() + g_fake.pow(2).sum((1, 2, 3)).mean())
            real_aux = fake_aux = None
        else:
            (real_s, real_aux), (fake_s, fake_aux) = D(x, y), D(fake, y)
            penalty = 0
        if loss == "ns":
            d_loss = F.softplus(-real_s).mean() + F.softplus(fake_s).mean()
        elif loss == "wasserstein":
            d_loss = fake_s.mean() - real_s.mean()
        elif loss == "hinge":
            d_loss = F.relu(1 - real_s).mean() + F.relu(1 + fake_s).mean()
        else:
            d_loss = F.softplus(-(real_s - fake_s)).mean()
        if gp:
            eps = torch.rand(len(x), 1, 1, 1)
            _, g = grad_at(eps * x + (1 - eps) * fake, y)
            penalty = penalty + gp * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        if real_aux is not None:
            d_loss = d_loss + F.cross_entropy(real_aux, y) + F.cross_entropy(fake_aux, y)
        opt_d.zero_grad()
        (d_loss + penalty).backward()
        opt_d.step()
        if clip:
            for p in D.parameters():
                p.data.clamp_(-clip, clip)
        log.append(d_loss.item())
        state["i"] += 1
        if state["i"] % n_critic:
            return
        # generator step, the critic frozen
        D.requires_grad_(False)
        z = torch.randn(len(x), latent)
        yg = torch.randint(10, (len(x),)) if conditional else None
        fake_s, fake_aux = D(G(z, yg), yg)
        if loss == "ns":
            g_loss = F.softplus(-fake_s).mean()
        elif loss == "relativistic":
            g_loss = F.softplus(-(fake_s - D(x, y)[0])).mean()
        else:
            g_loss = -fake_s.mean()
        if fake_aux is not None:
            g_loss = g_loss + F.cross_entropy(fake_aux, yg)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        if G_ema is not None:
            with torch.no_grad():
                for pe, p in zip(G_ema.parameters(), G.parameters()):
                    pe.mul_(ema_decay).add_(p, alpha=1 - ema_decay)
        log.append(g_loss.item())
    return step


def plain_job(network: str, total_steps: int) -> tuple[Step, int, str]:
    """The plain step function of a `bench_training` network, its batch size and its pixel scale."""
    if network == "classifier":
        return classifier_step(total_steps), 128, "unit"
    if network.startswith("vae-"):
        return vae_step(network[len("vae-"):]), 64, "unit"
    return gan_step(network[len("gan-"):]), 64, "signed"
