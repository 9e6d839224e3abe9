"""Run by the reference toolkit's Python (AllenSDK 2.16.2): the VCN cache and session, dumped.

Usage:
  python reference_vcn.py dump COMPAT_DIR OUT MANIFEST SESSION_ID PROBE_ID
  python reference_vcn.py warehouse COMPAT_DIR MANIFEST HOST SESSION_ID PROBE_ID

``dump`` opens the cache folder of MANIFEST (``EcephysProjectCache`` over a fixed API; the
reference's ``fixed()`` itself fails in 2.16.2) and writes to OUT, with reference_dump.py's
writers: the cache's tables, and of session SESSION_ID its tables, presentationwise counts,
conditionwise statistics (counts and rates), LFP of PROBE_ID (masked and not) and CSD.
``warehouse`` fills the folder of MANIFEST from the warehouse at HOST (``from_warehouse``):
the tables, the metrics of both session types and the session's NWB and LFP files. Both print
a JSON summary on their last line.
"""

import json
import sys
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402

EDGES = np.arange(0.0, 0.26, 0.01)


def dump(out, manifest, session_id, probe_id):
    from allensdk.brain_observatory.ecephys.ecephys_project_api import EcephysProjectFixedApi
    from allensdk.brain_observatory.ecephys.ecephys_project_cache import EcephysProjectCache
    from reference_dump import dump_dict, dump_frame

    cache = EcephysProjectCache(
        manifest=manifest, fetch_api=EcephysProjectFixedApi(), stream_writer=lambda *a: None
    )
    for name, table in (
        ("cache_sessions", cache.get_session_table()),
        ("cache_probes", cache.get_probes()),
        ("cache_channels", cache.get_channels()),
        ("cache_units", cache.get_units()),
        ("cache_units_relaxed", cache.get_units(amplitude_cutoff_maximum=np.inf)),
        ("cache_metrics", cache.get_unit_analysis_metrics_by_session_type("brain_observatory_1.1")),
    ):
        dump_frame(table, out / f"{name}.json")
    session = cache.get_session_data(session_id)
    for name in (
        "probes",
        "channels",
        "units",
        "stimulus_presentations",
        "stimulus_conditions",
        "invalid_times",
        "running_speed",
        "optogenetic_stimulation_epochs",
    ):
        dump_frame(getattr(session, name), out / f"{name}.json")
    dump_frame(session.inter_presentation_intervals.reset_index(), out / "intervals.json")
    dump_frame(session.get_stimulus_epochs(duration_thresholds={}), out / "epochs.json")
    for name, table in (
        ("pupil", session.get_pupil_data()),
        ("gaze", session.get_screen_gaze_data(include_filtered_data=True)),
    ):
        if table is not None:
            dump_frame(table, out / f"{name}.json")
    dump_dict(session.metadata, out / "metadata.json")
    table = session.stimulus_presentations
    ids = table.index[table["stimulus_name"].isin(["flashes", "static_gratings"])].values
    units = session.units.index.values
    counts = session.presentationwise_spike_counts(EDGES, ids, units)
    np.savez(out / "counts.npz", counts=counts.values, ids=ids, units=units)
    gabors = table.index[table["stimulus_name"] == "gabors"].values
    for rates in (False, True):
        stats = session.conditionwise_spike_statistics(gabors, units, use_rates=rates)
        dump_frame(
            stats.reset_index(), out / f"conditionwise_{'rates' if rates else 'counts'}.json"
        )
    for mask in (True, False):
        lfp = session.get_lfp(probe_id, mask_invalid_intervals=mask)
        np.savez(
            out / f"lfp_{mask}.npz",
            data=lfp.values,
            time=lfp["time"].values,
            channel=lfp["channel"].values,
        )
    csd = session.get_current_source_density(probe_id)
    np.savez(out / "csd.npz", data=csd.values, time=csd["time"].values)
    spikes = session.spike_times
    np.savez(out / "spike_times.npz", **{str(k): v for k, v in spikes.items()})
    return {"units": len(units), "presentations": len(table)}


def warehouse(manifest, host, session_id, probe_id):
    from allensdk.brain_observatory.ecephys.ecephys_project_cache import EcephysProjectCache

    cache = EcephysProjectCache.from_warehouse(scheme="http", host=host, manifest=manifest)
    units = cache.get_units()
    cache.get_channels()
    for session_type in cache.get_all_session_types():
        cache.get_unit_analysis_metrics_by_session_type(session_type)
    session = cache.get_session_data(session_id)
    lfp = session.get_lfp(probe_id)
    return {"units": len(units), "session_units": len(session.units), "lfp": list(lfp.shape)}


def main():
    mode, compat = sys.argv[1], sys.argv[2]
    sys.path.insert(0, compat)
    if mode == "dump":
        from reference_dump import read_each_file_once

        read_each_file_once()
        out, manifest, session_id, probe_id = sys.argv[3:7]
        result = dump(Path(out), manifest, int(session_id), int(probe_id))
    else:
        manifest, host, session_id, probe_id = sys.argv[3:7]
        result = warehouse(manifest, host, int(session_id), int(probe_id))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
