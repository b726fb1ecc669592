"""The newcomer's path in a real browser, on the shipped default workspace (trained faces models).

A fresh server with an empty workspace root installs the shipped workspace on its first request;
then: draw an edge on the Graph page with the native edge widgets, go to Explore, pick an
intervention, and see the observational, interventional (ID-GEN, reusing the trained Face model)
and counterfactual galleries and the truth column rendered as images -- no training anywhere.
Also: a fresh server whose FIRST request is a deep link (/explore) still runs app.py (sidebar and
workspace picker present).  Screenshots: test-artifacts/e2e_*.png.
"""

from __future__ import annotations

import re
import time

import pytest

from core.graph import ADMG
from tests.browser.support import (
    ARTIFACTS,
    browser_page,
    choose_option,
    navigate,
    no_exceptions,
    require_browser,
    rerun_after,
    screenshot_on_failure,
    settle,
    streamlit_server,
)

pytestmark = pytest.mark.browser

GALLERIES = ("Observational", "Interventional (model) · ID-GEN", "Counterfactual (model)", "Truth (world)")


@pytest.fixture(scope="module")
def faces_server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("e2e_workspaces")
    with streamlit_server(root, "streamlit-e2e.log", default="faces") as (url, proc):
        yield url, root


def gallery_column(page, title: str):
    """The column (stColumn) whose bold title is ``title``."""
    return page.get_by_test_id("stColumn").filter(has=page.get_by_text(title, exact=True)).last


def pick(page, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox with widget key ``key`` (stable across layouts)."""
    # forms keyed by the graph they edit carry the graph's tag after the key (edge_a_<tag>)
    box = page.locator(f'.st-key-{key}, [class*="st-key-{key}_"]').first.get_by_role("combobox")
    if box.input_value() == option:
        return

    rerun_after(page, lambda: choose_option(page, box, option))
    settle(page)  # the next widget is touched only once this choice's rerun has rendered
    assert box.input_value() == option, (key, box.input_value())


def test_draw_an_edge_then_explore_three_rungs_on_the_shipped_models(faces_server):
    from playwright.sync_api import expect  # here: a missing Playwright skips (require_browser), not errors

    url, root = faces_server
    t0 = time.perf_counter()
    laps: list[tuple[str, float]] = []

    def lap(what: str) -> None:
        laps.append((what, time.perf_counter() - t0 - sum(s for _, s in laps)))
    # a loaded shared CPU: generous waits
    with browser_page(timeout_ms=60_000) as page, screenshot_on_failure(page, "e2e_explore"):
        page.goto(url)
        page.get_by_role("heading", name="Causal graph").wait_for()
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("faces", exact=True).wait_for()  # the shipped graph, installed on this first start
        no_exceptions(page)
        lap("first page (install)")

        # draw Young -> Eyeglasses with the native edge widgets (keys edge_kind, edge_a, edge_b, add_edge)
        settle(page)  # the drawing component reports its first state (a rerun)
        page.get_by_role("tab", name="Edges").click()
        pick(page, "edge_a", "Young")
        pick(page, "edge_b", "Eyeglasses")
        rerun_after(page, page.locator(".st-key-add_edge").get_by_role("button").click)
        # a locator, not an element handle: the rerun may replace the text area
        code = page.get_by_role("textbox", name="Model code (dagitty or JSON)")
        expect(code).to_have_value(re.compile(r"Young -> Eyeglasses"), timeout=60_000)
        no_exceptions(page)
        lap("draw an edge")

        # Explore (opens on do(Male = 1)): pick do(Male = 0); the new edge changes neither Face's
        # parents nor what do(Male) needs
        navigate(page, "Explore")
        page.get_by_text("Galleries sampled in").wait_for(timeout=60_000)
        lap("Explore galleries")
        rerun_after(page, page.locator(".st-key-ex_val_Male").get_by_text("0", exact=True).click)
        lap("do(Male = 0)")
        page.get_by_text("P(Face | do(Male = 0))").first.wait_for()
        page.get_by_text("from the Train page").wait_for()  # ID-GEN reused the trained Face model
        for title in GALLERIES:
            # a gallery is one composite image of its 16 samples (the counterfactual and truth
            # columns also show the factual/counterfactual pair): every image drawn, the grid wide
            images = gallery_column(page, title).locator('[data-testid="stImage"] img')
            images.first.wait_for()
            assert images.count() >= 1, (title, images.count())
            assert all(images.nth(i).evaluate("el => el.complete && el.naturalWidth > 0")
                       for i in range(images.count())), title
            assert images.first.evaluate("el => el.naturalWidth") >= 4 * 16, title  # a 4x4 grid of 16x16 faces
        assert not page.get_by_text("not fitted yet").count() and not page.get_by_text("no trained model").count()
        no_exceptions(page)
        # Streamlit scrolls inside its own container, so a full-page shot is the viewport: make it
        # tall enough for the galleries and their attribute bars
        page.set_viewport_size({"width": 1500, "height": 2000})
        page.wait_for_timeout(1500)  # let the attribute bar charts draw
        shot = ARTIFACTS / "e2e_explore.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
    seconds = time.perf_counter() - t0
    lap("checks + screenshot")
    print(f"e2e: {seconds:.1f} s (" + ", ".join(f"{w} {s:.1f} s" for w, s in laps) + f"); screenshot {shot}")
    saved = ADMG.from_json((root / "default" / "graph.json").read_text())  # the drawn edge was saved
    assert "Eyeglasses" in saved.children("Young")


def test_deep_link_first_request_runs_the_app_with_its_sidebar(tmp_path):
    """A fresh server whose first request is /explore: app.py runs (navigation, workspace picker),
    the page is the Explore page, and the shipped workspace is there."""
    require_browser()
    with (streamlit_server(tmp_path, "streamlit-deeplink.log", default="faces") as (url, _),
          browser_page(timeout_ms=60_000) as page, screenshot_on_failure(page, "e2e_deeplink")):
        page.goto(f"{url}/explore")
        page.get_by_role("heading", name="Explore", exact=True).wait_for()
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSidebarNav").get_by_text("Graph", exact=True).wait_for()
        picker = sidebar.get_by_test_id("stSelectbox").filter(has_text="Workspace")
        picker.wait_for()
        assert picker.get_by_role("combobox").input_value() == "default"
        sidebar.get_by_text("faces", exact=True).wait_for()  # the shipped workspace was installed
        page.get_by_text("Interventional (model) · ID-GEN", exact=True).wait_for(timeout=60_000)
        no_exceptions(page)
        page.screenshot(path=str(ARTIFACTS / "e2e_deeplink_explore.png"), full_page=True)
