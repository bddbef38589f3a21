"""Real browser: JupyterLab on a free port, Debian's Chromium driven by Playwright, the slider notebook run,
a slider dragged and the explorer's image checked to have changed; the model and direction-set dropdowns
swap the sliders, and every label is shown in full. Opt in with `-m ui`.

Needs `/usr/bin/chromium` (Debian package `chromium`) and the `playwright` Python package; no browser
is downloaded. Each test gets its own notebook copy, server, port, token and settings directories.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import torch

pytestmark = pytest.mark.ui

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(tmp: Path) -> Path:
    """Tiny 8×8 checkpoints and a copy of notebook 07 with its parameters set after the parameters cell.

    The second model (notebook parameter `gan`) is a second VAE with another latent size: an untrained GAN
    draws too few classes for the notebook's class directions, and the UI only needs a second model.
    """
    from labkit.models.checkpoint import save_models
    from labkit.models.classifier import Classifier, ClassifierConfig
    from labkit.models.vae import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_size=8, latent_dim=4, widths=(8, 16), encoder_dense=(32,), decoder_dense=(32,)))
    clf = Classifier(ClassifierConfig(image_size=8, widths=(8, 16), feature_dim=32))
    save_models(tmp / "vae.pt", {"model": vae})
    other = VAE(VAEConfig(image_size=8, latent_dim=6, widths=(8,), encoder_dense=(16,), decoder_dense=(16,)))
    save_models(tmp / "other.pt", {"model": other})
    save_models(tmp / "clf.pt", {"model": clf})
    nb = nbformat.read(ROOT / "notebooks" / "07_latent_sliders.ipynb", as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    params = dict(SMOKE=True, vae=str(tmp / "vae.pt"), gan=str(tmp / "other.pt"), classifier_path=str(tmp / "clf.pt"),
                  dataset="digits",
                  run_dir=str(tmp / "run"), device="cpu")
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items())))
    path = tmp / "sliders.ipynb"
    nbformat.write(nb, path)
    return path


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                json.load(r)
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a free local port with a random token, rooted at tmp_path; yields (base_url, token)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "PYTHONPATH": str(ROOT), "LABKIT_OFFLINE": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI runners often run as root
        cmd.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait_for_server(f"{base}/api/status?token={token}", proc)
        except (RuntimeError, TimeoutError) as e:
            log.flush()
            raise RuntimeError(f"{e}; server log:\n{(tmp_path / 'lab.log').read_text()[-3000:]}") from e
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp_path / "rt", ignore_errors=True)


def test_slider_moves_image_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token = lab
    nb = _prepare(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{nb.name}?token={token}")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=120_000)
            page.wait_for_function("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                                   " === 'idle'", timeout=120_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            image = page.locator(".widget-image").first
            image.wait_for(state="visible", timeout=300_000)
            before = image.get_attribute("src")
            assert before and before.startswith(("data:image/png", "blob:"))
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.scroll_into_view_if_needed()
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            page.wait_for_function("([sel, old]) => { const el = document.querySelector(sel);"
                                   " return el && el.getAttribute('src') !== old; }",
                                   arg=[".widget-image", before], timeout=60_000)
            assert image.get_attribute("src") != before
            readout = page.locator(".widget-slider .widget-readout").first.inner_text()
            assert float(readout) != 0.0
            _check_dropdowns_and_labels(page)
        finally:
            browser.close()


_SLIDERS = ".widget-slider"
_LABELS = ".widget-html div[title]"


def _wait_count(page, selector: str, n: int) -> None:
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[selector, n],
                           timeout=60_000)


def _labels_in_full(page) -> list[str]:
    """Every slider label's text, after checking it equals its full name and nothing of it is clipped."""
    shown = page.eval_on_selector_all(_LABELS, "els => els.map(e => [e.innerText, e.title,"
                                               " e.scrollWidth <= e.clientWidth + 1, e.offsetHeight > 0])")
    assert shown and all(text == title and fits and visible for text, title, fits, visible in shown), shown
    return [text for text, *_ in shown]


def _options(select) -> list[str]:
    return [t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()]  # widgets show spaces as nbsp


def _pick(select, text: str) -> None:
    select.select_option(index=_options(select).index(text))


def _check_dropdowns_and_labels(page) -> None:
    """Model and direction-set dropdowns: every set of every model reachable, sliders swapped, labels whole."""
    model, kind = page.locator(".widget-dropdown select").nth(0), page.locator(".widget-dropdown select").nth(1)
    assert _options(model) == ["vae", "gan"]
    assert _options(kind) == ["class", "class probability", "attribute", "SeFa", "PCA"]
    _wait_count(page, _SLIDERS, 10)  # one class direction per digit
    assert _labels_in_full(page) == [f"class: {k}" for k in range(10)]
    _pick(kind, "SeFa")
    _wait_count(page, _SLIDERS, 2)  # the smoke preset keeps 2 SeFa directions
    labels = _labels_in_full(page)
    assert all(label.startswith(f"SeFa {i + 1} (") and len(label) > 14 for i, label in enumerate(labels)), labels
    before = page.locator(".widget-image").first.get_attribute("src")
    _pick(model, "gan")  # the second model: its own latents, the same set kept
    page.wait_for_function("([sel, old]) => document.querySelector(sel).getAttribute('src') !== old",
                           arg=[".widget-image", before], timeout=60_000)
    assert _options(kind)[kind.evaluate("e => e.selectedIndex")] == "SeFa" and page.locator(_SLIDERS).count() == 2
    _pick(kind, "class probability")
    _wait_count(page, _SLIDERS, 10)
    assert [label.split(",")[0] for label in _labels_in_full(page)] == [f"p({k})" for k in range(10)]
    ratio = page.eval_on_selector(".widget-image", "e => [e.naturalWidth / e.naturalHeight,"
                                                   " e.clientWidth / e.clientHeight]")
    assert abs(ratio[0] - ratio[1]) < 0.02 * ratio[0], ratio  # ten slider rows do not stretch the image
