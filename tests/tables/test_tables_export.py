"""to_release_frame is the inverse of read_table: real tables survive a write and a re-read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.errors import InvalidInputError
from brainobs.tables import TableSchema, read_table, to_release_frame
from brainobs.vbn.schemas import VBN_SCHEMAS
from brainobs.vbo.schemas import VBO_SCHEMAS

CASES = [
    ("vbn_tables/vbn_behavior_sessions_mouse533537.csv", VBN_SCHEMAS["behavior_sessions"]),
    ("vbn_tables/vbn_channels_head5.csv", VBN_SCHEMAS["channels"]),
    ("vbo_tables/ophys_session_table.csv.gz", VBO_SCHEMAS["ophys_session_table"]),
    ("vbo_tables/behavior_session_table.csv.gz", VBO_SCHEMAS["behavior_session_table"]),
]


@pytest.mark.parametrize(("name", "schema"), CASES, ids=[c[1].name for c in CASES])
@pytest.mark.parametrize("reference_compatible", [False, True])
def test_real_tables_round_trip(
    tmp_path: Path, vbn_real: Path, name: str, schema: TableSchema, reference_compatible: bool
) -> None:
    source = vbn_real.parent / name
    loaded = read_table(source, schema, reference_compatible=reference_compatible)
    frame = to_release_frame(loaded, schema)
    assert list(frame.columns) == [c for c in schema.known_columns if c in frame.columns]
    assert frame.columns[0] == schema.index
    path = tmp_path / schema.csv_name
    frame.to_csv(path, index=False)
    again = read_table(path, schema, reference_compatible=reference_compatible)
    pd.testing.assert_frame_equal(again, loaded)


def test_list_cells_are_plain_reprs() -> None:
    schema = VBN_SCHEMAS["probes"]
    df = pd.DataFrame({c: [1, 2] for c in schema.columns})
    df["structure_acronyms"] = [["CA1", "VISp"], None]
    frame = to_release_frame(df.set_index("ecephys_probe_id"), schema)
    assert frame["structure_acronyms"].tolist() == ["['CA1', 'VISp']", None]
    ids = VBO_SCHEMAS["ophys_session_table"]
    cell = to_release_frame(
        pd.DataFrame({c: [np.array([np.int64(5), np.int64(7)])] for c in ids.columns}), ids
    )["ophys_experiment_id"].iloc[0]
    assert cell == "[5, 7]"


def test_bad_frames() -> None:
    schema = VBN_SCHEMAS["probes"]
    with pytest.raises(InvalidInputError, match=r"missing columns \['ecephys_session_id', 'name'"):
        to_release_frame(pd.DataFrame({"ecephys_probe_id": [1]}), schema)
    df = pd.DataFrame({c: [1] for c in schema.columns})
    with pytest.raises(InvalidInputError, match="not a list"):
        to_release_frame(df, schema)
