"""Run by the reference toolkit's Python (AllenSDK 2.16.2): dump VBO files' tables to a folder.

Usage: python reference_dump_vbo.py HERE OUT BEHAVIOR_NWB EXPERIMENT_NWB [EXPERIMENT_NWB ...]

``HERE`` is this folder (to import reference_dump.py's writers). For the behavior-only file the
behaviour tables go to ``behavior_*``; for each experiment file ``<k>_*`` (k = 0, 1, ...): its
behaviour tables, the cell specimen table (masks in ``<k>_arrays.npz``), every trace table
(one row per cell; the arrays in the .npz), the images with their spacing, timestamps, motion
correction and metadata. It prints the wall time and peak RSS of its own work last.
"""

import json
import resource
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])

import numpy as np  # noqa: E402
from reference_dump import dump_dict, dump_frame, dump_session  # noqa: E402

TRACES = (
    "dff_traces",
    "events",
    "corrected_fluorescence_traces",
    "demixed_traces",
    "neuropil_traces",
)


def dump_experiment(experiment, out, prefix):
    """Write an experiment's cells, traces, images and metadata, and its behaviour tables."""
    arrays = {}
    cells = experiment.cell_specimen_table
    arrays["roi_mask"] = np.stack(cells["roi_mask"].to_list())
    dump_frame(cells.drop(columns=["roi_mask"]), out / f"{prefix}_cell_specimen_table.json")
    for name in TRACES:
        table = getattr(experiment, name)
        columns = [c for c in table.columns if isinstance(table[c].iloc[0], np.ndarray)]
        for column in columns:
            arrays[f"{name}.{column}"] = np.stack(table[column].to_list())
        dump_frame(table.drop(columns=columns), out / f"{prefix}_{name}.json")
    for name in ("max_projection", "average_projection", "segmentation_mask_image"):
        image = getattr(experiment, name)
        arrays[name] = np.asarray(image.data)
        arrays[f"{name}.spacing"] = np.asarray(image.spacing, dtype=float)
    arrays["ophys_timestamps"] = experiment.ophys_timestamps
    _, dff = experiment.get_dff_traces()
    arrays["get_dff_traces"] = dff
    arrays["cell_specimen_ids"] = experiment.get_cell_specimen_ids().astype(np.int64)
    np.savez(out / f"{prefix}_arrays.npz", **arrays)
    dump_frame(experiment.motion_correction, out / f"{prefix}_motion_correction.json")
    dump_frame(experiment.roi_masks.drop(columns=["roi_mask"]), out / f"{prefix}_roi_masks.json")
    dump_dict(experiment.metadata, out / f"{prefix}_ophys_metadata.json")
    ids = {
        "ophys_experiment_id": int(experiment.ophys_experiment_id),
        "ophys_session_id": int(experiment.ophys_session_id),
        "members": experiment.list_data_attributes_and_methods(),
        "unit": experiment.max_projection.unit,
    }
    (out / f"{prefix}_ids.json").write_text(json.dumps(ids))
    dump_session(experiment, out, prefix)


def main():
    from allensdk.brain_observatory.behavior.behavior_ophys_experiment import (
        BehaviorOphysExperiment,
    )
    from allensdk.brain_observatory.behavior.behavior_session import BehaviorSession

    out = Path(sys.argv[2])
    start = time.perf_counter()
    dump_session(BehaviorSession.from_nwb_path(sys.argv[3]), out, "behavior")
    for k, path in enumerate(sys.argv[4:]):
        dump_experiment(BehaviorOphysExperiment.from_nwb_path(path), out, f"experiment{k}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": time.perf_counter() - start, "peak_rss_kb": peak}))


if __name__ == "__main__":
    main()
