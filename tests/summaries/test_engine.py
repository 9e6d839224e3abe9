"""The summary engine: reuse, resume, corruption, changed files, failures, subsets."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.sample import SampleRelease
from brainobs.storage.manifest import Manifest, entry_for_file
from brainobs.summaries import SummaryRun, summarize, summary
from brainobs.summaries.store import SummaryStore
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from tests.summaries.helpers import Counting, assert_same_tables, failing, read_tables, with_compute


@pytest.fixture
def out(serial_run: SummaryRun, tmp_path: Path) -> Path:
    """A copy of the serial run's tables, for a test to change."""
    target = tmp_path / "summaries"
    shutil.copytree(serial_run.out, target)
    return target


def _ids(cache: Cache) -> list[int]:
    return [int(i) for i in cache.get_ecephys_session_table().index]


def test_a_rerun_computes_nothing(many_cache: Cache, out: Path) -> None:
    counter = Counting()
    run = summarize(many_cache, out=out, summaries=counter.summaries())
    assert counter.calls == [] and run.computed == []
    assert sorted(run.reused) == sorted(_ids(many_cache))


def test_an_interrupted_run_resumes_without_recomputing(
    many_cache: Cache, tmp_path: Path, serial_tables: dict[str, pd.DataFrame]
) -> None:
    ids = _ids(many_cache)
    interrupted = Counting(interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        summarize(many_cache, out=tmp_path, summaries=interrupted.summaries())
    assert interrupted.calls == ids[:3]
    assert SummaryStore(tmp_path).session_ids("units") == sorted(ids[:2])  # written as they came
    resumed = Counting()
    run = summarize(many_cache, out=tmp_path, summaries=resumed.summaries())
    assert resumed.calls == ids[2:] and sorted(run.reused) == sorted(ids[:2])
    assert_same_tables(read_tables(tmp_path), serial_tables)


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))


def test_corrupt_partitions_are_detected_and_rebuilt(
    many_cache: Cache, out: Path, serial_tables: dict[str, pd.DataFrame]
) -> None:
    ids = _ids(many_cache)
    store = SummaryStore(out)
    _flip_bytes(store.path("units", ids[0]))
    truncated = store.path("sessions", ids[1])
    truncated.write_bytes(truncated.read_bytes()[:-100])
    counter = Counting()
    run = summarize(many_cache, out=out, summaries=counter.summaries())
    assert sorted(counter.calls) == sorted(ids[:2]) and sorted(run.computed) == sorted(ids[:2])
    assert "units corrupt" in run.rebuilt[ids[0]] and "sessions corrupt" in run.rebuilt[ids[1]]
    assert_same_tables(read_tables(out), serial_tables)


def _release_with_changed_session(release: SampleRelease, target: Path, session_id: int) -> Path:
    """Copy the release; double the firing_rate of session_id's units and re-hash its file."""
    shutil.copytree(release.root, target)
    manifest_path = target / release.manifest_path.relative_to(release.root)
    manifest = Manifest.from_path(manifest_path)
    file_id = next(
        k for k, e in manifest.data_files.items() if e.key.endswith(f"_{session_id}.nwb")
    )
    entry = manifest.data_files[file_id]
    path = target / entry.key
    with h5py.File(path, "r+") as h5:
        h5["units/firing_rate"][...] = h5["units/firing_rate"][...] * 2
    data = {**manifest.data_files, file_id: entry_for_file(path, entry.url, entry.version_id)}
    manifest_path.write_text(dataclasses.replace(manifest, data_files=data).to_json())
    return target


def test_a_changed_file_recomputes_that_session_only(
    many_release: SampleRelease,
    many_cache: Cache,
    out: Path,
    tmp_path: Path,
    serial_tables: dict[str, pd.DataFrame],
) -> None:
    changed = _ids(many_cache)[1]
    root = _release_with_changed_session(many_release, tmp_path / "bucket", changed)
    cache = Cache.from_source(str(root), tmp_path / "cache")
    counter = Counting()
    run = summarize(cache, out=out, summaries=counter.summaries())
    assert counter.calls == [changed] and run.computed == [changed]
    assert "file_hash changed" in run.rebuilt[changed]
    units = read_tables(out)["units"]
    before = serial_tables["units"]
    mine = (units["ecephys_session_id"] == changed).to_numpy()
    np.testing.assert_allclose(units["firing_rate"][mine], 2 * before["firing_rate"][mine])
    pd.testing.assert_frame_equal(units[~mine], before[~mine])


def test_a_failing_session_is_reported_and_the_others_kept(
    many_cache: Cache, tmp_path: Path, serial_tables: dict[str, pd.DataFrame]
) -> None:
    ids = _ids(many_cache)
    bad = ids[1]
    run = summarize(many_cache, out=tmp_path, summaries=failing(bad))
    assert list(run.failures) == [bad] and sorted(run.computed) == sorted(set(ids) - {bad})
    failure = run.failures[bad]
    assert failure.error_type == "ValueError" and "simulated failure" in failure.message
    assert "failing_compute" in failure.traceback
    recorded = json.loads((tmp_path / "_failures.json").read_text())
    assert [r["session_id"] for r in recorded] == [bad] and "Traceback" in recorded[0]["traceback"]
    assert bad not in SummaryStore(tmp_path).session_ids("units")
    assert f"failed session {bad}: ValueError" in run.describe()
    counter = Counting()
    again = summarize(many_cache, out=tmp_path, summaries=counter.summaries())
    assert counter.calls == [bad] and again.ok
    assert json.loads((tmp_path / "_failures.json").read_text()) == []
    assert_same_tables(read_tables(tmp_path), serial_tables)


def test_a_subset_of_sessions(many_cache: Cache, tmp_path: Path) -> None:
    ids = _ids(many_cache)
    run = summarize(many_cache, [ids[2]], out=tmp_path)
    assert run.computed == [ids[2]]
    assert summary("vbn", "sessions", out=tmp_path).to_table().num_rows == 1
    with pytest.raises(UnknownIdError, match="cover no session"):
        summarize(many_cache, [123], out=tmp_path)


def test_a_table_missing_declared_columns_fails_its_session(
    many_cache: Cache, tmp_path: Path
) -> None:
    from brainobs.vbn.summary import SUMMARIES

    def without_snr(cache: Any, task: Any) -> Any:
        result = SUMMARIES.compute(cache, task)
        result.tables["units"] = result.tables["units"].drop(columns=["snr"])
        return result

    run = summarize(
        many_cache, _ids(many_cache)[:1], out=tmp_path, summaries=with_compute(without_snr)
    )
    assert "lacks ['snr']" in next(iter(run.failures.values())).message


def test_a_release_without_summaries_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brainobs.releases as releases

    undeclared = dataclasses.replace(releases.RELEASES["vcn"], summaries=None)
    monkeypatch.setattr(releases, "RELEASES", {**releases.RELEASES, "vcn": undeclared})
    with pytest.raises(InvalidInputError, match="no dataset-wide summaries of Visual Coding"):
        summary("vcn", out=tmp_path)


def test_an_empty_summary_has_its_columns(tmp_path: Path) -> None:
    table = summary("vbn", "units", out=tmp_path).to_table()
    assert table.num_rows == 0 and "novelty_modulation" in table.column_names


def test_force_recomputes_everything(many_cache: Cache, out: Path) -> None:
    counter = Counting()
    run = summarize(many_cache, out=out, summaries=counter.summaries(), force=True)
    assert sorted(counter.calls) == sorted(_ids(many_cache)) and run.reused == []


def test_a_release_without_manifest_hashes_keys_sessions_its_own_way(
    many_cache: Cache, tmp_path: Path
) -> None:
    from brainobs.vbn.summary import SUMMARIES

    ids = _ids(many_cache)
    version = {"tag": "a"}

    def sessions(cache: Any) -> pd.DataFrame:
        table = SUMMARIES.sessions(cache)
        tags = [f"etag-{sid}-{version['tag'] if sid == ids[0] else 'a'}" for sid in table.index]
        return table.assign(file_hash=tags)

    counter = Counting()
    spec = dataclasses.replace(counter.summaries(), sessions=sessions)
    summarize(many_cache, out=tmp_path, summaries=spec)
    assert sorted(counter.calls) == sorted(ids)
    hashes = summary("vbn", "sessions", out=tmp_path).to_table().to_pandas()["file_hash"]
    assert sorted(hashes) == sorted(f"etag-{sid}-a" for sid in ids)
    version["tag"] = "b"
    run = summarize(many_cache, out=tmp_path, summaries=spec)
    assert run.computed == [ids[0]] and counter.calls[len(ids) :] == [ids[0]]
