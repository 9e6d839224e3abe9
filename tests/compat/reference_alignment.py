"""Run by the reference toolkit's Python (AllenSDK 2.16.2): its presentationwise algorithms.

Usage: python reference_alignment.py INPUT_NPZ PARAMETERS_JSON OUT_DIR MODE [N_UNITS]

VBN sessions in the AllenSDK have no presentationwise methods, so this builds a real
``allensdk.brain_observatory.ecephys.ecephys_session.EcephysSession`` over a minimal
``EcephysSessionApi`` that serves the given spike times, units and presentations. Every number
then comes from the AllenSDK's own code: its table building (``_build_stimulus_presentations``
numbers the stimulus conditions, ``_build_units_table``, ``_build_spike_times``) and its
``presentationwise_spike_counts``, ``presentationwise_spike_times`` and
``conditionwise_spike_statistics``.

INPUT_NPZ holds ``unit_ids``, ``spike_offsets`` (n_units + 1), ``spike_data`` (all spike times,
unit after unit), ``presentation_ids``, ``start_time``, ``stop_time``, ``stimulus_block`` and
``bin_edges``; PARAMETERS_JSON the other presentation columns (``{name: {"dtype", "values"}}``).

MODE ``compat`` writes ``counts.npy``, ``spike_times.npz``, ``stats_counts.npz``,
``stats_rates.npz`` and ``conditions.npy`` to OUT_DIR. MODE ``bench`` times
``presentationwise_spike_counts`` for the first N_UNITS units and all presentations (and writes
their ``counts.npy``). Both print
the wall time, CPU time and peak traced memory of the timed call as JSON on the last line.
"""

import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from allensdk.brain_observatory.ecephys.ecephys_session import EcephysSession  # noqa: E402
from allensdk.brain_observatory.ecephys.ecephys_session_api import (  # noqa: E402
    EcephysSessionApi,
)


class ArraysApi(EcephysSessionApi):
    """An EcephysSessionApi serving in-memory arrays (one probe, one channel per unit)."""

    def __init__(self, arrays, parameters):
        self.arrays = arrays
        self.parameters = parameters

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

    def get_stimulus_presentations(self):
        a = self.arrays
        frame = pd.DataFrame(
            {
                "start_time": a["start_time"],
                "stop_time": a["stop_time"],
                "stimulus_block": a["stimulus_block"],
                "stimulus_index": np.zeros(a["start_time"].size, dtype=np.int64),
            },
            index=pd.Index(a["presentation_ids"]),
        )
        for name, column in self.parameters.items():
            values = [np.nan if v is None else v for v in column["values"]]
            if column["dtype"] == "boolean":
                values = [pd.NA if v is None else v for v in column["values"]]
            frame[name] = pd.Series(values, index=frame.index, dtype=column["dtype"])
        return frame


def timed(run):
    """Return (result, wall s, cpu s, peak traced bytes) of ``run()``."""
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, wall, cpu, peak


def save_stats(frame, path):
    """Write a conditionwise statistics frame as arrays (index levels and columns)."""
    flat = frame.reset_index()
    np.savez(path, **{str(c): flat[c].to_numpy(dtype=np.float64) for c in flat.columns})


def compat(session, arrays, out):
    """Write the three methods' results on all presentations and units to ``out``."""
    ids, units, edges = arrays["presentation_ids"], arrays["unit_ids"], arrays["bin_edges"]
    counts, wall, cpu, peak = timed(
        lambda: session.presentationwise_spike_counts(edges, ids, units)
    )
    np.save(out / "counts.npy", counts.values)
    spikes = session.presentationwise_spike_times(ids, units)
    np.savez(
        out / "spike_times.npz",
        spike_time=spikes.index.to_numpy(dtype=np.float64),
        stimulus_presentation_id=spikes["stimulus_presentation_id"].to_numpy(dtype=np.int64),
        unit_id=spikes["unit_id"].to_numpy(dtype=np.int64),
        offset=spikes["time_since_stimulus_presentation_onset"].to_numpy(dtype=np.float64),
    )
    save_stats(session.conditionwise_spike_statistics(ids, units), out / "stats_counts.npz")
    save_stats(
        session.conditionwise_spike_statistics(ids, units, use_rates=True),
        out / "stats_rates.npz",
    )
    conditions = session.stimulus_presentations.loc[ids, "stimulus_condition_id"]
    np.save(out / "conditions.npy", conditions.to_numpy(dtype=np.int64))
    return {"wall_s": wall, "cpu_s": cpu, "peak_bytes": peak, "output_bytes": counts.nbytes}


def bench(session, arrays, n_units, out):
    """Time presentationwise_spike_counts for the first ``n_units`` units (counts to ``out``)."""
    units = arrays["unit_ids"][:n_units]
    ids, edges = arrays["presentation_ids"], arrays["bin_edges"]
    counts, wall, cpu, peak = timed(
        lambda: session.presentationwise_spike_counts(edges, ids, units)
    )
    total = int(counts.values.sum(dtype=np.int64))
    np.save(out / "counts.npy", counts.values)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_bytes": peak,
        "output_bytes": int(counts.nbytes),
        "units": int(units.size),
        "total_count": total,
    }


def main():
    """Build the session, run the requested mode, print its figures as JSON."""
    arrays = dict(np.load(sys.argv[1]))
    parameters = json.loads(Path(sys.argv[2]).read_text())
    out, mode = Path(sys.argv[3]), sys.argv[4]
    session = EcephysSession(api=ArraysApi(arrays, parameters))
    built = (session.units, session.spike_times, session.stimulus_presentations)
    del built  # the AllenSDK builds its tables lazily: build them before timing
    if mode == "compat":
        figures = compat(session, arrays, out)
    else:
        figures = bench(session, arrays, int(sys.argv[5]), out)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
