"""Real-browser test: JupyterLab + headless Chromium run the welcome notebook and move its slider.

It serves a temporary copy of ``notebooks/00_welcome.ipynb`` (JupyterLab saves outputs into what it opens),
runs all cells from the menu, presses the right-arrow key on the slider three times, waits for the status
label's final text and saves a screenshot of the widget under ``build/e2e/``. Server and browser are
stopped through the handles this test started.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from course_lib import config

pytestmark = pytest.mark.e2e

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "api/status", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer at {url} within {timeout} s")


@pytest.fixture
def lab_server(tmp_path):
    """Start JupyterLab on a free local port over a temp copy of the welcome notebook; yield its URL."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(config.NOTEBOOKS_DIR / "00_welcome.ipynb", root / "00_welcome.ipynb")
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # Without this, a "get notified about news" pop-up covers the page.
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               COURSE_FAST="1", MPLBACKEND="Agg")
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.token=", "--ServerApp.password=",
           "--ServerApp.ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "jupyter.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_server(url, proc)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_welcome_notebook_runs_and_its_slider_redraws(lab_server, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not found: `make test` installs it (apt), or set CHROMIUM=/path/to/chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras: pip install -e '.[test]'")

    shot = config.build_dir("e2e") / "welcome_widget.png"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(lab_server + "lab/tree/00_welcome.ipynb")
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=60_000)
            # The execution indicator says "idle" before a kernel exists: wait for the status bar to name it.
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /ipykernel\\) \\| Idle/.test(e.textContent))",
                timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-label')].some(e => e.textContent === 'slider at 0.0: redrawn')",
                timeout=120_000)
            # Let the whole notebook finish (no cell left waiting, "[*]") before touching the slider: a later cell
            # sets the slider itself (to 0.5, then back to 0.0), and a key pressed while it was still queued raced
            # with it (the slider ended at 0.2 once in a loaded run).
            page.wait_for_function(
                "() => ![...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))",
                timeout=240_000)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] >> text=Traceback")
            assert errors.count() == 0, "a cell raised an exception in the browser"
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.focus()
            for _ in range(3):
                handle.press("ArrowRight")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-label')].some(e => e.textContent === 'slider at 0.3: redrawn')",
                timeout=60_000)
            box = page.locator(".widget-vbox", has=page.locator(".widget-slider")).first
            box.screenshot(path=str(shot))
        except Exception:
            page.screenshot(path=str(shot.with_name("failure.png")))  # the whole page, to see what went wrong
            raise
        finally:
            browser.close()
    assert shot.stat().st_size > 1000
