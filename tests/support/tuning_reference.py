"""Inputs and outputs of tests/compat/reference_tuning.py (the AllenSDK's stimulus analysis).

Shared by the tuning compatibility suite and benchmarks/bench_tuning.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.support.tuning_sim import PARAMETERS

SCRIPT = Path(__file__).resolve().parents[1] / "compat" / "reference_tuning.py"


def write_tuning_inputs(
    folder: Path,
    spike_times: dict[int, np.ndarray],
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame,
) -> Path:
    """Write the script's input arrays (NWB-form presentations); return the .npz path."""
    units = np.asarray(list(spike_times), dtype=np.int64)
    sizes = [spike_times[int(u)].size for u in units]
    params = {
        f"param_{c}": presentations[c].to_numpy(dtype=np.float64)
        for c in PARAMETERS
        if c in presentations.columns
    }
    path = folder / "tuning_inputs.npz"
    np.savez(
        path,
        unit_ids=units,
        spike_offsets=np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        spike_data=np.concatenate([spike_times[int(u)] for u in units]),
        start_time=presentations["start_time"].to_numpy(dtype=np.float64),
        stop_time=presentations["stop_time"].to_numpy(dtype=np.float64),
        stimulus_block=presentations["stimulus_block"].to_numpy(dtype=np.float64),
        stimulus_index=presentations["stimulus_index"].to_numpy(dtype=np.float64),
        stimulus_name=presentations["stimulus_name"].to_numpy(dtype=str),
        running_start=running_speed["start_time"].to_numpy(dtype=np.float64),
        running_end=running_speed["end_time"].to_numpy(dtype=np.float64),
        running_velocity=running_speed["velocity"].to_numpy(dtype=np.float64),
        **params,
    )
    return path


def reference_metrics(folder: Path, kind: str) -> pd.DataFrame:
    """Return the reference's metrics of stimulus type ``kind`` written by the script."""
    saved = np.load(folder / f"metrics_{kind}.npz")
    frame = pd.DataFrame({k: saved[k] for k in saved.files if k != "unit_id"})
    frame.index = pd.Index(saved["unit_id"], name="unit_id")
    return frame


def reference_conditions(folder: Path) -> tuple[pd.Series, pd.Series]:
    """Return (condition id of each presentation by start time, frame of each condition id)."""
    saved = np.load(folder / "conditions.npz")
    by_start = pd.Series(saved["stimulus_condition_id"], index=saved["start_time"])
    frame = pd.Series(saved["frame"], index=saved["condition_id"])
    return by_start, frame
