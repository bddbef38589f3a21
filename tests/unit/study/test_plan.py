"""The study plan's GAN jobs: the three conditional GANs on one budget, all read by the GAN table."""
import pytest

from labkit.study.plan import GAN_COMPARED, GAN_CONDITIONAL, GAN_MAIN, SIZES, plan
from labkit.train.gan import UNCONDITIONAL, VARIANTS


def test_the_conditional_gans_are_conditional_variants():
    assert GAN_MAIN == GAN_CONDITIONAL[0] and len(set(GAN_CONDITIONAL)) == 3
    assert all(VARIANTS[v].model.conditioning != "none" for v in GAN_CONDITIONAL)
    assert set(GAN_COMPARED) == set(UNCONDITIONAL)


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_conditional_gans_train_on_one_budget_and_the_gan_table_reads_them_all(preset):
    jobs = {j.id: j for j in plan(preset)}
    steps = {v: jobs[f"03_train_gan-{v}"].params["steps"] for v in (*GAN_CONDITIONAL, *GAN_COMPARED)}
    assert {steps[v] for v in GAN_CONDITIONAL} == {SIZES[preset]["03_train_gan"]["steps"]}
    assert {steps[v] for v in GAN_COMPARED} == {SIZES[preset]["03_train_gan"]["compare_steps"]}
    assert all(jobs[f"03_train_gan-{v}"].params["variant"] == v for v in steps)
    table = jobs["04_evaluate-gans"]
    assert set(table.inputs["gan_checkpoints"]) == set(steps) == set(table.inputs["convergence_paths"])
    assert {f"03_train_gan-{v}" for v in steps} <= table.upstream()
    # notebooks 05 and 06 keep ACGAN, the main conditional GAN
    assert jobs["06_validate_metrics"].inputs["generator_path"][0] == f"03_train_gan-{GAN_MAIN}"
    order = list(jobs)
    assert all(order.index(f"03_train_gan-{v}") < order.index("04_evaluate-gans") for v in steps)


def test_smoke_plan_has_every_gan_job():
    ids = {j.id for j in plan("smoke")}
    assert {f"03_train_gan-{v}" for v in (*GAN_CONDITIONAL, *GAN_COMPARED)} <= ids
