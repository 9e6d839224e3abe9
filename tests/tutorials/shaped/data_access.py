"""Shaped like the AllenSDK notebook "Accessing Visual Behavior Neuropixels Data".

The notebook's calls, arguments and columns, in its order (cell numbers are the notebook's);
what each cell shows is returned under its label. The session it opens is picked as the
notebook's is: one row of the session table (here the first). Plot calls are left out; the
data they would plot are returned instead. Runs under both toolkits' Pythons.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    names = cache.list_manifest_file_names()
    shown["18 list_manifest_file_names"] = names
    shown["20 latest_manifest_file"] = cache.latest_manifest_file()
    shown["22 latest_downloaded_manifest_file"] = cache.latest_downloaded_manifest_file()
    shown["24 list_all_downloaded_manifests"] = cache.list_all_downloaded_manifests()
    shown["26 current_manifest"] = cache.current_manifest()
    shown["28 load_manifest(older)"] = cache.load_manifest(names[0])
    shown["29 current_manifest"] = cache.current_manifest()
    shown["31 compare_manifests"] = cache.compare_manifests(names[0], names[1])
    shown["34 load_latest_manifest"] = cache.load_latest_manifest()
    _tables(cache, shown)
    sessions = cache.get_ecephys_session_table()
    session = cache.get_ecephys_session(ecephys_session_id=sessions.index[0])
    shown["52 list_data_attributes_and_methods"] = session.list_data_attributes_and_methods()
    templates = session.stimulus_templates
    shown["54 stimulus_templates"] = templates
    shown["55 stimulus_templates warped"] = templates["warped"][templates.index[0]]
    with_file = sessions.dropna(subset=["file_id"])
    shown["58 sessions with a file"] = with_file.index
    manifest_path = Path(context["cache_dir"]) / cache.current_manifest()
    shown["64 download urls"] = _download_urls(manifest_path)
    return shown


def _tables(cache: Any, shown: dict[str, Any]) -> None:
    """Cells 36-48: each metadata table, its length and its head."""
    for cell, name, getter in (
        (36, "ecephys_sessions", cache.get_ecephys_session_table),
        (39, "behavior_sessions", cache.get_behavior_session_table),
        (42, "probes", cache.get_probe_table),
        (45, "channels", cache.get_channel_table),
        (48, "units", cache.get_unit_table),
    ):
        table = getter()
        shown[f"{cell} {name}"] = table
        shown[f"{cell} {name} count"] = len(table)
        shown[f"{cell} {name} head"] = table.head()


def _download_urls(manifest_path: Path) -> list[str]:
    """Cell 64: every file's URL at the object version the manifest names."""
    manifest = json.loads(manifest_path.read_text())
    urls = []
    for group in ("metadata_files", "data_files"):
        for item in manifest[group].values():
            urls.append(urljoin(item["url"], f"?versionId={item['version_id']}"))
    return urls
