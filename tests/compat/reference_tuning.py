"""Run by the reference toolkit's Python (AllenSDK 2.16.2): its stimulus-analysis classes.

Usage: python reference_tuning.py INPUT OUT_DIR MODE [N_UNITS]

Builds a real ``allensdk.brain_observatory.ecephys.ecephys_session.EcephysSession`` over a
minimal ``EcephysSessionApi`` serving the given spike times, presentations (the NWB form: one
row per presentation, NaN where a stimulus has no such parameter) and running speed. The
session builds its own stimulus table (names, "null" filling, condition ids); the metrics are
then those of the AllenSDK's ``DriftingGratings``, ``StaticGratings``, ``NaturalScenes``,
``Flashes``, ``ReceptiveFieldMapping`` and ``DotMotion`` classes (each only where its stimulus
is shown).

INPUT is a VCN session NWB file (``.nwb``: ``EcephysSession.from_nwb_path``, default unit
filters) or an .npz that holds ``unit_ids``, ``spike_offsets``, ``spike_data``, ``start_time``,
``stop_time``, ``stimulus_block``, ``stimulus_index``, ``stimulus_name`` (strings), one float
array per parameter column (``param_<name>``), and ``running_start``, ``running_end``,
``running_velocity``.

MODE ``compat`` writes ``metrics_<class>.npz`` (index and every column as float),
``conditions.npz`` (the session's condition id of every presentation and each condition's
``frame``) to OUT_DIR. MODE ``bench`` runs the classes on the first N_UNITS units (and writes
their metrics). Both print the wall time of each class's ``metrics`` as JSON on the last line.
"""

import json
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from allensdk.brain_observatory.ecephys.ecephys_session import EcephysSession  # noqa: E402
from allensdk.brain_observatory.ecephys.ecephys_session_api import (  # noqa: E402
    EcephysSessionApi,
)
from allensdk.brain_observatory.ecephys.stimulus_analysis import (  # noqa: E402
    DotMotion,
    DriftingGratings,
    Flashes,
    NaturalScenes,
    ReceptiveFieldMapping,
    StaticGratings,
)

CLASSES = {
    "dg": (DriftingGratings, "drifting_gratings"),
    "sg": (StaticGratings, "static_gratings"),
    "ns": (NaturalScenes, "natural_scenes"),
    "fl": (Flashes, "flash"),
    "rf": (ReceptiveFieldMapping, "gabor"),
    "dm": (DotMotion, "dot_motion"),
}


class ArraysApi(EcephysSessionApi):
    """An EcephysSessionApi serving in-memory arrays (one probe, one channel per unit)."""

    def __init__(self, arrays):
        self.arrays = arrays

    def get_spike_times(self):
        ids, offsets, data = (self.arrays[k] for k in ("unit_ids", "spike_offsets", "spike_data"))
        return {int(u): data[offsets[i] : offsets[i + 1]] for i, u in enumerate(ids)}

    def get_units(self):
        ids = self.arrays["unit_ids"]
        return pd.DataFrame({"peak_channel_id": np.arange(ids.size)}, index=pd.Index(ids))

    def get_channels(self):
        n = self.arrays["unit_ids"].size
        return pd.DataFrame(
            {
                "probe_id": np.zeros(n, dtype=np.int64),
                "probe_vertical_position": np.arange(n),
                "probe_horizontal_position": np.zeros(n),
            },
            index=pd.Index(np.arange(n), name="id"),
        )

    def get_probes(self):
        return pd.DataFrame({"description": ["probeA"]}, index=pd.Index([0], name="id"))

    def get_invalid_times(self):
        return pd.DataFrame(columns=["start_time", "stop_time", "tags"])

    def get_running_speed(self):
        a = self.arrays
        return pd.DataFrame(
            {
                "start_time": a["running_start"],
                "end_time": a["running_end"],
                "velocity": a["running_velocity"],
            }
        )

    def get_stimulus_presentations(self):
        a = self.arrays
        frame = pd.DataFrame(
            {
                "start_time": a["start_time"],
                "stop_time": a["stop_time"],
                "stimulus_name": a["stimulus_name"].astype(object),
                "stimulus_block": a["stimulus_block"],
                "stimulus_index": a["stimulus_index"],
            }
        )
        for key in a.files:
            if key.startswith("param_"):
                frame[key[len("param_") :]] = a[key]
        return frame


def save_metrics(frame, path):
    """Write a metrics frame as arrays: the index and every column as float."""
    columns = {"unit_id": frame.index.to_numpy(dtype=np.int64)}
    for name in frame.columns:
        columns[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    np.savez(path, **columns)


def run_classes(session, units, out):
    """Compute each shown stimulus's metrics; return the wall time of each."""
    names = set(session.stimulus_presentations["stimulus_name"].unique())
    times = {}
    for key, (cls, prefix) in CLASSES.items():
        if not any(str(n).startswith(prefix) for n in names):
            continue
        analysis = cls(session, filter=list(units))
        start = time.perf_counter()
        metrics = analysis.metrics
        times[key] = time.perf_counter() - start
        if out is not None:
            save_metrics(metrics, out / f"metrics_{key}.npz")
    return times


def save_conditions(session, out):
    """Write each presentation's condition id and each condition's frame."""
    table = session.stimulus_presentations
    conditions = session.stimulus_conditions
    frame = pd.to_numeric(conditions.get("frame"), errors="coerce")
    np.savez(
        out / "conditions.npz",
        start_time=table["start_time"].to_numpy(dtype=np.float64),
        stimulus_condition_id=table["stimulus_condition_id"].to_numpy(dtype=np.int64),
        condition_id=conditions.index.to_numpy(dtype=np.int64),
        frame=frame.to_numpy(dtype=np.float64),
    )


def open_session(source):
    """Return (session, unit ids) from an NWB file or the arrays of an .npz file."""
    if source.endswith(".nwb"):
        session = EcephysSession.from_nwb_path(source)
        return session, session.units.index.to_numpy()
    arrays = np.load(source, allow_pickle=False)
    return EcephysSession(api=ArraysApi(arrays)), arrays["unit_ids"]


def main():
    """Build the session, run the requested mode, print the timings as JSON."""
    if sys.argv[3] == "compat":  # the benchmark times the reference as users get it
        from reference_dump import read_each_file_once  # tests/compat is on the path

        read_each_file_once()
    session, units = open_session(sys.argv[1])
    out, mode = Path(sys.argv[2]), sys.argv[3]
    built = (session.units, session.spike_times, session.stimulus_presentations)
    del built  # the AllenSDK builds its tables lazily: build them before timing
    if mode == "compat":
        save_conditions(session, out)
        figures = run_classes(session, units, out)
    else:
        figures = run_classes(session, units[: int(sys.argv[4])], out)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
