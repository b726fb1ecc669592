"""What the real-browser tests share: a `streamlit run app.py` server on 127.0.0.1 with its own
workspace root, and headless Debian chromium driven by Playwright (no `playwright install`).

Skips, saying why, when /usr/bin/chromium or Playwright is missing (`make browser` installs chromium).
Screenshots and server logs land in test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.helpers import REPO

ROOT = REPO
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def skip(reason: str) -> None:
    print(f"SKIP browser test: {reason}")
    pytest.skip(reason)


def require_browser() -> None:
    """Skip (with the reason) where chromium or Playwright is missing."""
    if not os.path.exists(CHROMIUM):
        skip(f"{CHROMIUM} is not installed (run `make browser` or `apt-get install chromium`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip("the playwright Python package is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(workspaces: Path, log_name: str = "streamlit-server.log", default: str = "empty",
                     env: Mapping[str, str] | None = None, timeout: float = 60.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` on 127.0.0.1 and a free port, with ``workspaces`` as its workspace root
    and ``default`` as what a first start installs (``empty`` or a shipped workspace such as
    ``faces``); yields (base URL, process) once the server answers its health check."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "CAUSAL_WORKBENCH_WORKSPACES": str(workspaces), "CAUSAL_WORKBENCH_DEFAULT": default,
             **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"streamlit did not start; see {ARTIFACTS / log_name}")
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def browser_page(width: int = 1500, height: int = 1150, timeout_ms: int = 30_000) -> Iterator[object]:
    """A Playwright page in headless chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": width, "height": height})
            pg.set_default_timeout(timeout_ms)
            yield pg
        finally:
            browser.close()


def no_exceptions(page) -> None:
    """The page shows no Python exception box."""
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()[:500]


_WATCH_STALE = """() => {
  window.__cwStale = 0;
  if (window.__cwObserver) window.__cwObserver.disconnect();
  window.__cwObserver = new MutationObserver(changes => {
    for (const c of changes) if (c.target.getAttribute('data-stale') === 'true') window.__cwStale++;
  });
  window.__cwObserver.observe(document.body, {attributes: true, subtree: true, attributeFilter: ['data-stale']});
}"""
_RERUN_DONE = """() => window.__cwStale > 0
  && !document.querySelector('[data-stale="true"]')
  && !document.querySelector('[data-testid="stSpinner"]')"""


def rerun_after(page, action, timeout_ms: float = 120_000) -> None:
    """Do ``action()`` (a click that reruns the script or a fragment) and return once that rerun has
    rendered: Streamlit marks the elements of a running script stale (``data-stale="true"``) and
    clears the mark as each is replaced, so "some element went stale, and none is stale now, and no
    spinner" means done.  Waiting for a text instead can be fooled by the previous run's copy."""
    page.evaluate(_WATCH_STALE)
    action()
    page.wait_for_function(_RERUN_DONE, timeout=timeout_ms)


def choose_option(page, box, option: str, attempts: int = 5) -> None:
    """Open the select box ``box`` and click ``option``.  A rerun in flight (the graph editor
    reporting its first drawing) can close the list before the click lands: open it again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            settle(page)
    raise AssertionError(f"could not choose {option!r}")


@contextlib.contextmanager
def screenshot_on_failure(page, name: str) -> Iterator[None]:
    """On an exception inside, save test-artifacts/<name>-failure.png (what the page showed) first."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
        raise


def settle(page, quiet_ms: int = 400, timeout_ms: float = 60_000) -> None:
    """Wait until the page has shown no stale element and no spinner for ``quiet_ms`` in a row: a
    component that reports its first value (the Graph page's React Flow editor) reruns the script
    once after load, and that rerun closes an open dropdown."""
    quiet_since = None
    deadline = time.time() + timeout_ms / 1000
    while time.time() < deadline:
        busy = page.evaluate("""() => !!document.querySelector('[data-stale="true"]')
            || !!document.querySelector('[data-testid="stSpinner"]')""")
        now = time.time()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif (now - quiet_since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the page did not settle within {timeout_ms / 1000:.0f} s")


def navigate(page, name: str, attempts: int = 3, wait_ms: float = 30_000) -> None:
    """Open page ``name`` from the sidebar navigation and wait for its heading (same text).

    Streamlit race, not ours: a custom component that reports a value while a page switch is in
    flight sends its rerun with the old page's script hash, and the server runs the old page again.
    The Graph page's editor reports its drawing each time it remounts (after every edit made with the
    other widgets), so a click right after an edit can land back on Graph.  A user clicks again; so
    do we, after the page has settled."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        settle(page)
        page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
        try:
            page.get_by_role("heading", name=name, exact=True).wait_for(timeout=wait_ms)
            return
        except PlaywrightTimeout:
            print(f"navigate: the {name} page did not open; clicking again")
            continue
    raise AssertionError(f"the {name} page did not open after {attempts} clicks on its navigation link")
