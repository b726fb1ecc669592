"""The Data page's logic: association measures, features read off images, the confounding table
(against the exact front-door truth), gallery captions, and the session state the page keeps.

TinyWorld (tests.helpers): C -> X -> Y, B <-> Y; B and Y are associated only through a hidden U, so
with confounding > 0 they correlate observationally and not at all when B is set by do().
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from core.data import DataError, Dataset
from core.data.npz import read_npz
from tests.helpers import TinyWorld, register_tiny, tiny_dataset
from workbench import data_page
from workbench.keys import DataPage, Shared


def test_association_measures():
    rng = np.random.default_rng(0)
    a = rng.normal(size=4000)
    assert data_page.association(a, a) == pytest.approx(1.0)
    assert data_page.association(a, -2 * a + 1) == pytest.approx(1.0)
    assert data_page.association(a, rng.normal(size=4000)) < 0.05
    k = rng.integers(0, 4, size=4000)
    assert data_page.association(k, k, 4, 4) == pytest.approx(1.0)  # Cramér's V
    assert data_page.association(k, rng.integers(0, 4, size=4000), 4, 4) < 0.06
    assert data_page.association(k, k * 1.0, 4, None) == pytest.approx(1.0)  # correlation ratio
    # eta^2 = between / total variance: groups at 0 and 1 (k < 2) plus unit noise -> 0.25 / 1.25.
    y = (k >= 2) + rng.normal(size=4000)
    assert data_page.association(k, y, 4, None) == pytest.approx(np.sqrt(0.25 / 1.25), abs=0.03)
    assert data_page.association(np.ones(10), a[:10]) == 0.0


def test_confounding_shows_in_data_and_vanishes_under_do():
    w = TinyWorld(confounding=1.5)
    ds = Dataset.from_units(w.sample(3000, 0), w.graph)
    feats = data_page.feature_table(ds)
    assert set(feats.table.columns) == {"C", "Y", "B", "X.brightness", "X.red", "X.green", "X.blue"}
    assert feats.levels["C"] == 3 and feats.levels["Y"] is None and feats.of("X")[0] == "X.brightness"
    report = data_page.confounded_pairs(ds, w.graph, feats, world=w)
    row = report.iloc[0]
    assert row["edge"] == "B <-> Y" and not row["causal_path"]
    assert row["observed"] > 0.5  # U drives both
    assert row["do"] == "Y" and row["under_do"] < 0.06  # do(.) cuts U: no association left
    m = data_page.association_matrix(feats)
    assert m.loc["B", "Y"] == pytest.approx(row["observed"])
    assert m.loc["C", "X.red"] > 0.5  # C picks the channel: a causal association
    # Without confounding there is nothing to see.
    w0 = TinyWorld(confounding=0.0)
    ds0 = Dataset.from_units(w0.sample(3000, 0), w0.graph)
    f0 = data_page.feature_table(ds0)
    assert data_page.confounded_pairs(ds0, w0.graph, f0).iloc[0]["observed"] < 0.06


def test_gallery_items():
    ds = tiny_dataset(30)
    items = data_page.gallery_items(ds, "X", k=5)
    assert len(items) == 5
    img, caption = items[0]
    assert img.shape == (8, 8, 3) and caption.startswith("#") and "C=" in caption and "Y=" in caption
    with pytest.raises(DataError, match="no image column 'C'"):
        data_page.gallery_items(ds, "C")


def _phi(joint: np.ndarray) -> float:
    """|Pearson r| of two binary variables from their 2x2 joint table."""
    px, py = joint.sum(1), joint.sum(0)
    return abs(joint[1, 1] * joint[0, 0] - joint[1, 0] * joint[0, 1]) / np.sqrt(px[0] * px[1] * py[0] * py[1])


def test_confounding_table_matches_exact_front_door_truth():
    """Front-door world (X -> M -> Y, X <-> Y): the observed X-Y association and the one left under
    do(X ~ P(X)) against the exact tables: P(x, y) and P(x) P(y | do(x))."""
    from core.worlds.discrete import frontdoor

    w = frontdoor(seed=1)
    oj = w.observed_joint()
    exact_obs = _phi(oj.marginal(["X", "Y"]))
    exact_do = _phi((oj.marginal(["X"])[None, :] * w.do_table(["X"], ["Y"])).T)
    assert exact_obs - exact_do > 0.1  # this seed has a clearly spurious part
    ds = Dataset.from_units(w.sample(20_000, seed=3), w.graph)
    row = data_page.confounded_pairs(ds, w.graph, data_page.feature_table(ds), world=w, max_do_units=20_000).iloc[0]
    assert row["edge"] == "X <-> Y" and row["causal_path"] and row["do"] == "X"
    assert row["observed"] == pytest.approx(exact_obs, abs=0.025)
    assert row["under_do"] == pytest.approx(exact_do, abs=0.025)


def test_gallery_shows_read_attributes_only_where_they_disagree():
    ds = tiny_dataset(10)
    feats = data_page.feature_table(ds)
    wrong = feats.table.copy()
    wrong["X.C"] = ds.table["C"].to_numpy()  # a "probe" that reads C right ...
    wrong.loc[3, "X.C"] = (ds.table["C"].iloc[3] + 1) % 3  # ... except on row 3
    feats = data_page.Features(wrong, {**feats.owner, "X.C": "X"}, {**feats.levels, "X.C": 3}, feats.source)
    captions = [c for _, c in data_page.gallery_items(ds, "X", k=10, features=feats)]
    assert f"C={wrong.loc[3, 'X.C']} (≠{ds.table['C'].iloc[3]})" in captions[3]
    assert "C=" not in captions[4].split("| read:")[1]  # agrees: not repeated
    assert "brightness=" in captions[4]  # an attribute without a column: always shown


# ---------------------------------------------------------------------------------------------
# Session state


@pytest.fixture
def tiny_registered():
    from core.worlds.registry import WORLDS

    register_tiny()
    yield
    WORLDS.pop("tiny", None)


def test_sampling_sets_the_dataset_or_one_error_line(tiny_registered):
    state = {DataPage.WORLD_PICK: "tiny", DataPage.N: 40, DataPage.SEED: 3, DataPage.param("tiny", "size"): 8}
    data_page.sample_world(state)
    ds = state[Shared.DATASET]
    assert ds.n == 40 and ds.world["name"] == "tiny" and state[DataPage.ERROR] is None
    assert state[Shared.DATA_SOURCE].startswith("world tiny (") and state[Shared.DATA_SOURCE].endswith(", seed 3")
    assert isinstance(state[Shared.DATA_WORLD], TinyWorld)
    assert data_page.sample_command(state, "tiny").startswith("python -m core world tiny --n 40 --out data/tiny --seed 3")
    state[DataPage.N] = 0
    data_page.sample_world(state)
    assert state[DataPage.ERROR] and state[Shared.DATASET] is ds


def test_uploads_replace_the_dataset_or_name_the_file():
    state: dict[str, object] = {}
    data_page.load_uploaded(state, "broken.zip", b"this is not a zip")
    assert state == {DataPage.ERROR: "broken.zip: 'broken.zip' is not a readable zip file"}
    ds = tiny_dataset(7)
    gone = Dataset(ds.table, ds.images, ds.nodes, ds.graph, {"name": "no_such_world", "params": {}, "seed": 0})
    data_page.load_uploaded(state, "d.npz", gone.to_npz_bytes())
    assert state[Shared.DATASET].fingerprint == ds.fingerprint and state[DataPage.ERROR] is None
    assert state[Shared.DATA_SOURCE] == "upload d.npz"
    assert state[Shared.DATA_WORLD] is None  # a world this version does not have: the data without it


def test_summary_is_computed_once_per_dataset():
    ds, other = tiny_dataset(60), tiny_dataset(60, seed=1)
    state: dict[str, object] = {}
    first = data_page.data_summary(state, ds, TinyWorld())
    assert state[Shared.DATA_SUMMARY] is first and first.pairs.iloc[0]["edge"] == "B <-> Y"
    assert data_page.data_summary(state, ds, TinyWorld()) is first
    assert data_page.data_summary(state, other, None).fingerprint == other.fingerprint
    assert Dataset.from_stored(read_npz(io.BytesIO(first.npz))).fingerprint == ds.fingerprint


# --------------------------------------------------------------------------------------------------
# Importing a folder


def _imagefolder(tmp_path, sizes=((6, 5),) * 6):
    """An imagefolder of grey images of ``sizes`` with a text label and a numeric column."""
    import pandas as pd

    from tests.core.data.files import write_png

    root = tmp_path / "folder"
    names = []
    for i, (h, w) in enumerate(sizes):
        write_png(root / "img" / f"{i}.png", np.full((h, w), 20 * i, np.uint8))
        names.append(f"img/{i}.png")
    pd.DataFrame({"file_name": names, "kind": ["a", "b"] * (len(sizes) // 2), "level": list(range(len(sizes)))}).to_csv(
        root / "metadata.csv", index=False)
    return root


def _wait_and_finish(state):
    job = state[DataPage.IMPORT_JOB]
    job.thread.join(60)
    return data_page.finish_import(state)


def test_inspect_review_import_and_skeleton(tmp_path):
    state = {}
    state[DataPage.IMPORT_PATH] = str(tmp_path / "missing")
    data_page.inspect_folder(state)
    assert state[DataPage.ERROR].endswith("data not found: " + repr(str(tmp_path / "missing")))
    state[DataPage.IMPORT_PATH] = str(_imagefolder(tmp_path))
    data_page.inspect_folder(state)
    review = state[DataPage.IMPORT_REVIEW]
    assert state[DataPage.ERROR] is None and review.source.layout == "imagefolder" and not review.mixed_sizes
    assert [(c.name, c.type) for c in review.columns] == [("kind", "binary"), ("level", "categorical"),
                                                          ("image", "image")]
    chosen = {"kind": "binary", "level": "continuous"}  # the researcher retypes a column
    assert data_page.type_overrides(review, chosen) == {"level": "continuous"}
    state[DataPage.IMPORT_RESIZE], state[DataPage.IMPORT_SIZE], state[DataPage.IMPORT_FIT] = True, 4, "crop"
    assert data_page.start_import(state, chosen) is not None
    summary = _wait_and_finish(state)
    ds = state[Shared.DATASET]
    assert summary.startswith("Imported 6 rows (1 held out)") and "image 4x4 centre crop" in summary
    assert ds.nodes["level"].type == "continuous" and ds.categories["kind"] == ["a", "b"]
    assert ds.images["image"].shape == (6, 1, 4, 4) and state[Shared.DATA_SOURCE].startswith("imagefolder import of")
    data_page.use_skeleton(state)
    graph = state[Shared.GRAPH]
    assert list(graph.names) == ["kind", "level", "image"] and not graph.directed
    assert graph.node("image").shape == (1, 4, 4) and state[Shared.GRAPH_NAME] == "imported"


def test_import_refusals_keep_the_current_data(tmp_path):
    state = {Shared.DATASET: "current"}
    state[DataPage.IMPORT_PATH] = str(_imagefolder(tmp_path, sizes=((6, 5), (6, 5), (8, 8), (6, 5))))
    data_page.inspect_folder(state)
    assert state[DataPage.IMPORT_REVIEW].mixed_sizes
    assert data_page.start_import(state, {}) is None
    assert state[DataPage.ERROR] == "the images have mixed sizes: tick 'Resize images' and choose a size"
    assert data_page.start_import(state, {"kind": "continuous"}) is None
    assert state[DataPage.ERROR] == "metadata.csv row 0, column 'kind': 'a' is not a number"
    (tmp_path / "folder" / "img" / "2.png").write_bytes(b"broken")  # unreadable once the import runs
    state[DataPage.IMPORT_RESIZE] = True
    state[DataPage.IMPORT_SIZE] = 4
    assert data_page.start_import(state, {}) is not None
    assert _wait_and_finish(state) is None
    assert "row 2, column 'file_name' (img/2.png): truncated or unreadable image" in state[DataPage.ERROR]
    assert state[Shared.DATASET] == "current"
