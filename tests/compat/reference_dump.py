"""Run by the reference toolkit's Python (AllenSDK 2.16.2): dump a session's tables to a folder.

Usage: python reference_dump.py OUT ECEPHYS_NWB BEHAVIOR_NWB PROBE_NAME LFP_NWB LFP_RATE T0 T1

Tables go to ``<name>.json`` (index, and per column its dtype and values; NaN as JSON NaN,
array cells as lists); per-unit arrays, templates and LFP to ``.npz``. It prints the wall time
and peak RSS of its own work as JSON on its last line.
"""

import json
import resource
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def cell(value):
    """Return a JSON-able cell (arrays as lists, numpy scalars as Python values)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is None:
        return None
    return value


def dump_frame(frame, path):
    """Write a DataFrame with its index name, index and column dtypes."""
    doc = {
        "index_name": frame.index.name,
        "index_dtype": str(frame.index.dtype),
        "index": [cell(v) for v in frame.index],
        "columns": {
            str(name): {"dtype": str(frame[name].dtype), "values": [cell(v) for v in frame[name]]}
            for name in frame.columns
        },
        "order": [str(c) for c in frame.columns],
    }
    Path(path).write_text(json.dumps(doc))


def dump_dict(value, path):
    """Write a dict (metadata, task parameters, metrics) as JSON-able text."""

    def plain(v):
        if hasattr(v, "isoformat"):
            return v.isoformat()
        if isinstance(v, (list, tuple)) or type(v).__name__ == "Coordinates":
            return [plain(x) for x in v]
        if isinstance(v, (np.generic, np.ndarray)):
            return cell(v)
        if v is None or isinstance(v, (int, float, str, bool)):
            return v
        return str(v)

    Path(path).write_text(json.dumps({k: plain(v) for k, v in value.items()}))


def read_each_file_once():
    """Make the reference's ``NwbApi.nwbfile`` read a file once, not on every property.

    In 2.16.2 every session property opens and parses the whole file again (about 10 s each on
    the VCN sample, 18 times in its dump). The objects read are the same; only the re-reading
    goes. For the compatibility suite only: the benchmarks time the reference as users get it.
    """
    import pynwb
    from allensdk.brain_observatory.nwb.nwb_api import NwbApi

    files = {}

    def nwbfile(api):
        if hasattr(api, "_nwbfile"):
            return api._nwbfile
        if api.path not in files:
            files[api.path] = pynwb.NWBHDF5IO(api.path, "r", load_namespaces=True).read()
        return files[api.path]

    NwbApi.nwbfile = property(nwbfile)


def dump_session(session, out, prefix):
    """Write the behaviour tables of a session."""
    for name in (
        "trials",
        "stimulus_presentations",
        "licks",
        "rewards",
        "running_speed",
        "raw_running_speed",
        "eye_tracking",
    ):
        dump_frame(getattr(session, name), out / f"{prefix}_{name}.json")
    dump_frame(session.get_rolling_performance_df(), out / f"{prefix}_rolling.json")
    dump_dict(session.metadata, out / f"{prefix}_metadata.json")
    dump_dict(session.task_parameters, out / f"{prefix}_task_parameters.json")
    dump_dict(session.get_performance_metrics(), out / f"{prefix}_metrics.json")
    dump_dict(session.eye_tracking_rig_geometry, out / f"{prefix}_rig.json")
    templates = session.stimulus_templates
    np.savez(
        out / f"{prefix}_templates.npz",
        names=np.array(templates.index, dtype=str),
        unwarped=np.stack(templates["unwarped"]),
        warped=np.stack(templates["warped"]),
    )
    np.save(out / f"{prefix}_stimulus_timestamps.npy", session.stimulus_timestamps)
    np.save(out / f"{prefix}_reward_rate.npy", session.get_reward_rate())


def main():
    from allensdk.brain_observatory.behavior.behavior_session import BehaviorSession
    from allensdk.brain_observatory.ecephys._probe import ProbeWithLFPMeta
    from allensdk.brain_observatory.ecephys.behavior_ecephys_session import (
        BehaviorEcephysSession,
    )

    out = Path(sys.argv[1])
    ecephys_path, behavior_path, probe_name, lfp_path = sys.argv[2:6]
    lfp_rate, t0, t1 = (float(x) for x in sys.argv[6:9])
    start = time.perf_counter()
    meta = {
        probe_name: ProbeWithLFPMeta(lfp_csd_filepath=Path(lfp_path), lfp_sampling_rate=lfp_rate)
    }
    session = BehaviorEcephysSession.from_nwb_path(ecephys_path, probe_meta=meta)
    dump_frame(session.get_units(), out / "units.json")
    dump_frame(session.get_channels(filter_by_validity=False), out / "channels.json")
    dump_frame(session.probes, out / "probes.json")
    dump_frame(session.optotagging_table, out / "optotagging.json")
    for name in ("spike_times", "spike_amplitudes"):
        arrays = getattr(session, name)
        np.savez(out / f"{name}.npz", **{str(k): v for k, v in arrays.items()})
    waveforms = session.mean_waveforms
    first = list(waveforms)[:5]
    np.savez(out / "mean_waveforms.npz", **{str(k): waveforms[k] for k in first})
    dump_session(session, out, "ecephys")
    probe_id = int(session.probes.index[session.probes["name"] == probe_name][0])
    lfp = session.get_lfp(probe_id).sel(time=slice(t0, t1))
    np.savez(
        out / "lfp.npz",
        data=lfp.values,
        time=lfp["time"].values,
        channel=lfp["channel"].values,
        probe_id=probe_id,
    )
    csd = session.get_current_source_density(probe_id)
    np.savez(
        out / "csd.npz",
        data=csd.values,
        time=csd["time"].values,
        vertical=csd["vertical_position"].values,
        horizontal=csd["horizontal_position"].values,
    )
    dump_session(BehaviorSession.from_nwb_path(behavior_path), out, "behavior")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": time.perf_counter() - start, "peak_rss_kb": peak}))


if __name__ == "__main__":
    main()
