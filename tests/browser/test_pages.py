"""End to end in a real browser: Debian chromium driven by Playwright against `streamlit run app.py`.

Skips, saying why, when /usr/bin/chromium or Playwright is missing (`make browser` installs chromium).
Screenshots land in test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import pytest

from tests.browser.support import ARTIFACTS, browser_page, navigate, require_browser, streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app.py` on 127.0.0.1 and a free port, with an empty workspace folder (the session
    must not restore a graph saved by an earlier run); yields the base URL."""
    require_browser()
    with streamlit_server(tmp_path_factory.mktemp("workspaces"), default="empty") as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(server):
    with browser_page() as pg:
        yield pg


def _drawn(page, index: int = 0) -> None:
    """Wait until the index-th graph iframe has drawn its vis-network canvas."""
    frame = page.frame_locator("iframe").nth(index)
    frame.locator('#net[data-ready="1"] canvas').wait_for()


def _pick_example(page, name: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text="Example graph").click()
    page.get_by_role("option", name=name, exact=True).click()


def test_graph_page_napkin_query_shows_formula(server, page):
    # The app must work with no internet: record every request that leaves this machine.
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:", "about:", "blob:"))
            else None)
    page.goto(server)
    page.get_by_role("heading", name="Causal graph").wait_for()
    _drawn(page)

    # The bow arc first: the hedge message and a highlighted drawing.
    _pick_example(page, "bow")
    page.get_by_text("is not identifiable").first.wait_for()
    page.get_by_text("the hedge is F = {X, Y}").wait_for()
    _drawn(page, 0)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "graph_page_bow_hedge.png"), full_page=True)

    # Then the napkin: ask P(Y | do(X)) by hand, starting from an empty outcome.
    _pick_example(page, "napkin")
    page.get_by_text("The napkin graph").wait_for()
    outcome = page.get_by_test_id("stMultiSelect").filter(has_text="Outcome")
    outcome.get_by_role("button", name="Remove Y").click()
    page.get_by_text("choose at least one outcome").wait_for()
    outcome.get_by_role("combobox").click()
    page.get_by_role("option", name="Y", exact=True).click()
    page.keyboard.press("Escape")
    page.get_by_text("is identifiable from observational data").wait_for()
    formula = page.locator(".katex").first
    formula.wait_for()
    text = formula.inner_text()
    assert "do" in text and "W" in text and "∑" in text
    # Both drawings (the graph and the mutilated graph after do(X)) have rendered.
    _drawn(page, 0)
    _drawn(page, 1)
    assert page.frame_locator("iframe").nth(1).get_by_text("hidden confounder").is_visible()
    page.wait_for_timeout(500)  # let the canvases settle before the screenshot
    shot = ARTIFACTS / "graph_page_napkin.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")

    # Malformed model code: one red line, the graph stays.
    area = page.get_by_role("textbox", name="Model code (dagitty or JSON)")
    area.fill("dag { X -> }")
    area.press("Control+Enter")
    page.get_by_text("dagitty: expected a node after '->', got '}' at line 1").wait_for()
    page.get_by_text("is identifiable from observational data").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not outside, f"the page fetched from outside 127.0.0.1: {outside[:5]}"


def test_other_pages_describe_their_step(server, page):
    page.goto(server)
    for name in ("Data", "Train", "Explore", "Effects"):
        navigate(page, name)
        assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(ARTIFACTS / "effects_page.png"), full_page=True)
