"""Fixtures for the metadata-table tests: real tables and a small synthetic units.csv."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.vbn.schemas import VBN_SCHEMAS

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def _units_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Return a small units table with every units.csv column, as a writer would emit it."""
    rng = np.random.default_rng(seed)
    schema = VBN_SCHEMAS["units"]
    data: dict[str, object] = {}
    for name in schema.csv_columns:
        dtype = schema.spec(name).dtype
        if dtype in ("int64", "Int64"):
            data[name] = np.arange(n) + 1_000_000_000 + 1000 * len(data)
        elif dtype == "bool":
            data[name] = rng.random(n) < 0.9
        elif dtype == "string":
            data[name] = rng.choice(["VISp", "CA1", "LGd"], n)
        else:
            data[name] = rng.random(n)
    data["quality"] = np.where(rng.random(n) < 0.7, "good", "noise")
    data["local_index"] = rng.integers(0, 384, n)
    return pd.DataFrame(data)


@pytest.fixture
def units_frame() -> Callable[..., pd.DataFrame]:
    """Return a factory of small synthetic units tables."""
    return _units_frame


@pytest.fixture
def units_csv(tmp_path: Path) -> Path:
    """Return the path of a freshly written small units.csv."""
    path = tmp_path / "units.csv"
    _units_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def vbn_real() -> Path:
    """Return the folder of real VBN table rows."""
    return REAL / "vbn_tables"


@pytest.fixture
def vbo_real() -> Path:
    """Return the folder of the four real VBO table CSVs."""
    return REAL / "vbo_tables"
