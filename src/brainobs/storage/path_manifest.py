"""The AllenSDK's path manifest: the ``manifest.json`` of a warehouse-layout cache folder.

A warehouse cache (the reference's ``EcephysProjectCache(manifest=...)``) is a folder whose
``manifest.json`` lists where each kind of file goes, relative to the folder, as
``%``-substitution specs with parents::

    {"manifest": [{"type": "manifest_version", "value": "0.3.0"},
                  {"key": "BASEDIR", "type": "dir", "spec": "."},
                  {"key": "session_data", "type": "dir", "spec": "session_%d",
                   "parent_key": "BASEDIR"},
                  {"key": "session_nwb", "type": "file", "spec": "session_%d.nwb",
                   "parent_key": "session_data"}, ...]}

A path is its entry's spec joined under its parents' specs, with every ``%`` filled at once
(``session_nwb`` of session 7 is ``session_7/session_7.nwb``). It holds paths only: no
hashes, no sizes, no versions of the data. The file is read with a size bound and every
resolved path must stay inside the folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from brainobs.errors import ManifestError

#: The largest path manifest read (the reference's has 15 short entries).
MAX_PATH_MANIFEST_BYTES = 1 << 20
BASEDIR = "BASEDIR"


@dataclass(frozen=True)
class PathEntry:
    """One entry: a file or folder spec, under a parent entry."""

    key: str
    kind: str
    spec: str
    parent_key: str | None = None


@dataclass(frozen=True)
class PathManifest:
    """A parsed path manifest: its version and its entries by key."""

    version: str
    entries: Mapping[str, PathEntry]

    @classmethod
    def from_json(cls, body: bytes | str, source: str = "manifest.json") -> PathManifest:
        """Return the manifest parsed from ``body``; raise ManifestError naming what is wrong."""
        if len(body) > MAX_PATH_MANIFEST_BYTES:
            raise ManifestError(f"{source} is larger than any path manifest; it is not one.")
        try:
            items = json.loads(body)["manifest"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(
                f"{source} is not an AllenSDK path manifest (a JSON object with a 'manifest' "
                f"list): {exc}. Remove it and let brainobs write a new one."
            ) from None
        if not isinstance(items, list):
            raise ManifestError(f"{source}: 'manifest' must be a list of entries.")
        return cls._from_items(items, source)

    @classmethod
    def _from_items(cls, items: list[Any], source: str) -> PathManifest:
        """Return the manifest of a list of manifest entries."""
        version, entries = "", {}
        for item in items:
            if not isinstance(item, dict):
                raise ManifestError(f"{source}: every entry must be an object, not {item!r}.")
            if item.get("type") == "manifest_version":
                version = str(item.get("value", ""))
                continue
            try:
                entry = PathEntry(
                    str(item["key"]), str(item["type"]), str(item["spec"]), item.get("parent_key")
                )
            except KeyError as exc:
                raise ManifestError(f"{source}: an entry lacks {exc}: {item!r}.") from None
            entries[entry.key] = entry
        return cls(version, MappingProxyType(entries))

    @classmethod
    def build(cls, version: str, paths: tuple[tuple[str, str, str, str], ...]) -> PathManifest:
        """Return a manifest of ``paths`` ((key, type, spec, parent key), ...) under BASEDIR."""
        entries = {BASEDIR: PathEntry(BASEDIR, "dir", ".")}
        entries |= {key: PathEntry(key, kind, spec, parent) for key, kind, spec, parent in paths}
        return cls(version, MappingProxyType(entries))

    def to_json(self) -> str:
        """Return the manifest as the AllenSDK writes it."""
        items: list[dict[str, str]] = [{"type": "manifest_version", "value": self.version}]
        for entry in self.entries.values():
            item = {"key": entry.key, "type": entry.kind, "spec": entry.spec}
            if entry.parent_key is not None:
                item["parent_key"] = entry.parent_key
            items.append(item)
        return json.dumps({"manifest": items}, indent=2)

    def check_version(self, expected: str, where: str) -> None:
        """Raise ManifestError unless the manifest has version ``expected``."""
        if self.version != expected:
            raise ManifestError(
                f"The cache manifest {where} has version {self.version!r}, not {expected!r} "
                "(the AllenSDK raises ManifestVersionError here). Remove it and it is written "
                "again; the data files beside it are kept and checked before use."
            )

    def spec(self, key: str) -> str:
        """Return the full relative spec of ``key`` (its parents' specs joined)."""
        parts: list[str] = []
        seen: set[str] = set()
        current: str | None = key
        while current is not None:
            entry = self.entries.get(current)
            if entry is None or current in seen:
                raise ManifestError(
                    f"The cache manifest has no usable entry {current!r} (needed for {key!r}); "
                    "remove manifest.json and it is written again."
                )
            seen.add(current)
            parts.append(entry.spec)
            current = entry.parent_key
        return "/".join(reversed(parts))

    def path(self, key: str, *args: int | str) -> str:
        """Return the path of ``key`` with ``args`` filled in, relative to the folder."""
        spec = self.spec(key)
        try:
            text = spec % args if args else spec
        except (TypeError, ValueError) as exc:
            raise ManifestError(f"Cannot fill {spec!r} with {args!r}: {exc}.") from None
        relative = PurePosixPath(*(p for p in PurePosixPath(text).parts if p != "."))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ManifestError(
                f"{key} resolves to {text!r}, which leaves the cache folder; brainobs only "
                "reads and writes inside it."
            )
        return relative.as_posix()
