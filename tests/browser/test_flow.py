"""The Graph page's drag-to-connect editor (streamlit-flow, React Flow) in a real browser.

Debian chromium driven by Playwright against `streamlit run app.py` (helpers in tests/browser/support.py).
The mouse does what a user does: drags from one node's handle to another's, drags a node, uses the
right-click menus, clicks an edge; after each gesture the dagitty text on the left must say what the
drawing shows.  Skips, saying why, where chromium or Playwright is missing.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.support import ARTIFACTS, browser_page, no_exceptions, require_browser, streamlit_server

pytestmark = pytest.mark.browser

FLOW = 'iframe[title="streamlit_flow.streamlit_flow"]'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    with streamlit_server(tmp_path_factory.mktemp("workspaces"), log_name="streamlit-server-flow.log",
                          default="empty") as (url, _):
        yield url


def editor(page):
    """The editor's frame.  Streamlit keeps a replaced editor (old key) on screen until the new one
    has rendered, so wait until only one is left."""
    # ...and scroll the whole canvas on screen (in the same step, so it is the one left): a drag
    # that ends below the viewport is lost, and an error line above pushes the editor down.  Then
    # wait until it stays put for one polling interval: panels above it still growing (the formula,
    # the graph drawings) move the canvas under a pressed mouse, and React Flow reads that as a
    # drag of hundreds of pixels.
    page.wait_for_function("""sel => {
        const frames = document.querySelectorAll(sel);
        if (frames.length !== 1) return false;
        frames[0].scrollIntoView({block: "nearest"});
        const r = frames[0].getBoundingClientRect();
        const here = `${r.top},${r.left},${r.height}`, before = window.__flowAt;
        window.__flowAt = here;
        return here === before;
    }""", arg=FLOW, polling=300)
    return page.frame_locator(FLOW)


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
    """Mouse down, move in small steps (React Flow tracks the pointer), mouse up."""
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        page.wait_for_timeout(25)
    page.mouse.up()


def connect(page, source: str, target: str) -> None:
    """Drag from the dot under ``source`` (its source handle) to the dot above ``target``."""
    fl = editor(page)
    a = fl.locator(f'[data-id="{source}-null-source"]')
    b = fl.locator(f'[data-id="{target}-null-target"]')
    a.wait_for()
    drag(page, centre(a.bounding_box()), centre(b.bounding_box()))


def code(page):
    return page.get_by_role("textbox", name="Model code (dagitty or JSON)")


def text_has(page, pattern: str, present: bool = True, timeout: int = 20_000) -> None:
    """Wait until the dagitty text does (or does not) match ``pattern`` (a regular expression)."""
    page.wait_for_function("([el, p, want]) => new RegExp(p).test(el.value) === want",
                           arg=[code(page).element_handle(), pattern, present], timeout=timeout)


def edge_drawn(page, eid: str):
    """The edge with our id ``eid`` ("A->B" / "A<->B") in the (possibly new) editor instance."""
    for _ in range(3):  # the editor may be replaced (re-keyed) while we look
        loc = editor(page).locator(f'[data-testid="rf__edge-{eid}"] path.react-flow__edge-path')
        try:
            loc.wait_for(state="attached", timeout=10_000)  # a straight vertical path has zero width: "invisible"
            return loc
        except Exception:  # noqa: BLE001 - a replaced frame; look again
            continue
    raise AssertionError(f"edge {eid} is not drawn")


def pick_edge_kind(page, kind: str) -> None:
    page.get_by_test_id("stRadio").filter(has_text="New edges are").get_by_text(kind, exact=False).first.click()
    page.wait_for_timeout(300)


@pytest.mark.slow  # about 25 s of dragging; the default run draws an edge in test_e2e
def test_draw_connect_move_delete_rename_in_the_editor(server):
    with browser_page(width=1500, height=1750) as page:
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url)
                if not r.url.startswith((server, "data:", "about:", "blob:")) else None)
        page.goto(server)
        page.get_by_role("heading", name="Causal graph").wait_for()
        fl = editor(page)
        fl.locator('[data-testid="rf__node-W1"]').wait_for()  # the napkin, drawn by React Flow
        assert fl.locator(".react-flow__node").count() == 4 and fl.locator(".react-flow__edge").count() == 5
        # The bidirected arcs are dashed and red, the directed edges solid.
        bi = edge_drawn(page, "W1<->X")
        assert bi.evaluate("p => getComputedStyle(p).strokeDasharray") not in ("", "none")
        assert bi.evaluate("p => getComputedStyle(p).stroke") == "rgb(220, 38, 38)"
        assert edge_drawn(page, "X->Y").evaluate("p => getComputedStyle(p).strokeDasharray") in ("", "none")

        # 1. Drag a connection W2 -> Y: the text shows the new edge; the editor redraws it with a head.
        connect(page, "W2", "Y")
        text_has(page, r"\nW2 -> Y\n")
        assert edge_drawn(page, "W2->Y").get_attribute("marker-end")

        # 2. New edges bidirected: Y <-> W2 is a hidden confounder, drawn dashed.
        pick_edge_kind(page, "bidirected")
        connect(page, "Y", "W2")
        text_has(page, r"\nY <-> W2\n")
        assert edge_drawn(page, "Y<->W2").evaluate("p => getComputedStyle(p).strokeDasharray") not in ("", "none")

        # 3. A cycle (Y -> W1 closes W1 -> W2 -> X -> Y) is refused with one line; nothing is lost and
        #    the editor goes back to the valid graph.
        pick_edge_kind(page, "directed")
        before = code(page).input_value()
        connect(page, "Y", "W1")
        page.get_by_text("directed cycle").first.wait_for()
        assert code(page).input_value() == before
        edge_drawn(page, "W2->Y")
        page.wait_for_timeout(500)
        assert editor(page).locator(".react-flow__edge").count() == 7  # 5 + 2 drawn; the refused edge is gone

        # 4. Drag node X down: every position is written into the text (pos="x,y" of X changes).
        old_x = re.search(r'X \[[^\]]*pos="([^"]+)"', code(page).input_value()).group(1)
        x = editor(page).locator('[data-testid="rf__node-X"]')
        start = centre(x.bounding_box())
        drag(page, start, (start[0] + 30, start[1] + 70))
        page.wait_for_function("([el, old]) => !el.value.includes('X [exposure,pos=\"' + old + '\"')",
                               arg=[code(page).element_handle(), old_x])

        # 5. Click the edge X -> Y, then "Make bidirected" in the panel under the editor.
        path = edge_drawn(page, "X->Y").bounding_box()
        page.mouse.click(path["x"] + path["width"] * 0.5, path["y"] + path["height"] * 0.5)
        page.get_by_role("button", name="Make bidirected ↔").click()
        text_has(page, r"\nX <-> Y\n")
        text_has(page, r"\nX -> Y\n", present=False)

        # 6. Right-click the edge W1 -> W2 and delete it from the edge menu.
        path = edge_drawn(page, "W1->W2").bounding_box()
        page.mouse.click(path["x"] + path["width"] / 2, path["y"] + path["height"] * 0.3, button="right")
        editor(page).get_by_role("button", name="Delete Edge").click()
        text_has(page, r"\nW1 -> W2\n", present=False)

        # 7. Rename Y to Outcome from the node menu.
        fl = editor(page)
        fl.locator('[data-testid="rf__node-Y"]').click(button="right")
        fl.get_by_role("button", name="Edit Node").click()
        fl.get_by_placeholder("nodeContent").fill("**Outcome**")
        fl.get_by_role("button", name="Save Changes").click()
        text_has(page, r"\nOutcome \[")
        text_has(page, r"\nY[ \[]", present=False)
        editor(page).locator('[data-testid="rf__node-Outcome"]').wait_for()
        page.get_by_text("P(Outcome | do(X))").first.wait_for()  # the question follows the rename
        no_exceptions(page)

        page.wait_for_timeout(800)  # let the redrawn editor settle before the picture
        shot = ARTIFACTS / "graph_editor.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 30_000
        print(f"screenshot: {shot}")

        # 8. Typed model code redraws the editor (a new instance, not a stale drawing).
        old_editor = page.locator(FLOW).element_handle()
        code(page).fill("dag {\nA -> B\nA <-> B\nB -> C\n}")
        code(page).press("Control+Enter")
        page.wait_for_function("el => !el.isConnected", arg=old_editor)  # the stale drawing is gone
        editor(page).locator('[data-testid="rf__node-C"]').wait_for()
        assert editor(page).locator(".react-flow__node").count() == 3
        edge_drawn(page, "A<->B")
        no_exceptions(page)
        assert not outside, f"the page fetched from outside 127.0.0.1: {outside[:5]}"
