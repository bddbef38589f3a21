"""Training against the hardware: FLOP per step, images/s and GFLOP/s of every network labkit trains, beside the
machine's GEMM rate (fp32 and bf16, measured in the same run) and beside a plain PyTorch loop of the same network.

    python -m benchmarks.bench_training [--networks classifier,gan-dcgan] [--rounds 3] [--steps 20] [--threads 1]

Networks: the evaluation classifier, each VAE variant (`vae-plain`, ...) and each GAN variant (`gan-dcgan`, ...).
labkit's side is the training task run through `labkit.train.fit`, as the study runs it (precision "auto": bf16 where
the CPU has it); the plain side is `benchmarks/plain_training.py`. FLOP are counted with
`torch.utils.flop_counter` over one step (over n_critic steps for GANs, so generator steps count at their rate):
matrix products and convolutions, forward and backward, as the GEMM rate counts them; both sides must count the
same. Times are CPU seconds of this process (on a shared machine wall time also counts the other processes' turns;
on an idle one the two agree), the best of `--rounds` rounds that alternate between the two sides; the GEMM rates
are the best over the whole run, timed the same way. One thread by default: each study job gets one core.
The last column is the step's convolutions and matrix products run alone, layer by layer at their training shapes:
the most any loop over that network at that batch size reaches on this CPU (small layers stay far from the rate of
large square GEMMs). Prints one JSON line per network, then a table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("LABKIT_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from benchmarks.plain_training import GAN_RECIPES, loader, plain_job  # noqa: E402
from labkit import data  # noqa: E402
from labkit.core.runtime import training_autocast, uses_bf16  # noqa: E402
from labkit.models.classifier import Classifier, ClassifierConfig  # noqa: E402
from labkit.train.classifier import ClassifierTask, ClassifierTraining  # noqa: E402
from labkit.train.gan import VARIANTS as GAN_VARIANTS, GANTask, build_gan  # noqa: E402
from labkit.train.loop import Position, fit  # noqa: E402
from labkit.train.vae import VARIANTS as VAE_VARIANTS, VAETask, build_vae, preset_training, variant_config  # noqa: E402

NETWORKS = ("classifier", *(f"vae-{v}" for v in VAE_VARIANTS), *(f"gan-{v}" for v in GAN_VARIANTS))


def gemm_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 3) -> float:
    """Best rate of an n×n by n×n matrix product, GFLOP/s (2n³ FLOP each)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.process_time()
        a @ b
        best = min(best, time.process_time() - t0)
    return 2 * n ** 3 / best / 1e9


class _GlobalOnly:
    """FlopCounterMode's per-module tracker breaks `autograd.grad` (gradient penalties); only the total is needed."""
    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def flop_per_call(step, calls: int) -> float:
    """FLOP per call of `step(i)`, averaged over calls i = 0..calls-1."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        for i in range(calls):
            step(i)
    return counter.get_total_flops() / calls


def labkit_task(network: str, precision: str, total_steps: int):
    """labkit's task for a network, its batch size, whether fit drops a last partial batch, and n_critic."""
    if network == "classifier":
        settings = ClassifierTraining(precision=precision)
        return ClassifierTask(Classifier(ClassifierConfig()), settings, total_steps), settings.batch_size, False, 1
    if network.startswith("vae-"):
        variant = network[len("vae-"):]
        clf = Classifier(ClassifierConfig()) if variant == "perceptual" else None
        settings = preset_training(precision=precision)
        model = build_vae(variant_config(variant, classifier=clf), clf)
        return VAETask(model, settings), settings.batch_size, False, 1
    G, D, settings = build_gan(network[len("gan-"):], channels=1, image_size=28, num_classes=10)
    settings = dataclasses.replace(settings, precision=precision)
    return GANTask(G, D, settings), settings.batch_size, True, settings.n_critic


def time_labkit(network: str, ds, steps: int, warmup: int, precision: str) -> dict:
    """Seconds per step of labkit's training (through `fit`) and FLOP per step."""
    torch.manual_seed(0)
    task, bs, drop_last, n_critic = labkit_task(network, precision, warmup + steps + 1)
    tensors = (ds.images, ds.targets() if network == "classifier" else ds.labels)
    batches = [tuple(t[i * bs:(i + 1) * bs] for t in tensors) for i in range(n_critic)]
    flop = flop_per_call(lambda i: task.training_step(batches[i], Position(step=i)), n_critic)
    marks = []
    inner = task.training_step

    def marked(batch, pos):
        marks.append(time.process_time())
        return inner(batch, pos)
    task.training_step = marked
    fit(task, tensors, max_steps=warmup + steps + 1, batch_size=bs, drop_last=drop_last, progress=False,
        device="cpu")
    return {"s_per_step": (marks[warmup + steps] - marks[warmup]) / steps, "flop": flop, "batch_size": bs}


def time_plain(network: str, ds, steps: int, warmup: int) -> dict:
    """Seconds per step of the plain PyTorch loop of a network and FLOP per step."""
    torch.manual_seed(0)
    n_critic = GAN_RECIPES[network[4:]][6] if network.startswith("gan-") else 1
    step, bs, scale = plain_job(network, warmup + steps + 1)
    batches = loader(ds.images, ds.labels, bs, scale)
    first = [b for _, b in zip(range(n_critic), batches)]
    flop = flop_per_call(lambda i: step(*first[i]), n_critic)
    marks = []
    while len(marks) <= warmup + steps:
        for x, y in batches:
            marks.append(time.process_time())
            step(x, y)
            if len(marks) > warmup + steps:
                break
    return {"s_per_step": (marks[warmup + steps] - marks[warmup]) / steps, "flop": flop, "batch_size": bs}


def _alone(module: nn.Module, x: torch.Tensor):
    """One forward and backward of `module`'s matrix work alone on a fresh input like `x` (weights and bias
    detached copies with gradients, the input with one when the step's had one)."""
    w = module.weight.detach().clone().requires_grad_(True)
    b = None if module.bias is None else module.bias.detach().clone().requires_grad_(True)
    inp = torch.randn(x.shape, dtype=x.dtype).contiguous(memory_format=_layout(x)).requires_grad_(x.requires_grad)
    if isinstance(module, nn.Linear):
        call = lambda: F.linear(inp, w, b)  # noqa: E731
    elif isinstance(module, nn.ConvTranspose2d):
        call = lambda: F.conv_transpose2d(inp, w, b, module.stride, module.padding, module.output_padding,  # noqa: E731
                                          module.groups, module.dilation)
    else:
        call = lambda: F.conv2d(inp, w, b, module.stride, module.padding, module.dilation, module.groups)  # noqa: E731

    def run():
        y = call()
        y.backward(torch.ones_like(y))
    return run


def _layout(x: torch.Tensor) -> torch.memory_format:
    nhwc = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if nhwc else torch.contiguous_format


def layers_alone(network: str, ds, precision: str, reps: int = 20) -> dict:
    """The rate of one training step's convolutions and matrix products run alone, layer by layer at the step's
    own shapes (forward and backward, same precision), with no elementwise work, optimiser or loop between them:
    what any loop over this network at this batch size can reach at most on this CPU, as the GEMM rate is for
    large square matrices."""
    torch.manual_seed(0)
    task, bs, _, n_critic = labkit_task(network, precision, 10)
    tensors = (ds.images, ds.targets() if network == "classifier" else ds.labels)
    calls = []
    hooks = [m.register_forward_hook(lambda m, inp, out: calls.append(_alone(m, inp[0])))
             for net in task.modules.values() for m in net.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    for i in range(n_critic):
        task.training_step(tuple(t[i * bs:(i + 1) * bs] for t in tensors), Position(step=i))
    for h in hooks:
        h.remove()
    with training_autocast("cpu", precision):
        flop = flop_per_call(lambda i: calls[i](), len(calls)) * len(calls)
        for run in calls:
            run()  # warm-up
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            for _ in range(reps):
                for run in calls:
                    run()
            best = min(best, (time.process_time() - t0) / reps)
    return {"layers_gflop_per_s": flop / best / 1e9, "layer_calls": len(calls)}


def bench_network(network: str, ds, *, rounds: int, steps: int, warmup: int, precision: str) -> dict:
    """Best of `rounds` alternating runs of labkit's and the plain loop."""
    best = {}
    for _ in range(rounds):
        for side, run in (("labkit", lambda: time_labkit(network, ds, steps, warmup, precision)),
                          ("plain", lambda: time_plain(network, ds, steps, warmup))):
            r = run()
            if side not in best or r["s_per_step"] < best[side]["s_per_step"]:
                best[side] = r
    lab, plain = best["labkit"], best["plain"]
    return {"network": network, "bf16": uses_bf16("cpu", precision), "batch_size": lab["batch_size"],
            "gflop_per_step": lab["flop"] / 1e9, "plain_gflop_per_step": plain["flop"] / 1e9,
            "images_per_s": lab["batch_size"] / lab["s_per_step"],
            "gflop_per_s": lab["flop"] / lab["s_per_step"] / 1e9,
            "plain_images_per_s": plain["batch_size"] / plain["s_per_step"],
            "plain_gflop_per_s": plain["flop"] / plain["s_per_step"] / 1e9,
            "x_plain": plain["s_per_step"] / lab["s_per_step"],
            "same_flop": abs(plain["flop"] - lab["flop"]) <= 0.01 * lab["flop"],  # else × plain compares different work
            **layers_alone(network, ds, precision)}


def table(rows: list[dict], gemm: dict) -> str:
    head = ("| network | precision | GFLOP/step | img/s | GFLOP/s | % fp32 GEMM | % bf16 GEMM | plain img/s | × plain "
            "| same FLOP | layers alone GFLOP/s (% fp32 GEMM) |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        bf = f"{100 * r['gflop_per_s'] / gemm['bf16']:.0f} %" if r["bf16"] else "–"
        lines.append(f"| {r['network']} | {'bf16' if r['bf16'] else 'fp32'} | {r['gflop_per_step']:.3f} | "
                     f"{r['images_per_s']:.0f} | {r['gflop_per_s']:.1f} | {100 * r['gflop_per_s'] / gemm['fp32']:.0f} % | "
                     f"{bf} | {r['plain_images_per_s']:.0f} | {r['x_plain']:.2f} | {'yes' if r['same_flop'] else 'NO'} | "
                     f"{r['layers_gflop_per_s']:.1f} ({100 * r['layers_gflop_per_s'] / gemm['fp32']:.0f} %) |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per round (a multiple of n_critic = 5)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    ap.add_argument("--json", default="", help="also write the rows and the GEMM rates to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*TF32.*")
    networks = [n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = sorted(set(networks) - set(NETWORKS))
    if unknown:
        ap.error(f"unknown networks {unknown}; choose from {', '.join(NETWORKS)}")
    ds = data.load("fashion-mnist", "train", n_per_class=400)  # 4000 images: every run stays in its first epoch
    load_before = os.getloadavg()
    gemm = {"fp32": 0.0, "bf16": 0.0}
    rows = []
    for network in networks:
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            gemm[name] = max(gemm[name], gemm_gflops(dtype))
        row = bench_network(network, ds, rounds=args.rounds, steps=args.steps, warmup=args.warmup,
                            precision=args.precision)
        rows.append(row)
        print(json.dumps({"bench": "training", **{k: round(v, 3) if isinstance(v, float) else v
                                                  for k, v in row.items()}}), flush=True)
    meta = {"threads": args.threads, "gemm_fp32_gflop_per_s": round(gemm["fp32"], 1),
            "gemm_bf16_gflop_per_s": round(gemm["bf16"], 1), "load_avg_before": load_before,
            "load_avg_after": os.getloadavg(), "cpus": os.cpu_count(), "torch": torch.__version__}
    print(json.dumps({"bench": "training_gemm", **meta}), flush=True)
    print(table(rows, gemm), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
