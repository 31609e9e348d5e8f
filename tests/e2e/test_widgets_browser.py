"""Real-browser tests: JupyterLab + headless Chromium run notebooks 00 and 03-06 and drive every widget.

One JupyterLab server (fast mode) serves temporary copies of the notebooks (JupyterLab saves outputs into what it
opens): 00 as students get it, 03-06 from solutions/ (their exercises filled in). For each notebook the test
runs all cells from the menu, waits until no cell is left queued, checks that no cell raised, then works each
widget's controls as a student would (slider keys, dropdowns, toggle buttons, check boxes, buttons, uploads)
and, after every redraw:
- the picture changed (its blob URL is replaced),
- the picture kept its on-screen size and its place inside the widget,
- the status line fits its box (no text cut or running outside),
- no Python object repr (``<... object at 0x...>``) reaches the screen.
It saves a screenshot of each widget under ``build/e2e/`` and the redraw times seen in the browser
(control changed -> new picture on screen) in ``build/e2e/redraw_ms.json``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
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
NOTEBOOKS = {"00_welcome": config.NOTEBOOKS_DIR, "03_dcgan_faces": config.SOLUTIONS_DIR,
             "04_conditional_gan": config.SOLUTIONS_DIR, "05_makeup_transfer": config.SOLUTIONS_DIR,
             "06_evaluation_fairness": config.SOLUTIONS_DIR}
SHOTS = config.build_dir("e2e")
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen
MAX_HEIGHT = 620  # CSS pixels: a widget must fit a 1280 x 800 screen below JupyterLab's bars
TIMINGS: dict[str, list[float]] = {}


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


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """Start one JupyterLab on a free local port over temp copies of the notebooks; yield its URL."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    for name, folder in NOTEBOOKS.items():
        shutil.copy(folder / f"{name}.ipynb", root / f"{name}.ipynb")
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # Without this, a "get notified about news" pop-up covers the page.
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell (JupyterLab 4 detaches cells scrolled out of view by default, which reorders the widgets
    # a locator finds).
    tracker = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), COURSE_FAST="1", MPLBACKEND="Agg")
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.token=", "--ServerApp.password=",
           "--ServerApp.ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
           "--ServerApp.disable_check_xsrf=True"]  # local, tokenless: lets the test stop kernels over the REST API
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "jupyter.log", "w")
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
        _save_timings()


def _save_timings() -> None:
    """Add this process's redraw times to build/e2e/redraw_ms.json (each xdist worker runs some notebooks)."""
    path = SHOTS / "redraw_ms.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    for key, values in TIMINGS.items():
        saved[key] = {"ms": values, "median_ms": statistics.median(values) if values else None}
    path.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not found: `make test` installs it (apt), or set CHROMIUM=/path/to/chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras: pip install -e '.[test]'")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def _shutdown_kernels(url: str) -> None:
    """Stop every kernel the server runs (the next notebook gets the two cores to itself)."""
    with urllib.request.urlopen(url + "api/kernels", timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(url + f"api/kernels/{k['id']}", method="DELETE")
        urllib.request.urlopen(req, timeout=10).close()


class Notebook:
    """A notebook opened in JupyterLab and run top to bottom."""

    def __init__(self, browser, url: str, name: str):
        self.url, self.name = url, name
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})

    def run_all(self, timeout_s: float = 240) -> None:
        page = self.page
        # A workspace of its own, reset: only this notebook is open (a restored tab would add its cells).
        page.goto(self.url + f"lab/workspaces/{self.name}/tree/{self.name}.ipynb?reset")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=60_000)
        # The execution indicator says "idle" before a kernel exists: wait for the status bar to name it.
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /ipykernel\\) \\| Idle/.test(e.textContent))",
            timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        # Every code cell has a number and none is queued ("[*]"): the whole notebook ran. A cell that raised
        # stops the rest (they keep an empty prompt): stop waiting then, and report it.
        page.wait_for_function(
            """panel => { const p = [...document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputPrompt')];
                          const raised = [...document.querySelectorAll(panel + ' .jp-OutputArea-output')]
                                         .some(e => e.textContent.includes('Traceback'));
                          return raised || (p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent))); }""",
            arg=PANEL, timeout=timeout_s * 1000)
        errors = page.locator(f"{PANEL} .jp-OutputArea-output >> text=Traceback")
        assert errors.count() == 0, f"{self.name}: a cell raised an exception in the browser: {errors.first.inner_text()[:2000]}"

    def widget(self, index: int = 0) -> "Widget":
        """The index-th course widget on the page (each has one status line)."""
        status = self.page.locator(f"{PANEL} .course-status").nth(index)
        status.wait_for(state="attached", timeout=30_000)
        box = status.locator("xpath=..")  # the widget's outer VBox
        return Widget(self, box, status, f"{self.name}-{index}")

    def close(self) -> None:
        self.page.close()
        _shutdown_kernels(self.url)


class Widget:
    """One widget on the page: its box, its status line and its main picture."""

    def __init__(self, nb: Notebook, box, status, key: str):
        self.nb, self.page, self.box, self.status, self.key = nb, nb.page, box, status, key
        self.picture = box.locator("img").first
        self.picture.wait_for(state="visible", timeout=30_000)
        self.box.scroll_into_view_if_needed()
        self.place = self._place()
        TIMINGS.setdefault(key, [])
        # The page's own clock notes when the picture's src first changed after an action (a redraw reached the screen).
        self.picture.evaluate("""el => new MutationObserver(() => { el.__changedAt ??= performance.now(); })
                                      .observe(el, {attributes: true, attributeFilter: ['src']})""")

    def _place(self) -> tuple[float, float, float, float]:
        """The picture's position inside the widget's box, and its size (CSS pixels)."""
        box, pic = self.box.bounding_box(), self.picture.bounding_box()
        return (round(pic["x"] - box["x"], 1), round(pic["y"] - box["y"], 1), round(pic["width"], 1), round(pic["height"], 1))

    def control(self, kind: str, label: str):
        """A control by its kind (a CSS class such as widget-dropdown) and its description text."""
        return self.box.locator(f".{kind}", has=self.page.get_by_text(label, exact=True)).first

    def act(self, what: str, action, expect_status: str | None = None, picture_changes: bool = True,
            timeout_s: float = 30) -> str:
        """Do ``action``, wait for the redraw (new picture and/or status), check the layout; return the status text."""
        old_src = self.picture.get_attribute("src")
        old_status = self.status.text_content()
        t0 = self.picture.evaluate("el => { el.__changedAt = undefined; return performance.now(); }")
        action()
        if picture_changes:
            self.page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",
                                        arg=[self.picture.element_handle(), old_src], timeout=timeout_s * 1000)
            # From the control's event to the new picture, on the page's clock (the first of the redraws it caused).
            TIMINGS[self.key].append(round(self.picture.evaluate("el => el.__changedAt") - t0, 1))
        if expect_status is not None:
            self.page.wait_for_function("([el, want]) => el.textContent.includes(want)",
                                        arg=[self.status.element_handle(), expect_status], timeout=timeout_s * 1000)
        elif not picture_changes:
            self.page.wait_for_function("([el, old]) => el.textContent !== old",
                                        arg=[self.status.element_handle(), old_status], timeout=timeout_s * 1000)
        self.page.wait_for_timeout(50)  # let the layout settle
        self.check_layout(what)
        return self.status.text_content()

    # The controls as a student works them; each returns an action for ``act``.
    def select(self, label: str, option: str | None = None, index: int | None = None):
        select = self.control("widget-dropdown", label).locator("select")
        return lambda: select.select_option(option) if index is None else select.select_option(index=index)

    def toggle(self, label: str, option: str):
        return lambda: self.control("widget-toggle-buttons", label).locator("button", has_text=option).click()

    def slide(self, label: str, key: str, times: int = 1):
        return _press(self.control("widget-slider", label).locator(".noUi-handle"), key, times)

    def tick(self, label: str, on: bool):
        box = self.control("widget-checkbox", label).locator("input")
        return box.check if on else box.uncheck

    def press(self, button: str):
        return lambda: self.box.locator("button", has_text=button).click()

    def wait_status(self, text: str, timeout_s: float = 10) -> None:
        try:
            self.page.wait_for_function("([el, want]) => el.textContent.includes(want)",
                                        arg=[self.status.element_handle(), text], timeout=timeout_s * 1000)
        except Exception as err:
            raise AssertionError(f"{self.key}: status {self.status.text_content()!r} never read {text!r}") from err

    def check_layout(self, what: str) -> None:
        assert self._place() == self.place, f"{self.key}, after {what}: the picture moved or changed size " \
                                            f"({self.place} -> {self._place()})"
        fit = self.picture.evaluate("el => getComputedStyle(el).objectFit")
        assert fit == "contain", f"{self.key}: the picture is drawn with object-fit {fit!r}, which can distort it"
        height = self.box.bounding_box()["height"]
        assert height <= MAX_HEIGHT, f"{self.key}, after {what}: the widget is {height:.0f} px tall; on a 1280 x 800 " \
                                     f"screen it must fit in {MAX_HEIGHT} px with the notebook's own bars"
        sizes = self.status.evaluate(
            """el => { const b = el.getBoundingClientRect(), w = el.closest('.widget-vbox').getBoundingClientRect();
                       return {scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, scrollHeight: el.scrollHeight,
                               clientHeight: el.clientHeight, right: b.right, boxRight: w.right,
                               whiteSpace: getComputedStyle(el).whiteSpace}; }""")
        fits = (sizes["scrollWidth"] <= sizes["clientWidth"] + 1 and sizes["scrollHeight"] <= sizes["clientHeight"] + 1
                and sizes["right"] <= sizes["boxRight"] + 1)
        assert fits, f"{self.key}, after {what}: the status text overflows its box: {self.status.text_content()!r} {sizes}"
        text = self.box.inner_text()
        assert " object at 0x" not in text, f"{self.key}, after {what}: a Python repr is on screen: {text[:500]!r}"

    def screenshot(self, name: str) -> None:
        self.box.screenshot(path=str(SHOTS / f"{name}.png"))


def _press(handle, key: str, times: int = 1):
    def act():
        handle.focus()
        for _ in range(times):
            handle.press(key)
    return act


@contextlib.contextmanager
def opened(browser, url: str, name: str):
    """Open ``name`` in JupyterLab, run all its cells, yield it; on failure save a screenshot of the whole page."""
    nb = Notebook(browser, url, name)
    try:
        nb.run_all()
        yield nb
    except Exception:
        nb.page.screenshot(path=str(SHOTS / f"{name}-failure.png"), full_page=True)
        raise
    finally:
        nb.close()


class TestNotebook00:  # a class each: xdist (--dist loadscope) may give the notebooks to both workers
    def test_00_welcome_slider_and_face_explorer(self, lab_server, browser):
        with opened(browser, lab_server, "00_welcome") as nb:
            w = nb.widget(0)
            assert w.status.text_content() == "slider at 0.0: redrawn"
            handle = w.box.locator(".noUi-handle").first
            w.act("three right-arrow presses", _press(handle, "ArrowRight", 3), expect_status="slider at 0.3: redrawn")
            w.screenshot("00_welcome_slider")
            e = nb.widget(1)
            e.act("lipstick -> plum", e.select("lipstick", "plum"), expect_status="lipstick #6a1f48")
            e.act("finish -> gloss", e.toggle("finish", "gloss"), expect_status="gloss")
            e.act("skin tone slider", e.slide("skin tone", "ArrowRight", 2), expect_status="tone 6.0")
            e.screenshot("00_welcome_explorer")


class TestNotebook03:  # a class each: xdist (--dist loadscope) may give the notebooks to both workers
    def test_03_noise_sliders(self, lab_server, browser):
        with opened(browser, lab_server, "03_dcgan_faces") as nb:
            w = nb.widget(0)
            w.wait_status("face 3: centre")  # as it opened (the notebook moves a twin of it, not this one)
            w.act("direction 1 slider", w.slide("direction 1", "ArrowRight", 2), expect_status="pc1=+0.50")
            w.act("z[1] slider", w.slide("z[1] +", "ArrowLeft"), expect_status="z1=-0.25")
            w.act("new face", w.press("new face"), expect_status="face 4:")
            w.screenshot("03_noise_sliders")


class TestNotebook04:  # a class each: xdist (--dist loadscope) may give the notebooks to both workers
    def test_04_style_sliders(self, lab_server, browser):
        with opened(browser, lab_server, "04_conditional_gan") as nb:
            w = nb.widget(0)
            assert "lipstick read back as" in w.status.text_content()  # the read-back is on screen, whole
            w.act("lipstick -> plum", w.select("lipstick", "plum"), expect_status="lipstick #6a1f48")
            for finish in ("gloss", "matte"):
                w.act(f"finish -> {finish}", w.toggle("finish", finish), expect_status=finish)
            w.act("eyeshadow -> a shade", w.select("eyeshadow", index=2), expect_status="eyeshadow")
            w.act("eyeliner on", w.tick("eyeliner", True), expect_status="eyeliner")
            w.act("intensity slider", w.slide("intensity", "ArrowLeft", 2))
            w.act("new face", w.press("new face"), expect_status="face 5:")
            assert "dE2000" in w.status.text_content()
            w.screenshot("04_style_sliders")


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 150, 120)).save(buf, format="PNG")
    return buf.getvalue()


class TestNotebook05:  # a class each: xdist (--dist loadscope) may give the notebooks to both workers
    def test_05_tryon_studio(self, lab_server, browser):
        with opened(browser, lab_server, "05_makeup_transfer") as nb:
            w = nb.widget(0)
            assert "redrawn in" in w.status.text_content()
            # The innermost row holding the "reference:" label (the outer rows hold it too).
            ref_row = w.box.locator(".widget-hbox", has=w.page.get_by_text("reference:", exact=True)).last
            assert ref_row.count() == 1 and "reference:" in ref_row.text_content()
            assert not ref_row.is_visible(), "the reference thumbnail shows in shade mode"
            w.act("lipstick -> plum", w.select("lipstick", "plum"), expect_status="redrawn in")
            w.act("split slider", w.slide("before|after", "ArrowRight", 5), expect_status="redrawn in")
            # No blush is chosen, so the picture stays the same: only the status says the region is off.
            w.act("cheeks off", w.tick("cheeks", False), expect_status="regions: lips, eyes |", picture_changes=False)
            w.screenshot("05_studio_shade")
            w.act("source -> astronaut", w.select("source", "astronaut"), expect_status="redrawn in", timeout_s=60)
            # The split shows "before" over the astronaut's face (left of 0.6): the picture may stay the same.
            w.act("mode -> reference", w.toggle("try on", "reference"), expect_status="makeup of reference face", picture_changes=False)
            w.act("split slider to the left", w.slide("before|after", "ArrowLeft", 20), expect_status="makeup of reference face")
            ref_row.wait_for(state="visible", timeout=5_000)  # the reference thumbnail shows in reference mode
            w.screenshot("05_studio_reference_portrait")
            button = w.box.locator("button", has_text="upload photo")

            def upload(name: str, mime: str, data: bytes):
                def act():  # as a student does: press the button, pick a file in the dialog
                    with w.page.expect_file_chooser() as chooser:
                        button.click()
                    chooser.value.set_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
                return act

            w.act("a .txt upload", upload("notes.txt", "text/plain", b"not a photo\n"), expect_status="cannot read the upload")
            assert "course-error" in (w.status.get_attribute("class") or "")
            w.screenshot("05_studio_bad_upload")
            # After the failed upload the pane is blank, and a flat colour has no face to find either: the status
            # changes, the picture may not.
            w.act("a PNG upload", upload("face.png", "image/png", _png(200, 240)), picture_changes=False, timeout_s=60)
            shown = w.status.text_content()
            assert w.control("widget-dropdown", "source").locator("select").input_value() == "upload"
            # A flat colour has no face: the studio must say so and clear the picture, not show the last result.
            assert "redrawn in" in shown or ("cannot try on" in shown and "course-error" in (w.status.get_attribute("class") or "")), shown
            w.screenshot("05_studio_upload")


class TestNotebook06:  # a class each: xdist (--dist loadscope) may give the notebooks to both workers
    def test_06_audit_explorer(self, lab_server, browser):
        with opened(browser, lab_server, "06_evaluation_fairness") as nb:
            w = nb.widget(0)
            assert w.status.text_content().startswith("deep:"), w.status.text_content()
            natural = w.picture.evaluate("el => [el.naturalWidth, el.naturalHeight, el.clientWidth, el.clientHeight]")
            assert natural[:2] == natural[2:], f"the audit figure is scaled on screen (PNG and pane differ): {natural}"
            w.status.evaluate("""el => { window.__statuses = [];
                new MutationObserver(() => window.__statuses.push(el.textContent)).observe(el, {childList: true, subtree: true, characterData: true}); }""")
            for group in ("light", "medium"):
                w.act(f"group -> {group}", w.select("skin tones", group), expect_status=f"{group}: share of faces", timeout_s=60)
            seen = w.page.evaluate("window.__statuses")
            assert any(s.startswith("drawing the light group") for s in seen), f"no busy message before the redraw: {seen}"
            w.screenshot("06_audit_explorer")
