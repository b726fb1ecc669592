"""The Data page driven headless with Streamlit's AppTest: sample worlds (the tiny test world and a
real discrete one), see the gallery, charts and confounding table, use the world's graph, and
upload good and bad files (a bad upload shows one red line and keeps the previous dataset)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.data import Dataset
from tests.core.data.files import folder_as_zip_entries, zip_bytes
from tests.helpers import APP, register_tiny, tiny_dataset
from workbench.keys import DataPage, Shared

PAGE = "views/data.py"


@pytest.fixture(scope="module", autouse=True)
def tiny_registered():
    register_tiny()
    yield
    from core.worlds.registry import WORLDS

    WORLDS.pop("tiny", None)


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Data"]
    return at


def sample(at: AppTest, world: str, n: int, **params) -> AppTest:
    at.selectbox(key=DataPage.WORLD_PICK).set_value(world).run()
    for k, v in params.items():
        key = DataPage.param(world, k)
        widget = next(w for kind in ("slider", "selectbox", "number_input") for w in getattr(at, kind) if w.key == key)
        widget.set_value(v)
    at.number_input(key=DataPage.N).set_value(n)
    at.button(key=DataPage.SAMPLE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plotly_charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def charts_in_every_tab(at: AppTest) -> int:
    """Plotly charts over the data views; only the open tab is drawn, so open each in turn."""
    count = 0
    for tab in ("Gallery", "Variables", "Hidden confounding", "Table"):
        at.session_state[DataPage.VIEW_TAB] = tab
        at.run()
        assert not at.exception
        count += len(plotly_charts(at))
    at.session_state[DataPage.VIEW_TAB] = "Gallery"
    at.run()
    return count


def test_sample_tiny_world_shows_gallery_charts_and_confounding():
    at = open_page()
    assert any("No data yet" in i.value for i in at.info)
    sample(at, "tiny", 400, confounding=2.0, size=8)
    assert not at.error
    ds = at.session_state[Shared.DATASET]
    assert isinstance(ds, Dataset) and ds.n == 400 and ds.world["params"]["confounding"] == 2.0
    # Gallery: one st.image element holding 12 images with captions naming the row's values.
    assert len(at.image) == 1
    captions = at.image[0].captions
    assert len(captions) == 12 and all("C=" in c and "B=" in c for c in captions)
    # One chart per scalar column (C, Y, B) plus the association heatmap.
    assert charts_in_every_tab(at) == 4
    # The confounding table: B <-> Y observed, gone under do(B).
    pairs = at.session_state[Shared.DATA_SUMMARY].pairs
    assert pairs.iloc[0]["edge"] == "B <-> Y"
    assert pairs.iloc[0]["observed"] > 0.4 and pairs.iloc[0]["under_do"] < 0.15
    # The data does not fit the default (napkin example) graph; one click adopts the world's graph.
    assert any("Does not fit the current graph" in w.value for w in at.warning)
    at.button(key=DataPage.USE_GRAPH).click().run()
    assert not at.exception
    assert at.session_state[Shared.GRAPH] == ds.graph
    assert any("Fits the current graph" in s.value for s in at.success)


def test_real_discrete_world():
    at = open_page()
    sample(at, "frontdoor", 2000)
    ds = at.session_state[Shared.DATASET]
    assert ds.world["name"] == "frontdoor" and ds.columns == ["X", "M", "Y"]
    assert charts_in_every_tab(at) == 4 and not at.image
    assert at.session_state[Shared.DATA_SUMMARY].pairs.iloc[0]["causal_path"]  # X -> M -> Y as well as X <-> Y


def test_uploads_good_and_bad(tmp_path):
    at = open_page()
    sample(at, "tiny", 50)
    before = at.session_state[Shared.DATASET].fingerprint
    # A bad upload: one red line naming the file, and the previous dataset stays.
    at.file_uploader(key=DataPage.UPLOAD).set_value(("broken.zip", b"this is not a zip", "application/zip")).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["broken.zip: 'broken.zip' is not a readable zip file"]
    assert at.session_state[Shared.DATASET].fingerprint == before
    # A zip of a CSV whose image column points at a missing file: the row and column are named.
    bad_csv = zip_bytes({"data.csv": b"X,Y\nimages/0.png,1\n", "images/": b""})
    at.file_uploader(key=DataPage.UPLOAD).set_value(("mine.zip", bad_csv, "application/zip")).run()
    assert len(at.error) == 1 and "row 0, column 'X'" in at.error[0].value
    assert at.session_state[Shared.DATASET].fingerprint == before
    # A good upload: a saved dataset folder, zipped; it replaces the data and clears the error.
    other = tiny_dataset(30, seed=9)
    out = other.save(tmp_path / "ds")
    files = folder_as_zip_entries(out, "ds")
    at.file_uploader(key=DataPage.UPLOAD).set_value(("ds.zip", zip_bytes(files), "application/zip")).run()
    assert not at.exception and not at.error
    assert at.session_state[Shared.DATASET].fingerprint == other.fingerprint
    # An .npz upload works too.
    at.file_uploader(key=DataPage.UPLOAD).set_value(("d.npz", before and tiny_dataset(7).to_npz_bytes(),
                                                    "application/octet-stream")).run()
    assert at.session_state[Shared.DATASET].n == 7


def test_import_a_folder_review_types_and_propose_a_graph(tmp_path):
    """The "Import a folder" tab: inspect an imagefolder, review its types, import it with a resize
    step in the background, then propose a graph of its columns."""
    import time

    import numpy as np

    from core.data.imagefolder import write_imagefolder

    rng = np.random.default_rng(0)
    ds = Dataset.from_values({"C": rng.integers(0, 3, 30), "X": rng.integers(0, 255, (30, 3, 9, 7), dtype=np.uint8)})
    write_imagefolder(ds, tmp_path / "folder")
    at = open_page()
    at.text_input(key=DataPage.IMPORT_PATH).set_value(str(tmp_path / "folder")).run()
    at.button(key=DataPage.IMPORT_INSPECT).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("**imagefolder** layout · **30 rows**" in m.value for m in at.markdown)
    review = at.session_state[DataPage.IMPORT_REVIEW]
    assert [(c.name, c.type, c.detail) for c in review.columns][-1] == ("X", "image", "3x9x7 (RGB)")
    at.checkbox(key=DataPage.IMPORT_RESIZE).check()
    at.number_input(key=DataPage.IMPORT_SIZE).set_value(4)
    at.button(key=DataPage.IMPORT_START).click().run()
    t0 = time.time()
    while not any("Imported 30 rows" in s.value for s in at.success):
        assert time.time() - t0 < 120, "the import did not finish"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    current = at.session_state[Shared.DATASET]
    assert current.images["X"].shape == (30, 3, 4, 4) and current.preparation["X"]["fit"] == "crop"
    at.button(key=DataPage.USE_SKELETON).click().run()
    graph = at.session_state[Shared.GRAPH]
    assert list(graph.names) == ["C", "X"] and not graph.directed
