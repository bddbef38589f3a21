"""The study report in a real browser: Debian's Chromium renders `report.html`, headless, and we check what it shows.

Three looks at the same file: `chromium --headless --screenshot` (the picture must not be blank),
`chromium --headless --dump-dom` (the rendered DOM must hold the report's tables and images), and, when
the `playwright` package is installed, a page driven through Playwright with `executable_path` set to
the same Chromium, which checks that every image actually decoded (naturalWidth > 0). No browser is
downloaded: without `/usr/bin/chromium` (`apt-get install chromium`) there is nothing to check with.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def _chromium(args: list[str], profile: Path, timeout: float) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def non_blank_share(png: Path) -> float:
    """Share of pixels that differ from the page background (the most common colour) in a screenshot."""
    img = np.asarray(Image.open(png).convert("L"), dtype=np.int16)  # (H, W)
    background = np.bincount(img.ravel()).argmax()
    return float((np.abs(img - background) > 8).mean())


def dom_counts(dom: str) -> dict[str, int]:
    """Tables, images, section headings and table cells in a rendered DOM."""
    return {"tables": len(re.findall(r"<table\b", dom)), "images": len(re.findall(r"<img\b", dom)),
            "headings": len(re.findall(r"<h2\b", dom)), "cells": len(re.findall(r"<td\b", dom))}


def images_decoded(report: Path, shot: Path, timeout: float) -> dict[str, int]:
    """Through Playwright: images that decoded, images in all, and a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.resolve().as_uri(), wait_until="load", timeout=timeout * 1000)
            counts = page.evaluate("() => { const imgs = [...document.images];"
                                   " return {decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,"
                                   " total: imgs.length, tables: document.querySelectorAll('table').length}; }")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return counts


def check_report(report: str | Path, out: str | Path, timeout: float = 120) -> dict:
    """Render `report` in Chromium three ways; return counts, the screenshot's non-blank share and timings.

    Args:
        report: path of a report.html (its figures relative to it).
        out: folder for the screenshots.
        timeout: seconds per browser call.
    """
    report, out = Path(report).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    url = report.as_uri()
    result: dict = {"report": str(report)}
    with tempfile.TemporaryDirectory() as profile:
        t0 = time.perf_counter()
        shot = out / "report_screenshot.png"
        r = _chromium([f"--screenshot={shot}", "--window-size=1280,2400", "--virtual-time-budget=5000", url],
                      Path(profile), timeout)
        result["screenshot_s"] = time.perf_counter() - t0
        if not shot.exists():
            raise RuntimeError(f"chromium wrote no screenshot (exit {r.returncode}):\n{r.stderr[-2000:]}")
        result["non_blank_share"] = non_blank_share(shot)
        t0 = time.perf_counter()
        r = _chromium(["--dump-dom", "--virtual-time-budget=5000", url], Path(profile), timeout)
        result["dump_dom_s"] = time.perf_counter() - t0
        result["dom"] = dom_counts(r.stdout)
    try:
        t0 = time.perf_counter()
        result["playwright"] = images_decoded(report, out / "report_full_page.png", timeout)
        result["playwright_s"] = time.perf_counter() - t0
    except ImportError:
        result["playwright"] = None
    return result
