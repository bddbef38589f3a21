"""Report sections of seed 003's points measured by notebook 02: the KL term during training and MSE against SSIM
as similarity, each a `PaperTable` (None when the study has no such records)."""
from __future__ import annotations

import math

import pandas as pd

from ..core.record import format_mean_std
from .paper_tables import PaperTable

KL_SECTION, MSE_SECTION = "KL term during training (seed 003)", "MSE against SSIM as similarity (seed 003)"


def _experiment(records: pd.DataFrame, experiment: str) -> pd.DataFrame:
    if records.empty or "experiment" not in records:
        return pd.DataFrame()
    return records[records["experiment"] == experiment]


def kl_trend_table(records: pd.DataFrame) -> PaperTable | None:
    """One row per trained VAE: KL window means (first, lowest, last), the relative rise and the flag."""
    df = _experiment(records, "kl_trend")
    df = df[df["metric"] == "kl_rise"].drop_duplicates("run", keep="last") if not df.empty else df
    if df.empty:
        return None
    table = pd.DataFrame({
        "run": df["run"].astype(str), "variant": df.get("variant", pd.Series("", index=df.index)).astype(str),
        "KL first": [format_mean_std(v) for v in df["first"]], "KL lowest": [format_mean_std(v) for v in df["lowest"]],
        "at step": df["lowest_step"].astype(int).astype(str), "KL last": [format_mean_std(v) for v in df["last"]],
        "rise": [f"{v:+.1%}" for v in df["value"]],
        "KL rose": ["yes" if r in (True, "True", 1) else "no" for r in df["rises"]],
        "windows": df["windows"].astype(int).astype(str)}).reset_index(drop=True)
    margin = float(df["margin"].iloc[0])
    return PaperTable(
        KL_SECTION, table,
        "Seed 003 (a plain VAE on CelebA, latent 128) reports that its KL term rose during training on every better "
        "architecture and then levelled off (final KL about 55 nats), where one would expect it to fall at least "
        "for a while. Ours: each VAE's logged KL values (nats per image, training batches) cut into consecutive "
        f"windows; the KL rose when the last window's mean exceeds the lowest window mean by more than {margin:.0%}. "
        "A rise is the usual picture of a VAE learning to use its latents (the KL falls while the decoder ignores "
        "z, then grows with the information z carries). Our data are Fashion-MNIST, not faces, so the levels "
        "are not comparable with the seed's 55 nats, only the direction.",
        (("KL first / lowest / last", "mean KL (nats per image) of the first, the lowest and the last window"),
         ("at step", "the last logged step of the lowest window"),
         ("rise", "KL last / KL lowest − 1"), ("KL rose", f"rise above {margin:.0%}"),
         ("windows", "windows the logged steps were cut into (at most 10; fewer when fewer steps were logged)")),
        tuple(f"{run}/losses.png" for run in table["run"]))


def mse_ssim_table(records: pd.DataFrame) -> PaperTable | None:
    """One row per distortion of the equal-MSE demonstration (the first run that holds it)."""
    df = _experiment(records, "mse_vs_ssim")
    if df.empty:
        return None
    run = _shown_run(df)
    df = df[df["run"] == run].drop_duplicates(["metric", "distortion"], keep="last")
    rows = df[df["metric"].isin(["distortion_mse", "distortion_ssim", "distortion_ssim_gaussian"])]
    cells = {(r.distortion, r.metric): format_mean_std(r.value, r.std) for r in rows.itertuples()}
    kinds = list(dict.fromkeys(rows["distortion"]))
    strength = rows.drop_duplicates("distortion").set_index("distortion")["strength"]
    table = pd.DataFrame({"distortion": kinds, "strength": [f"{strength[k]:.3g}" for k in kinds],
                          "MSE": [cells.get((k, "distortion_mse"), "") for k in kinds],
                          "SSIM": [cells.get((k, "distortion_ssim"), "") for k in kinds],
                          "SSIM (Gaussian)": [cells.get((k, "distortion_ssim_gaussian"), "") for k in kinds]})
    first = df.iloc[0]
    ssim = rows[rows["metric"] == "distortion_ssim"].set_index("distortion")["value"]
    high, low = ssim.idxmax(), ssim.idxmin()
    return PaperTable(
        MSE_SECTION, table,
        "Seed 003 argues, with Wang & Bovik's figure (one photograph distorted six ways to MSE 144 on the 8-bit "
        "scale, SSIM from 0.99 for a mean shift to 0.66 for JPEG), that a lower MSE does not mean a more similar "
        f"image. Ours: {int(first['n'])} {first.get('dataset', '')} test images, each distorted four ways with the "
        f"strength found per image so that its MSE is {float(first['target_mse']):.4g} (144 / 255²); SSIM is "
        "scikit-image's (7×7 window, data range 1), the reconstruction SSIM of notebook 02, and beside it Wang et al.'s "
        "Gaussian-window SSIM, the paper figure's. At equal MSE, SSIM "
        f"ranges from {ssim[high]:.3f} ({high}) to {ssim[low]:.3f} ({low}): the pair where the two measures disagree. "
        "The paper's photograph keeps SSIM near 1 under a mean shift; on images with black backgrounds "
        "(Fashion-MNIST) a shift moves SSIM's luminance term a lot, so there it need not. "
        f"Figure from {run}.",
        (("strength", "mean over images of the distortion's parameter found by bisection: shift, stretch factor − 1, "
                      "noise std, or blur sigma in pixels"),
         ("MSE", "mean ± std over images of the pixel MSE (images in [0, 1]): equal by construction"),
         ("SSIM", "mean ± std over images of SSIM to the original (1 = identical), scikit-image's 7×7 uniform window"),
         ("SSIM (Gaussian)", "the same with Wang et al.'s (2004) 11×11 Gaussian window (σ 1.5), the SSIM of the "
                             "paper's figure; empty for images under 11 pixels")),
        (f"{run}/mse_vs_ssim.png",))


def vae_tables(records: pd.DataFrame) -> list[PaperTable]:
    """Seed 003's sections that the study's records hold."""
    return [t for t in (kl_trend_table(records), mse_ssim_table(records)) if t is not None]


def _shown_run(df: pd.DataFrame) -> str:
    """The run whose equal-MSE table is shown: the plain VAE's if any (each run distorts the same images)."""
    return sorted(df["run"].astype(str).unique(), key=lambda r: (not r.endswith("plain"), r))[0]


def _rises(v) -> bool:
    return v in (True, "True", 1)


def findings(records: pd.DataFrame) -> list[tuple]:
    """Seed 003's two claims the study measures, as findings rows (seed, claim, measured, verdict, section)."""
    out = []
    kl = _experiment(records, "kl_trend")
    kl = kl[kl["metric"] == "kl_rise"].drop_duplicates("run", keep="last") if not kl.empty else kl
    if not kl.empty:
        each = ", ".join(f"{r.variant} {r.value:+.0%}" for r in kl.itertuples())
        plain = kl[kl["variant"].astype(str) == "plain"]
        shown = plain if not plain.empty else kl  # the seed's model is a plain VAE
        verdict = "holds" if all(_rises(v) for v in shown["rises"]) else "does not hold"
        out.append(("003", "The KL term rises during training (plain VAE)",
                    f"last KL window over the lowest: {each}", verdict, KL_SECTION))
    ssim = _experiment(records, "mse_vs_ssim")
    ssim = ssim[ssim["metric"] == "distortion_ssim"] if not ssim.empty else ssim
    if len(ssim) > 1:
        ssim = ssim[ssim["run"].astype(str) == _shown_run(ssim)].drop_duplicates("distortion", keep="last")
        v = ssim.set_index("distortion")
        high, low = v["value"].idxmax(), v["value"].idxmin()
        gap = v.at[high, "value"] - v.at[low, "value"]
        spread = math.hypot(v.at[high, "std"], v.at[low, "std"])  # over images: stricter than the means' error
        out.append(("003", "Equal MSE does not mean equal similarity: SSIM tells equal-MSE distortions apart",
                    f"at one MSE, SSIM {v.at[high, 'value']:.3f} ({high}) vs {v.at[low, 'value']:.3f} ({low})",
                    "holds" if gap > spread else "does not hold (within the images' spread)", MSE_SECTION))
    return out
