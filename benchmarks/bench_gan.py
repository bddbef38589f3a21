"""GAN training throughput per variant on the CPU: real images per second through the critic.

    python benchmarks/bench_gan.py [--steps 20] [--threads 1] [--size 28] [--out bench_gan.json]

Each variant trains `--steps` critic steps (batch 64, the variant's default networks) on a Fashion-MNIST
subset after two warm-up steps. Reported: wall and CPU (process) seconds per step, and images/s by
each. CPU time is the fairer figure on a shared machine; wall time is what a user waits. A critic step
of an n_critic = 5 variant includes a fifth of a generator step.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("LABKIT_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from labkit import data  # noqa: E402
from labkit.train.gan import VARIANTS, GANTask, build_gan  # noqa: E402
from labkit.train.loop import Position  # noqa: E402


def bench(variant: str, images: torch.Tensor, labels: torch.Tensor, steps: int, warmup: int = 2) -> dict:
    """Seconds per critic step of one variant, wall and CPU."""
    torch.manual_seed(0)
    G, D, settings = build_gan(variant, channels=images.shape[1], image_size=images.shape[2], num_classes=10)
    task = GANTask(G, D, settings)
    bs = settings.batch_size
    settings_snap = settings.snapshot_every

    def run(s: int):
        i = s * bs % (len(images) - bs)
        task.training_step((images[i:i + bs], labels[i:i + bs]), Position(step=s))
    for s in range(warmup):
        run(s)
    w0, c0 = time.perf_counter(), time.process_time()
    for s in range(warmup, warmup + steps):
        run(s)
    wall, cpu = (time.perf_counter() - w0) / steps, (time.process_time() - c0) / steps
    return {"variant": variant, "batch_size": bs, "n_critic": settings.n_critic, "snapshot_every": settings_snap,
            "wall_s_per_step": wall, "cpu_s_per_step": cpu, "images_per_s_wall": bs / wall,
            "images_per_s_cpu": bs / cpu}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", default=",".join(sorted(VARIANTS)))
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = data.load("fashion-mnist", "train").subset(range(4096))
    rows = []
    for v in args.variants.split(","):
        r = bench(v, ds.images, ds.labels, args.steps)
        rows.append(r)
        print(f"{v:18s} {r['wall_s_per_step'] * 1000:7.0f} ms/step wall {r['cpu_s_per_step'] * 1000:7.0f} ms/step cpu "
              f"{r['images_per_s_wall']:7.0f} img/s wall {r['images_per_s_cpu']:7.0f} img/s cpu", flush=True)
    if args.out:
        meta = {"threads": args.threads, "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                "load_avg": os.getloadavg()}
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
