"""Slider redraw latency on the CPU: the render functions behind `labkit.ui.widgets` (decode + PNG), per model.

Run: `.venv/bin/python -m benchmarks.bench_sliders [--threads N] [--vae CKPT] [--gan CKPT]`. Without
checkpoints it times freshly built 28×28 models of the default Fashion-MNIST geometry (the latency does
not depend on the weights). Prints one JSON line per (model, view): median and 95th-percentile ms over
`--repeats` redraws, each with new slider values. The target is < 100 ms per redraw.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def _time(fn, repeats: int) -> dict:
    fn(0)  # warm-up
    ms = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i + 1)
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
            "max_ms": round(ms[-1], 2), "repeats": repeats}


def models(vae_path: str = "", gan_path: str = "") -> dict:
    import labkit
    from labkit.models.gan import GANConfig, Generator
    from labkit.models.vae import VAE, preset_config
    out = {"vae": labkit.load_model(vae_path) if vae_path else VAE(preset_config("fashion")).eval(),
           "gan": labkit.load_model(gan_path) if gan_path else Generator(GANConfig()).eval()}
    return out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--vae", default="")
    p.add_argument("--gan", default="")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from labkit.latent import controlled
    from labkit.latent import directions as latent
    from labkit.models import sampling
    from labkit.models.classifier import Classifier
    from labkit.models.mapper import Mapper, MapperConfig
    from labkit.ui import render
    clf = Classifier().eval()
    for name, m in models(args.vae, args.gan).items():
        d = m.cfg.latent_dim
        dirs = {f"sefa:{i}": v for i, v in enumerate(latent.sefa_directions(sampling.first_layer(m)[0], 6)[0])}
        for n_images in (1, 16):
            z = sampling.latents(m, n_images, seed=0)

            def redraw(i, z=z):
                values = {k: ((i * 7 + j) % 13 - 6) / 2 for j, k in enumerate(dirs)}
                render.to_png(render.render_latent(m, z, dirs, values), scale=6)
            print(json.dumps({"bench": "slider_redraw", "model": name, "view": "latent_explorer",
                              "n_images": n_images, **_time(redraw, args.repeats), "threads": args.threads}),
                  flush=True)
        mapper = Mapper(MapperConfig(latent_dim=d)).eval()
        ref = controlled.Reference(torch.randn(100, d), torch.randn(100, 128), torch.arange(100) % 10, "classifier")
        d_z, d_f = ref.directions(0, 1)
        z = sampling.latents(m, 4, seed=0)

        def compare(i):
            lat, feat = render.render_comparison(m, clf, mapper, z, d_z, d_f, (i % 20) / 10)
            render.to_png(lat, 4, 5), render.to_png(feat, 4, 5)
        print(json.dumps({"bench": "slider_redraw", "model": name, "view": "edit_comparison", "n_images": 4,
                          **_time(compare, args.repeats), "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
