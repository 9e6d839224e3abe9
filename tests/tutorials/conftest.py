"""The sample release as the tutorials see it, in both flavours and in the reference toolkit.

``prepared`` runs every shaped tutorial once in the drop-in flavour from an empty cache (so
the cache downloads what the tutorials read) and also fetches both manifest versions'
metadata tables, which the reference toolkit reads whenever it loads a manifest. Each
comparison then starts from a copy of that cache: brainobs's drop-in and the reference both
open it with ``from_local_cache``. The reference runs (one process per tutorial, two at a
time) start in the background when the first comparison asks for one.
"""

from __future__ import annotations

import importlib
import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from brainobs.sample import SampleRelease
from tests.support.reference import REPO, run_reference
from tests.tutorials.shaped.outputs import encode

#: The shaped tutorials, in the order a reader of the AllenSDK documentation meets them.
TUTORIALS = (
    "data_access",
    "dataset_manifest",
    "quickstart",
    "quality_metrics",
    "lfp_analysis",
    "behavior_only",
    "aligning",
    "overview",
)
REFERENCE_RUN = Path(__file__).with_name("reference_run.py")


def run_tutorial(name: str, cache: Any, cache_dir: Path, modern: bool) -> dict[str, Any]:
    """Return what each cell of tutorial ``name`` shows, run on ``cache``."""
    module = importlib.import_module(f"tests.tutorials.shaped.{name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(module.run(cache, {"cache_dir": str(cache_dir), "modern": modern}))


def copy_cache(source: Path, target: Path) -> Path:
    """Copy a cache folder: data files as hard links, bookkeeping (json, txt) as copies."""

    def link_or_copy(src: str, dst: str) -> None:
        if src.endswith((".json", ".txt")):
            shutil.copy2(src, dst)
        else:
            Path(dst).hardlink_to(src)

    shutil.copytree(source, target, copy_function=link_or_copy)
    return target


@dataclass
class Prepared:
    """The prepared cache, the drop-in flavour's first outputs, and the reference's runs."""

    folder: Path
    first: dict[str, dict[str, Any] | BaseException]
    scratch: Path
    pool: ThreadPoolExecutor
    runs: dict[str, Future[dict[str, Any]]] = field(default_factory=dict)

    def outputs(self, name: str) -> dict[str, Any]:
        """Return the drop-in flavour's outputs of ``name`` (raising what it raised)."""
        result = self.first[name]
        if isinstance(result, BaseException):
            raise result
        return result

    def reference(self, name: str, timeout: float) -> dict[str, Any]:
        """Return the reference toolkit's outputs of ``name``; the first call starts them all."""
        if not self.runs:
            self.runs = {n: self.pool.submit(_reference, self, n) for n in TUTORIALS}
        return self.runs[name].result(timeout=timeout)


def _fetch_every_table(cache: Any) -> None:
    """Load each manifest and read its tables (the reference reads them all on loading)."""
    for name in cache.list_manifest_file_names():
        cache.load_manifest(name)
        getters = (
            cache.get_ecephys_session_table,
            cache.get_behavior_session_table,
            cache.get_probe_table,
            cache.get_channel_table,
            cache.get_unit_table,
        )
        for getter in getters:
            getter()
    cache.load_latest_manifest()


def _reference(prepared: Prepared, name: str) -> dict[str, Any]:
    """Return the reference toolkit's encoded outputs of ``name`` on a copy of the cache."""
    folder = copy_cache(prepared.folder, prepared.scratch / f"reference-{name}")
    out = prepared.scratch / f"reference-{name}.json"
    run_reference(REFERENCE_RUN.read_text(), str(REPO), name, str(folder), str(out), timeout=900)
    return dict(json.loads(out.read_text()))


@pytest.fixture(scope="session")
def prepared(
    vbn_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prepared]:
    """The drop-in flavour's run of every tutorial from an empty cache, and the reference's."""
    from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache as DropIn

    folder = tmp_path_factory.mktemp("tutorials") / "cache"
    with ThreadPoolExecutor(max_workers=2) as pool:
        state = Prepared(folder, {}, tmp_path_factory.mktemp("tutorial_runs"), pool)
        for name in TUTORIALS:
            cache = DropIn.from_source(str(vbn_release.root), folder)
            try:
                state.first[name] = run_tutorial(name, cache, folder, modern=False)
            except Exception as exc:  # reported by the test of that tutorial
                state.first[name] = exc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _fetch_every_table(DropIn.from_source(str(vbn_release.root), folder))
        yield state
        for future in state.runs.values():
            future.cancel()


def encoded(outputs: dict[str, Any]) -> dict[str, Any]:
    """Return each cell's output as :func:`~tests.tutorials.shaped.outputs.encode` gives it."""
    return {label: encode(value) for label, value in outputs.items()}


Runner = Callable[[str], dict[str, Any]]
