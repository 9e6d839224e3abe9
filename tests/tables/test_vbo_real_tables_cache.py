"""The real VBO tables through ``VisualBehaviorOphysProjectCache``: released counts and relations.

The four real CSVs (tests/data/real/vbo_tables, provenance in its README) are published in a
folder laid out like the bucket, with a manifest, and read through the project cache (download,
verify, parse with the load-time transforms of reference/format_ophys_behavior.md §2.1, Parquet
cache). They must have the shipped row counts (4,787 / 704 / 1,941 / 133,135), 107 mice, 326
containers and 50,482 cells, list columns as lists, and every experiment must join to its
imaging session, its behavior session and its cells.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.errors import UnknownIdError
from brainobs.storage.manifest import Manifest, entry_for_file
from brainobs.vbo.cache import VisualBehaviorOphysProjectCache as Cache
from brainobs.vbo.schemas import VBO_METADATA_COLUMN_ORDER

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "vbo_tables"
PROJECT = "visual-behavior-ophys"
ROOT = "https://visual-behavior-ophys-data.s3.us-west-2.amazonaws.com"
UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


def _publish(root: Path) -> Path:
    """Write the real CSVs and a manifest for them under ``root`` (the bucket layout)."""
    folder = root / PROJECT / "project_metadata"
    folder.mkdir(parents=True)
    entries = {}
    for source in sorted(REAL.glob("*.csv.gz")):
        name = source.name.removesuffix(".csv.gz")
        target = folder / f"{name}.csv"
        with gzip.open(source, "rb") as raw, target.open("wb") as out:
            shutil.copyfileobj(raw, out)
        key = f"{PROJECT}/project_metadata/{name}.csv"
        entries[name] = entry_for_file(target, f"{ROOT}/{key}", "real-v1")
    manifest = Manifest(PROJECT, "1.1.0", entries, {}, "file_id", ())
    (root / PROJECT / "manifests").mkdir()
    (root / PROJECT / "manifests" / manifest.name).write_text(manifest.to_json())
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    root = _publish(tmp_path_factory.mktemp("vbo_real_bucket"))
    return Cache.from_source(str(root), tmp_path_factory.mktemp("vbo_real_cache"))


@pytest.fixture(scope="module")
def tables(cache: Cache) -> dict[str, pd.DataFrame]:
    return {
        "behavior": cache.get_behavior_session_table(),
        "sessions": cache.get_ophys_session_table(),
        "experiments": cache.get_ophys_experiment_table(),
        "cells": cache.get_ophys_cells_table(),
    }


def test_shipped_row_counts_indexes_and_totals(tables: dict[str, pd.DataFrame]) -> None:
    shapes = {name: (len(t), t.index.name, str(t.index.dtype)) for name, t in tables.items()}
    assert shapes == {
        "behavior": (4787, "behavior_session_id", "int64"),
        "sessions": (704, "ophys_session_id", "Int64"),
        "experiments": (1941, "ophys_experiment_id", "int64"),
        "cells": (133135, "cell_roi_id", "int64"),
    }
    assert all(t.index.is_unique for t in tables.values())
    assert tables["behavior"]["mouse_id"].nunique() == 107
    assert tables["experiments"]["ophys_container_id"].nunique() == 326
    assert tables["cells"]["cell_specimen_id"].nunique() == 50482
    assert tables["cells"]["cell_specimen_id"].dtype == "Int64"
    assert (tables["behavior"]["ophys_session_id"].notna()).sum() == 704


def test_load_time_transforms(tables: dict[str, pd.DataFrame]) -> None:
    for name in ("behavior", "sessions", "experiments"):
        table = tables[name]
        assert all(isinstance(v, str) for v in table["mouse_id"]), name
        assert table["date_of_acquisition"].dtype == UTC_NS, name
        assert all(isinstance(v, list) and v for v in table["driver_line"]), name
        leading = [c for c in VBO_METADATA_COLUMN_ORDER if c in table.columns]
        assert list(table.columns[: len(leading)]) == leading, name
    sessions = tables["sessions"]
    for column in ("ophys_experiment_id", "ophys_container_id"):
        values = sessions[column]
        assert all(isinstance(v, list) and all(isinstance(x, int) for x in v) for v in values)
    behavior = tables["behavior"]
    imaging = behavior["ophys_session_id"].notna()
    assert all(isinstance(v, list) for v in behavior.loc[imaging, "ophys_experiment_id"])
    assert behavior.loc[~imaging, "ophys_experiment_id"].isna().all()
    assert behavior["session_number"].dtype == "Int64"
    assert tables["experiments"]["imaging_plane_group"].dtype == "Int64"
    assert tables["experiments"]["passive"].dtype == bool


def test_every_experiment_joins_its_sessions_and_cells(tables: dict[str, pd.DataFrame]) -> None:
    experiments, sessions = tables["experiments"], tables["sessions"]
    behavior, cells = tables["behavior"], tables["cells"]
    assert experiments["ophys_session_id"].isin(sessions.index).all()
    assert experiments["behavior_session_id"].isin(behavior.index).all()
    assert set(cells["ophys_experiment_id"]) == set(experiments.index)
    listed = sessions["ophys_experiment_id"].explode().astype(np.int64)
    assert sorted(listed) == sorted(experiments.index)
    session_of = pd.Series(listed.index.to_numpy(), index=listed.to_numpy())
    assert (session_of.loc[experiments.index].to_numpy()
            == experiments["ophys_session_id"].to_numpy()).all()  # fmt: skip
    imaging = behavior[behavior["ophys_session_id"].notna()]
    assert (sessions.loc[imaging["ophys_session_id"].astype(np.int64), "behavior_session_id"]
            .to_numpy() == imaging.index.to_numpy()).all()  # fmt: skip
    containers = experiments.groupby("ophys_container_id")["mouse_id"].nunique()
    assert (containers == 1).all()
    cell_containers = cells.join(experiments["ophys_container_id"], on="ophys_experiment_id")
    per_cell = cell_containers.dropna(subset=["cell_specimen_id"]).groupby("cell_specimen_id")
    assert (per_cell["ophys_container_id"].nunique() == 1).all()  # one container per cell


def test_tables_are_fresh_copies_and_suppress_works(cache: Cache) -> None:
    first = cache.get_ophys_experiment_table()
    first["cre_line"] = "changed"
    assert (cache.get_ophys_experiment_table()["cre_line"] != "changed").all()
    slim = cache.get_ophys_experiment_table(suppress=["file_path"])
    assert "file_path" not in slim.columns and "cre_line" in slim.columns
    by_behavior = cache.get_ophys_session_table(index_column="behavior_session_id")
    assert by_behavior.index.name == "behavior_session_id" and len(by_behavior) == 704
    assert cache.session_table().index.name == "ophys_experiment_id"


def test_unknown_ids_say_where_to_look(cache: Cache) -> None:
    with pytest.raises(UnknownIdError, match="get_ophys_experiment_table"):
        cache.get_behavior_ophys_experiment(1)
    session = int(cache.get_ophys_session_table().index[0])
    with pytest.raises(UnknownIdError, match="imaging session"):
        cache.get_session(session)
