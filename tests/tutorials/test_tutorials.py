"""The AllenSDK's VBN tutorials, cell by cell, on the sample release.

Each module of ``tests/tutorials/shaped/`` makes the calls one published notebook makes (its
arguments, columns, windows and indices, in its order) and returns what each cell shows.
Here every tutorial runs in both flavours, and under the drop-in import line its outputs equal
the reference toolkit's (AllenSDK 2.16.2, its own venv) on the same cached files, cell by
cell, apart from the differences listed in :data:`ALLOWED` (docs/differences.md, "Drop-in
flavour").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brainobs.sample import SampleRelease
from tests.tutorials.conftest import TUTORIALS, Prepared, copy_cache, encoded, run_tutorial
from tests.tutorials.shaped.outputs import differences

#: (tutorial, cell, what differs) -> why; every entry is a documented difference.
ALLOWED: dict[tuple[str, str, str], str] = {
    **{
        (tutorial, cell, part): "pandas 3 gives the labels pivot_table builds from text "
        "its `str` dtype (pandas 1.5: object); the values are equal"
        for tutorial, cell in (
            ("dataset_manifest", "25 sessions by image set and experience"),
            ("dataset_manifest", "29 sessions by genotype and sex"),
            ("dataset_manifest", "31 mice by genotype and sex"),
            ("quality_metrics", "70 waveform features of well-sampled areas"),
            ("behavior_only", "44 hit rate per image"),
            ("behavior_only", "48 hit rate per image, engaged"),
        )
        for part in ("index dtype differ", "columns dtype differ")
    },
    ("behavior_only", "22 presentations head", "columns values differ"): "presentation "
    "columns after the leading ones are alphabetical; the reference's come from a Python set",
    ("overview", "100 probes", "column lfp_sampling_rate values differ"): "probes' "
    "lfp_sampling_rate is the LFP file's (~1250 Hz) before and after get_lfp",
}


def _unexplained(tutorial: str, found: list[str]) -> list[str]:
    """Return the differences that :data:`ALLOWED` does not explain."""
    left = []
    for line in found:
        where, _, what = line.partition(": ")
        cell = where.split(" | ", 1)[1].split("[")[0]
        if (tutorial, cell, what) not in ALLOWED:
            left.append(line)
    return left


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_runs_in_the_dropin_flavour(prepared: Prepared, name: str) -> None:
    shown = prepared.outputs(name)
    assert shown, f"{name} showed nothing"
    _assert_meaningful(name, shown)


@pytest.fixture(scope="module")
def modern_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tutorials_modern") / "cache"


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_runs_in_the_modern_flavour(
    prepared: Prepared, vbn_release: SampleRelease, modern_cache_dir: Path, name: str
) -> None:
    from brainobs import VisualBehaviorNeuropixelsProjectCache as Modern

    cache = Modern.from_source(str(vbn_release.root), modern_cache_dir)
    shown = run_tutorial(name, cache, modern_cache_dir, modern=True)
    dropin = prepared.outputs(name)
    assert list(shown) == list(dropin)
    _assert_meaningful(name, shown)
    mismatched = [
        label for label in shown
        if _numbers(shown[label]) is not None
        and not _same_numbers(_numbers(shown[label]), _numbers(dropin[label]))
    ]  # fmt: skip
    assert mismatched == [], f"{name}: the flavours disagree on {mismatched}"


@pytest.mark.compat
@pytest.mark.parametrize("name", TUTORIALS)
def test_dropin_equals_the_reference_cell_by_cell(prepared: Prepared, name: str) -> None:
    from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache as DropIn

    folder = copy_cache(prepared.folder, prepared.scratch / f"ours-{name}")
    ours = encoded(run_tutorial(name, DropIn.from_local_cache(folder), folder, modern=False))
    reference = prepared.reference(name, timeout=280)
    assert list(ours) == list(reference)
    found = [
        line
        for label in reference
        for line in differences(reference[label], ours[label], f"{name} | {label}")
    ]
    assert _unexplained(name, found) == []


def _numbers(value: Any) -> Any:
    """Return the numeric content of an output (arrays, numbers, dicts of them), else None."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value
    if isinstance(value, (bool, int, float, np.number)):
        return float(value)
    if isinstance(value, dict) and value and all(_numbers(v) is not None for v in value.values()):
        return {str(k): _numbers(v) for k, v in value.items()}
    return None


def _same_numbers(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same_numbers(a[k], b[k]) for k in a)
        )
    if b is None:
        return False
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def _assert_meaningful(name: str, shown: dict[str, Any]) -> None:
    """Assert that the cells show what the tutorial is about (not empty selections)."""
    checks = {
        "data_access": lambda s: len(s["18 list_manifest_file_names"]) == 2
        and "project_metadata/units.csv changed" in s["31 compare_manifests"],
        "dataset_manifest": lambda s: s["33 counts"][0] < s["33 counts"][1]
        and s["65 same probes"],
        "quickstart": lambda s: len(s["22 VISp change responses"]) > 0
        and len(s["35 opto responses"]) > 0,
        "quality_metrics": lambda s: s["7 units"] > 1000,
        "lfp_analysis": lambda s: s["18 one second"].shape[0] == 1250
        and len(s["38 spikes 500-510 s"]) > 0 and len(s["40 stimuli 500-510 s"]) > 10,
        "behavior_only": lambda s: len(s["36 stimuli"]) > 20 and len(s["36 running"]) > 1000,
        "aligning": lambda s: s["17 replay matches"] and len(s["47 flashes"]) > 2,
        "overview": lambda s: len(s["84 receptive fields"]) > 0 and s["115 brain surface"] > 0,
    }  # fmt: skip
    assert checks[name](shown), f"{name}: a cell shows an empty or wrong selection"
