"""A researcher's own data in a real browser: import a folder in the Hugging Face imagefolder layout,
review the inferred types, open the proposed graph (its columns as nodes), draw the one edge, train,
and open the model check.  Slow (training and the check run on the CPU).  Screenshot:
test-artifacts/import_model_check.png."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.data import Dataset
from core.data.imagefolder import write_imagefolder
from tests.browser.support import (
    ARTIFACTS,
    browser_page,
    navigate,
    no_exceptions,
    require_browser,
    rerun_after,
    screenshot_on_failure,
    settle,
    streamlit_server,
)
from tests.browser.test_e2e import pick
from tests.helpers import TinyWorld

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def colour_squares(root, n: int = 600) -> None:
    """TinyWorld's C -> X (an 8x8 image whose channel C is lit) as an imagefolder with text labels."""
    units = TinyWorld(8).sample(n, 0)
    ds = Dataset(pd.DataFrame({"colour": units["C"]}), {"image": units["X"]},
                 categories={"colour": ["red", "green", "blue"]})
    write_imagefolder(ds, root, per_folder=100)


def test_import_review_train_and_check(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    colour_squares(tmp_path / "squares")
    with (streamlit_server(tmp_path / "workspaces", "streamlit-import.log") as (url, _),
          browser_page(timeout_ms=120_000) as page, screenshot_on_failure(page, "import_model_check")):
        page.goto(url)
        page.get_by_role("heading", name="Causal graph").wait_for()
        navigate(page, "Data")
        page.get_by_role("tab", name="Import a folder").click()
        field = page.locator(".st-key-data_import_path input")
        field.fill(str(tmp_path / "squares"))
        field.press("Enter")
        settle(page)
        rerun_after(page, page.locator(".st-key-data_import_inspect button").click)
        page.get_by_text("600 rows").first.wait_for()
        page.get_by_text("Review the column types").wait_for()
        no_exceptions(page)
        review = page.locator(".st-key-data_import_types")
        expect(review).to_be_visible()
        rerun_after(page, page.locator(".st-key-data_import_start button").click)
        page.get_by_text("Imported 600 rows (60 held out)").wait_for(timeout=180_000)
        no_exceptions(page)

        # the proposed graph: the columns as nodes, no edges; draw colour -> image
        page.locator(".st-key-data_use_skeleton").get_by_role("button", name=re.compile("Propose a graph")).click()
        page.get_by_role("heading", name="Causal graph").wait_for()
        settle(page)
        page.get_by_role("tab", name="Edges").click()
        pick(page, "edge_a", "colour")
        pick(page, "edge_b", "image")
        rerun_after(page, page.locator(".st-key-add_edge").get_by_role("button").click)
        code = page.get_by_role("textbox", name="Model code (dagitty or JSON)")
        expect(code).to_have_value(re.compile(r"colour -> image"), timeout=60_000)

        # train: the image with the VAE, few steps
        navigate(page, "Train")
        pick(page, "train_kind_image", "vae")
        steps = page.locator(".st-key-train_steps input")
        steps.fill("60")
        steps.press("Enter")
        settle(page)
        rerun_after(page, page.locator(".st-key-train_all button").click)
        page.get_by_text("Training finished.").wait_for(timeout=900_000)
        no_exceptions(page)

        # the model check: runs in the background, then its verdicts
        rerun_after(page, page.locator(".st-key-mc_run button").click)
        page.get_by_text("held-out rows; checked").wait_for(timeout=1_800_000)
        no_exceptions(page)
        page.get_by_text("counterfactual soundness").first.wait_for()
        page.set_viewport_size({"width": 1500, "height": 2400})
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "import_model_check.png"), full_page=True)
