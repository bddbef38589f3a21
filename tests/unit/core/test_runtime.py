"""Atomic writes, device choice, seeding."""
import pytest
import torch

from labkit.core import runtime


def test_atomic_save_failure_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    runtime.atomic_save({"w": torch.ones(3)}, path)

    def dying_save(obj, f):  # writes half a file, then the process "dies"
        f.write(b"PK\x03\x04 half written")
        raise KeyboardInterrupt("killed midway")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        runtime.atomic_save({"w": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path)["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left behind


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    """"auto" follows what the machine offers (faked here, so the test means something without a GPU)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert runtime.pick_device("auto") == torch.device(expected)
    assert runtime.pick_device("cpu") == torch.device("cpu")  # a named device is taken as given
    assert runtime.pick_device(torch.device("cpu")) == torch.device("cpu")


def test_seed_everything_repeats_draws():
    runtime.seed_everything(3)
    a = torch.rand(4)
    runtime.seed_everything(3)
    assert torch.equal(a, torch.rand(4))


def test_progress_quiet_when_disabled(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert runtime.progress_enabled(None) is False
    assert runtime.progress_enabled(True) is True


@pytest.mark.parametrize("native", [True, False])
def test_precision_auto_follows_the_hardware_and_fp32_bf16_are_forced(monkeypatch, native):
    monkeypatch.setattr(runtime, "_cpu_has_native_bf16", lambda: native)
    assert runtime.uses_bf16("cpu", "auto") is native
    assert runtime.uses_bf16("cpu", "bf16") and not runtime.uses_bf16("cpu", "fp32")
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with runtime.training_autocast("cpu", "auto"):
        assert (a @ b).dtype == (torch.bfloat16 if native else torch.float32)
    with runtime.training_autocast("cpu", "fp32"):
        assert (a @ b).dtype == torch.float32


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        runtime.uses_bf16("cpu", "fp16")
