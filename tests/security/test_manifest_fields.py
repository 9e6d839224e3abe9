"""Every field of a manifest is checked before use: one ManifestError naming the field.

Hand-written cases cover the issue's examples; hypothesis replaces random fields of a valid
manifest with random JSON, and writes random keys, and checks that the parser either returns a
manifest whose every field has the right type and every key fits a file system, or raises a
ManifestError -- never another exception.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainobs.cli.main import main
from brainobs.errors import ManifestError, UnsafeKeyError
from brainobs.storage import manifest as manifest_module
from brainobs.storage.manifest import Manifest, check_key
from tests.support.release import PROJECT, URL_ROOT, TinyRelease

HASH = "ab" * 64


def _doc() -> dict[str, Any]:
    return {
        "project_name": PROJECT,
        "manifest_version": "0.1.0",
        "metadata_file_id_column_name": "file_id",
        "data_pipeline": [{"name": "AllenSDK", "version": "2.16.2"}],
        "metadata_files": {
            "units": {"url": f"{URL_ROOT}/{PROJECT}/project_metadata/units.csv", "file_hash": HASH}
        },
        "data_files": {
            "2": {
                "url": f"{URL_ROOT}/{PROJECT}/behavior_ecephys_sessions/2/s.nwb",
                "file_hash": HASH,
                "version_id": "abc",
                "size": 40_000,
            }
        },
    }


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _url(key: str) -> str:
    return f"{URL_ROOT}/{key}"


CASES = [
    (("data_files", "2", "size"), "big", "data_files['2'].size is 'big'"),
    (("data_files", "2", "size"), -5, "data_files['2'].size is -5"),
    (("data_files", "2", "size"), 1.5, "data_files['2'].size is 1.5"),
    (("data_files", "2", "size"), True, "data_files['2'].size is True"),
    (("data_files", "2", "size"), 2**70, "data_files['2'].size is"),
    (("data_pipeline",), 5, "data_pipeline is 5"),
    (("data_pipeline",), ["AllenSDK"], "data_pipeline is ['AllenSDK']"),
    (("project_name",), 5, "project_name is 5"),
    (("project_name",), "../..", "project_name is '../..'"),
    (("project_name",), "a/b", "project_name is 'a/b'"),
    (("manifest_version",), 1.0, "manifest_version is 1.0"),
    (("manifest_version",), "0.1.0/../x", "manifest_version is '0.1.0/../x'"),
    (("manifest_version",), " 0.1.0", "manifest_version is ' 0.1.0'"),
    (("metadata_file_id_column_name",), 5, "metadata_file_id_column_name is 5"),
    (("metadata_files",), [], "metadata_files is []"),
    (("data_files", "2"), "x", "data_files['2'] is 'x'"),
    (("data_files", "2", "url"), 5, "data_files['2'].url is 5"),
    (("data_files", "2", "url"), "ftp://host/x/y", "data_files['2'].url is 'ftp://"),
    (("data_files", "2", "file_hash"), 5, "data_files['2'].file_hash is 5"),
    (("data_files", "2", "file_hash"), "abc", "data_files['2'].file_hash is 'abc'"),
    (("data_files", "2", "version_id"), 5, "data_files['2'].version_id is 5"),
    (("data_files", "2", "url"), _url(f"{PROJECT}/a\x00b.nwb"), "data_files['2'].url is"),
    (("data_files", "2", "url"), _url(f"{PROJECT}/a%00b.nwb"), "NUL or control character"),
    (("data_files", "2", "url"), _url(f"{PROJECT}/{'n' * 300}.nwb"), "name of 304 bytes"),
    (("data_files", "2", "url"), _url(f"{PROJECT}/../x.nwb"), "outside the cache folder"),
    (("data_files", "2", "url"), _url("other/x.nwb"), "not under the project folder"),
]


@pytest.mark.parametrize(("path", "value", "words"), CASES)
def test_a_bad_field_is_one_error_naming_it(path: tuple[str, ...], value: Any, words: str) -> None:
    with pytest.raises(ManifestError) as info:
        Manifest.from_dict(_set(_doc(), path, value), source="m.json")
    message = str(info.value)
    assert words in message and "\n" not in message and message.startswith("Manifest m.json")


def test_one_key_that_is_another_keys_folder() -> None:
    doc = _doc()
    folder_key = f"{PROJECT}/behavior_ecephys_sessions/2/s.nwb"
    doc["data_files"]["3"] = {"url": _url(f"{folder_key}/inner.nwb"), "file_hash": HASH}
    with pytest.raises(UnsafeKeyError, match=f"lists '{folder_key}' both as a file and as the"):
        Manifest.from_dict(doc, "m.json")


def test_one_key_with_two_hashes() -> None:
    doc = _doc()
    doc["data_files"]["3"] = dict(doc["data_files"]["2"], file_hash="cd" * 64)
    with pytest.raises(UnsafeKeyError, match="twice with different hashes"):
        Manifest.from_dict(doc, "m.json")


def test_json_that_nests_too_deeply_or_is_too_big(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ManifestError, match="nests JSON too deeply"):
        Manifest.from_json("[" * 100_000 + "]" * 100_000, "m.json")
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(ManifestError, match="more than any manifest"):
        Manifest.from_json(json.dumps(_doc()), "m.json")


def test_a_valid_manifest_round_trips() -> None:
    manifest = Manifest.from_dict(_doc(), "m.json")
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert manifest.data_files["2"].size == 40_000 and manifest.data_pipeline[0]["name"]


# --- generated -------------------------------------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_PATHS = [path for path, _, _ in CASES] + [
    ("metadata_files", "units"),
    ("metadata_files", "units", "url"),
    ("data_files",),
    ("manifest_version",),
]


def _assert_well_formed(manifest: Manifest) -> None:
    assert isinstance(manifest.project_name, str) and isinstance(manifest.manifest_version, str)
    assert isinstance(manifest.metadata_file_id_column_name, str)
    assert all(isinstance(step, dict) for step in manifest.data_pipeline)
    for entry in manifest.entries().values():
        assert isinstance(entry.url, str) and len(entry.file_hash) == 128
        assert entry.size is None or (type(entry.size) is int and entry.size >= 0)
        assert entry.version_id is None or isinstance(entry.version_id, str)
        check_key(entry.key, manifest.project_name)
        assert all(len(p.encode()) <= 255 for p in entry.key.split("/"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(FIELD_PATHS), value=json_values)
def test_random_field_values_parse_or_raise_a_manifest_error(
    path: tuple[str, ...], value: Any
) -> None:
    try:
        manifest = Manifest.from_dict(_set(_doc(), path, value), "m.json")
    except ManifestError as exc:
        assert "\n" not in str(exc)
        return
    _assert_well_formed(manifest)


KEY_PIECES = [*"ab/.%0-_ \\:\x00\x7f\u00e9\u4e2d", "..", "%2e", "%00", "%2F", "?x=1", "#f"]
key_text = st.lists(st.sampled_from(KEY_PIECES), max_size=20).map("".join)


@settings(max_examples=300, deadline=None)
@given(tail=key_text, long_name=st.integers(0, 300))
def test_random_keys_are_safe_or_refused(tail: str, long_name: int) -> None:
    key = f"{PROJECT}/{tail}{'x' * long_name}"
    doc = _set(_doc(), ("data_files", "2", "url"), _url(key))
    try:
        manifest = Manifest.from_dict(doc, "m.json")
    except ManifestError:
        return
    _assert_well_formed(manifest)
    assert manifest.data_files["2"].key.isprintable()


# --- end to end ------------------------------------------------------------------------------
def test_a_hostile_manifest_at_the_source_is_one_line_and_nothing_is_saved(
    tiny_release: TinyRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bucket"
    folder = source / PROJECT / "manifests"
    folder.mkdir(parents=True)
    doc = json.loads(tiny_release.manifests["0.1.0"].to_json())
    doc["data_files"]["1"]["size"] = "big"
    (folder / tiny_release.manifests["0.1.0"].name).write_text(json.dumps(doc))
    cache = tmp_path / "cache"
    code = main(
        ["download", "vbn", "--metadata-only", "--source", str(source), "--cache-dir", str(cache)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: Manifest ") and "data_files['1'].size is 'big'" in err
    assert len(err.strip().splitlines()) == 2  # the error and the --debug hint
    assert not any(p.suffix == ".json" for p in cache.rglob("*"))
