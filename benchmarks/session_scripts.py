"""The work each toolkit does in bench_session, as scripts run in its own interpreter.

Every script gets the file (a path, or an ``http://`` URL for the streamed ones) as
``sys.argv[1]``, does the same work twice in one process (the first call, then the warm call),
and prints one line of JSON: ``first_s``, ``warm_s`` (wall), ``first_cpu_s``, ``warm_cpu_s``
(CPU time of the process: on a shared machine it leaves out waiting for other processes and
for the disk), ``units``, ``spikes``, ``spike_sum`` and ``peak_rss_mb``.
The work ends by summing every unit's spike times (``spike_sum``): a toolkit that hands back
arrays before their values are in memory (brainobs maps contiguous datasets of local files)
pays for bringing them in, as every other row does, and the sums show every row read the same
values.
The streaming scripts also take the file positions of the units to read (``sys.argv[2]``, JSON)
and read only those units' spike times, once.
"""

from __future__ import annotations

#: Runs ``work()`` (which returns (units, spikes, sum of spike times)) twice and prints the
#: figures.
TWICE = """
import gc, json, resource, sys, time
def report(work):
    start, cpu = time.perf_counter(), time.process_time()
    units, spikes, spike_sum = work()
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    work()
    warm, warm_cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_s": first, "warm_s": warm, "first_cpu_s": first_cpu,
                      "warm_cpu_s": warm_cpu, "units": units, "spikes": spikes,
                      "spike_sum": spike_sum, "peak_rss_mb": peak}))
def summed(trains):
    # (number of spikes, sum of their times) of an iterable of arrays: reads every value
    n, total = 0, 0.0
    for train in trains:
        n, total = n + len(train), total + float(train.sum())
    return n, total
"""

BRAINOBS = (
    TWICE
    + """
from brainobs.vbn.session import BehaviorEcephysSession
def work():
    session = BehaviorEcephysSession.from_nwb_path(sys.argv[1])
    units = session.get_units()
    spikes = session.spike_times
    figures = len(units), *summed(spikes.values())
    session.close()
    return figures
report(work)
"""
)

#: Plain h5py: the floor. The same datasets: the units' scalar columns and every spike time.
H5PY = (
    TWICE
    + """
import h5py, numpy as np
SKIP = {"spike_times", "spike_amplitudes", "waveform_mean"}
def read(file):
    with h5py.File(file, "r") as h5:
        table = h5["units"]
        columns = {name: table[name][()] for name in table
                   if name not in SKIP and not name.endswith("_index") and table[name].ndim == 1}
        ends = table["spike_times_index"][()].astype(np.int64)
        flat = table["spike_times"][()]
        spikes = dict(zip(columns["id"].tolist(), np.split(flat, ends[:-1])))
    return len(spikes), *summed(spikes.values())
def work():
    return read(sys.argv[1])
report(work)
"""
)

#: The floor of a memory map: h5py for the columns and the spike times' file offset, then
#: ``np.memmap`` of that contiguous dataset (no checks, no copy).
H5PY_MAP = H5PY.replace(
    'flat = table["spike_times"][()]',
    'data = table["spike_times"]\n'
    '        flat = np.memmap(file, data.dtype, "c", data.id.get_offset(), data.shape)',
)

#: remfile + h5py over loopback HTTP: the floor's reads, streamed.
REMFILE = H5PY.replace(
    "def work():\n    return read(sys.argv[1])",
    "import remfile\ndef work():\n    return read(remfile.File(sys.argv[1]))",
)

PYNWB = (
    TWICE
    + """
from pynwb import NWBHDF5IO
def work():
    with NWBHDF5IO(sys.argv[1], "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe(exclude={"spike_amplitudes", "waveform_mean"})
        return len(units), *summed(units["spike_times"])
report(work)
"""
)

LAZYNWB = (
    TWICE
    + """
import lazynwb
OPTIONS = dict(exact_path=True, disable_progress=True, as_polars=True)
def work():
    units = lazynwb.get_df(sys.argv[1], "/units", exclude_array_columns=True, **OPTIONS)
    spikes = lazynwb.get_df(sys.argv[1], "/units", include_column_names="spike_times",
                            exclude_array_columns=False, **OPTIONS)
    return (len(units), int(spikes["spike_times"].list.len().sum()),
            float(spikes["spike_times"].list.sum().sum()))
report(work)
"""
)

PYNAPPLE = (
    TWICE
    + """
import pynapple as nap
def work():
    nwb = nap.load_file(sys.argv[1])
    units = nwb["units"]
    figures = len(units), *summed(units[u].t for u in units.keys())
    nwb.close()
    return figures
report(work)
"""
)

ALLENSDK = (
    TWICE
    + """
import warnings
warnings.simplefilter("ignore")
from allensdk.brain_observatory.ecephys.behavior_ecephys_session import BehaviorEcephysSession
def work():
    session = BehaviorEcephysSession.from_nwb_path(sys.argv[1])
    units = session.get_units()
    spikes = session.spike_times
    return len(units), *summed(spikes.values())
report(work)
"""
)

#: Streaming one area: read the spike times of the units at the given file positions, once.
STREAM_HEAD = """
import json, sys, time
positions = json.loads(sys.argv[2])
def report(read):
    start = time.perf_counter()
    spikes = read()
    print(json.dumps({"wall_s": time.perf_counter() - start, "spikes": spikes}))
"""

STREAM_BRAINOBS = (
    STREAM_HEAD
    + """
import numpy as np
from brainobs.vbn.session import BehaviorEcephysSession
def read():
    session = BehaviorEcephysSession.from_nwb_path(sys.argv[1])
    units = session.get_units()
    ids = session._file.h5["units/id"][()][positions]  # the asked units, by id
    return sum(len(v) for v in session.get_spike_times(ids).values())
report(read)
"""
)

STREAM_REMFILE = (
    STREAM_HEAD
    + """
import h5py, numpy as np, remfile
def read():
    with h5py.File(remfile.File(sys.argv[1]), "r") as h5:
        table = h5["units"]
        ends = table["spike_times_index"][()].astype(np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        data = table["spike_times"]
        return sum(len(data[starts[p]:ends[p]]) for p in positions)
report(read)
"""
)

STREAM_PYNWB = (
    STREAM_HEAD
    + """
import h5py, remfile
from pynwb import NWBHDF5IO
def read():
    with NWBHDF5IO(file=h5py.File(remfile.File(sys.argv[1]), "r"), mode="r") as io:
        nwb = io.read()
        column = nwb.units["spike_times"]
        return sum(len(column[p]) for p in positions)
report(read)
"""
)

STREAM_LAZYNWB = (
    STREAM_HEAD
    + """
import lazynwb
def read():
    frame = lazynwb.get_df(sys.argv[1], "/units", include_column_names="spike_times",
                           exclude_array_columns=False, exact_path=True, disable_progress=True,
                           nwb_path_to_row_indices={sys.argv[1]: positions}, as_polars=True)
    return int(frame["spike_times"].list.len().sum())
report(read)
"""
)
