"""The work each side does in bench_alignment on a session file, as scripts for a child process.

Every script gets the session NWB (``sys.argv[1]``), the number of bins and their width, and
how many units to count (``0``: all); it reads the spike times and the task block's
presentations (not timed), then counts every unit's spikes in every presentation's bins twice
(the first call in the fresh process, then the warm call), and prints one line of JSON:
``first_s``, ``warm_s``, ``cpu_s`` (warm call), ``first_cpu_s``, ``output_bytes``,
``extra_peak_bytes`` (memory traced beyond the output during a third call; -1 when not
traced), ``units``, ``spikes`` and ``checksum`` (a hash of the first ``CHECK_UNITS`` units'
counts).
"""

from __future__ import annotations

#: Reads the inputs with h5py alone (the task block: stimulus_block 0 of the presentations).
INPUTS = """
import gc, hashlib, json, sys, time, tracemalloc
import h5py, numpy as np
CHECK_UNITS = 20
path, n_bins, width, n_units = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
with h5py.File(path, "r") as h5:
    ends = h5["units/spike_times_index"][()].astype(np.int64)
    flat = h5["units/spike_times"][()]
    ids = h5["units/id"][()]
    blocks = h5["intervals"]
    starts, block_ids = [], []
    for name in blocks:
        table = blocks[name]
        if "stimulus_block" in table and "start_time" in table:
            starts.append(table["start_time"][()])
            block_ids.append(table["stimulus_block"][()])
starts, block_ids = np.concatenate(starts), np.concatenate(block_ids)
onsets = np.sort(starts[block_ids == 0])
n_units = len(ids) if n_units <= 0 else n_units
bounds = np.concatenate([[0], ends])
spikes = {int(u): flat[bounds[i]:bounds[i + 1]] for i, u in enumerate(ids[:n_units])}
edges = np.arange(n_bins + 1) * width

def checksum(counts):
    return hashlib.sha1(np.ascontiguousarray(counts[:CHECK_UNITS], dtype=np.int64)).hexdigest()

def report(count):
    start, cpu = time.perf_counter(), time.process_time()
    first = count()
    first_s, first_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    digest, output = checksum(first), int(first.nbytes)
    del first
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    warm = count()
    warm_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    del warm
    gc.collect()
    extra = -1
    if "--trace" in sys.argv:
        tracemalloc.start()
        traced = count()
        extra = tracemalloc.get_traced_memory()[1] - int(traced.nbytes)
        tracemalloc.stop()
    print(json.dumps({"first_s": first_s, "warm_s": warm_s, "cpu_s": cpu_s,
                      "first_cpu_s": first_cpu_s,
                      "output_bytes": output, "extra_peak_bytes": extra, "units": len(spikes),
                      "spikes": int(sum(v.size for v in spikes.values())), "checksum": digest}))
"""

#: brainobs: the pure function (unit, presentation, bin) buffer, as the session method uses.
BRAINOBS = (
    INPUTS
    + """
import pandas as pd
from brainobs.analysis.alignment import presentationwise_spike_counts
table = pd.DataFrame({"start_time": onsets, "stop_time": onsets + edges[-1]})
def count():
    result = presentationwise_spike_counts(spikes, table, edges)
    return result.data.transpose(2, 0, 1)  # the (unit, presentation, bin) buffer, no copy
report(count)
"""
)

#: The numpy-only floor: the work any per-unit numpy method must do, and nothing else:
#: allocate the output and write every cell once (np.empty + fill: the kernel zeroes each
#: page on first touch, then one user write), and one search of the window bounds per unit.
FLOOR = (
    INPUTS
    + """
keys = np.sort(np.concatenate([onsets, onsets + edges[-1]]))
def count():
    out = np.empty((len(spikes), onsets.size, n_bins), np.uint16)
    out.fill(0)
    for times in spikes.values():
        np.searchsorted(times, keys)
    return out
report(count)
"""
)

#: pynapple: ``build_tensor`` counts a TsGroup in the bins of every interval of an IntervalSet.
PYNAPPLE = (
    INPUTS
    + """
import pynapple as nap
group = nap.TsGroup({u: nap.Ts(t) for u, t in spikes.items()})
windows = nap.IntervalSet(start=onsets, end=onsets + edges[-1])
def count():
    tensor = nap.build_tensor(group, windows, bin_size=width)
    return np.nan_to_num(np.asarray(tensor)).astype(np.uint16)
report(count)
"""
)
