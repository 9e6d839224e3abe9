"""Release manifests: parse, validate, pick versions, compare.

A manifest is the JSON a release publishes under ``{project}/manifests/``. It maps metadata
table names and integer file ids to an S3 URL, an S3 object version and a BLAKE2b digest.
brainobs reads exactly the keys the reference toolkit reads and also accepts an optional
``size`` (bytes) per file, which brainobs's sample releases write.

A manifest is input from the network, so every field is checked before use (:func:`Manifest.
from_dict`): its type and sign, names that are safe as file names, keys that stay under the
project folder and fit a file system (no NUL or control characters, no component over 255
bytes, no key that is another key's folder). A problem is one :class:`~brainobs.errors.
ManifestError` naming the field and what to do.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from packaging.version import InvalidVersion, Version

from brainobs.errors import ManifestError, ManifestNotFoundError, UnsafeKeyError
from brainobs.storage.hashing import blake2b_file

_MANIFEST_NAME = re.compile(r"^(?P<project>.+)_project_manifest_v(?P<version>[^/]+)\.json$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_REQUIRED_KEYS = ("project_name", "manifest_version", "metadata_files", "data_files")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_VERSION_TEXT = re.compile(r"^[0-9A-Za-z.+!-]{1,64}$")
#: The largest manifest read or fetched (real ones are a few MB).
MAX_MANIFEST_BYTES = 64 << 20
#: The largest file size a manifest may declare (1 PiB).
MAX_FILE_SIZE = 1 << 50
#: The most bytes of one path component most file systems accept.
MAX_COMPONENT_BYTES = 255
MAX_KEY_BYTES = 1024
_FIX = (
    "The manifest is damaged or not from a trusted source; if it is a cached copy, delete it "
    "and it will be fetched again."
)


@dataclass(frozen=True)
class FileEntry:
    """One file of a release: where it lives and what its bytes must hash to."""

    url: str
    file_hash: str
    version_id: str | None = None
    size: int | None = None

    @property
    def bucket(self) -> str:
        """Return the bucket name recovered from the virtual-hosted S3 URL."""
        host = urlparse(self.url).hostname or ""
        return re.sub(r"\.s3([.-][a-z0-9-]+)?\.amazonaws\.com$", "", host)

    @property
    def key(self) -> str:
        """Return the object key: the URL path without its leading slash."""
        return unquote(urlparse(self.url).path).lstrip("/")

    @property
    def relative_path(self) -> str:
        """Return the key without its first component (the project name)."""
        return self.key.split("/", 1)[1]

    def to_json(self) -> dict[str, Any]:
        """Return the entry as the manifest JSON stores it."""
        out: dict[str, Any] = {
            "url": self.url,
            "version_id": self.version_id,
            "file_hash": self.file_hash,
        }
        if self.size is not None:
            out["size"] = self.size
        return out


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated release manifest."""

    project_name: str
    manifest_version: str
    metadata_files: Mapping[str, FileEntry]
    data_files: Mapping[str, FileEntry]
    metadata_file_id_column_name: str = "file_id"
    data_pipeline: tuple[Mapping[str, Any], ...] = field(default=())

    def __repr__(self) -> str:
        return (
            f"<Manifest {self.name}: {len(self.metadata_files)} metadata files, "
            f"{len(self.data_files)} data files>"
        )

    @property
    def name(self) -> str:
        """Return the manifest's file name, as stored in the bucket and the cache."""
        return manifest_file_name(self.project_name, self.manifest_version)

    @property
    def version(self) -> Version:
        """Return the manifest version as a comparable version object."""
        return parse_version(self.manifest_version)

    @property
    def cache_folder(self) -> str:
        """Return the name of this version's data folder in the cache."""
        return f"{self.project_name}-{self.manifest_version}"

    def entries(self) -> dict[str, FileEntry]:
        """Return every file, keyed ``metadata/<name>`` or ``data/<file_id>``."""
        out = {f"metadata/{k}": v for k, v in self.metadata_files.items()}
        out.update({f"data/{k}": v for k, v in self.data_files.items()})
        return out

    def data_file(self, file_id: int | str) -> FileEntry:
        """Return the entry of data file ``file_id``."""
        key = str(int(file_id)) if not isinstance(file_id, str) else file_id
        try:
            return self.data_files[key]
        except KeyError:
            raise ManifestNotFoundError(
                f"File id {file_id} is not in manifest {self.name}; the metadata tables "
                f"list the valid file ids in their {self.metadata_file_id_column_name!r} column."
            ) from None

    def metadata_file(self, name: str) -> FileEntry:
        """Return the entry of metadata table ``name`` (e.g. ``units``)."""
        try:
            return self.metadata_files[name]
        except KeyError:
            known = ", ".join(sorted(self.metadata_files))
            raise ManifestNotFoundError(
                f"Metadata table {name!r} is not in manifest {self.name}; it has: {known}."
            ) from None

    def to_json(self) -> str:
        """Return the manifest as JSON text in the releases' format."""
        doc = {
            "project_name": self.project_name,
            "manifest_version": self.manifest_version,
            "metadata_file_id_column_name": self.metadata_file_id_column_name,
            "data_pipeline": [dict(p) for p in self.data_pipeline],
            "metadata_files": {k: v.to_json() for k, v in sorted(self.metadata_files.items())},
            "data_files": {k: v.to_json() for k, v in sorted(self.data_files.items())},
        }
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "<manifest>") -> Manifest:
        """Return the manifest parsed from JSON ``text``; ``source`` names it in errors."""
        if len(text) > MAX_MANIFEST_BYTES:
            raise ManifestError(
                f"Manifest {source} is {len(text):,} bytes, more than any manifest "
                f"({MAX_MANIFEST_BYTES:,}). {_FIX}"
            )
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ManifestError(f"Manifest {source} is not valid JSON ({exc}). {_FIX}") from None
        except RecursionError:
            raise ManifestError(f"Manifest {source} nests JSON too deeply. {_FIX}") from None
        return cls.from_dict(doc, source)

    @classmethod
    def from_path(cls, path: str | Path) -> Manifest:
        """Return the manifest read from the JSON file at ``path`` (at most MAX_MANIFEST_BYTES)."""
        path = Path(path)
        try:
            with path.open("rb") as handle:
                body = handle.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            raise ManifestNotFoundError(f"Cannot read manifest {path}: {exc.strerror}.") from exc
        return cls.from_json(body, source=str(path))

    @classmethod
    def from_dict(cls, doc: Any, source: str = "<manifest>") -> Manifest:
        """Return the manifest of the decoded JSON object ``doc``, every field checked."""
        if not isinstance(doc, dict):
            raise ManifestError(f"Manifest {source} is not a JSON object. {_FIX}")
        missing = [k for k in _REQUIRED_KEYS if k not in doc]
        if missing:
            raise ManifestError(f"Manifest {source} lacks the keys {missing}. {_FIX}")
        project = _project_name(doc["project_name"], source)
        version = _version_text(doc["manifest_version"], source)
        metadata = _parse_entries(doc["metadata_files"], "metadata_files", project, source)
        data = _parse_entries(doc["data_files"], "data_files", project, source)
        check_key_tree([*metadata.values(), *data.values()], source)
        return cls(
            project_name=project,
            manifest_version=version,
            metadata_files=metadata,
            data_files=data,
            metadata_file_id_column_name=_text_field(
                doc.get("metadata_file_id_column_name", "file_id"),
                "metadata_file_id_column_name",
                source,
            ),
            data_pipeline=_pipeline(doc.get("data_pipeline"), source),
        )


def _field_error(source: str, field: str, value: Any, expected: str) -> ManifestError:
    """Return the error for manifest field ``field`` holding ``value``."""
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return ManifestError(f"Manifest {source}: {field} is {shown}; expected {expected}. {_FIX}")


def _text_field(value: Any, field: str, source: str) -> str:
    """Return ``value`` if it is non-empty text of printable characters."""
    if not isinstance(value, str) or not value or not value.isprintable() or len(value) > 1024:
        raise _field_error(source, field, value, "printable text (at most 1024 characters)")
    return value


def _project_name(value: Any, source: str) -> str:
    """Return the project name if it is safe as a folder name."""
    if not isinstance(value, str) or not _SAFE_NAME.match(value):
        raise _field_error(
            source, "project_name", value, "a name of letters, digits, '.', '_' and '-'"
        )
    return value


def _version_text(value: Any, source: str) -> str:
    """Return the manifest version if it is a version like 0.4.0."""
    if not isinstance(value, str) or not _VERSION_TEXT.match(value):
        raise _field_error(source, "manifest_version", value, "a version like '0.4.0'")
    parse_version(value, source)
    return value


def _pipeline(value: Any, source: str) -> tuple[Mapping[str, Any], ...]:
    """Return ``data_pipeline``: a list of JSON objects (absent or null: empty)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise _field_error(source, "data_pipeline", value, "a list of JSON objects")
    return tuple(value)


def _parse_entries(raw: Any, field: str, project: str, source: str) -> dict[str, FileEntry]:
    """Return validated entries from a ``metadata_files``/``data_files`` object."""
    if not isinstance(raw, dict):
        raise _field_error(source, field, raw, "a JSON object of file entries")
    entries = {}
    for name, item in sorted(raw.items()):
        where = f"{field}[{name!r}]"
        _text_field(name, f"the name {where}", source)
        entries[name] = _parse_entry(where, item, project, source)
    return entries


def _parse_entry(where: str, item: Any, project: str, source: str) -> FileEntry:
    """Return one validated entry; reject bad fields and keys that escape the cache root."""
    if not isinstance(item, dict) or "url" not in item or "file_hash" not in item:
        raise _field_error(source, where, item, "an object with 'url' and 'file_hash'")
    file_hash = item["file_hash"]
    if not isinstance(file_hash, str) or not _HEX128.match(file_hash.lower()):
        raise _field_error(
            source, f"{where}.file_hash", file_hash, "a 128-character hex BLAKE2b digest"
        )
    url = _text_field(item["url"], f"{where}.url", source)
    if urlparse(url).scheme not in ("https", "http", "s3"):
        raise _field_error(source, f"{where}.url", url, "an https:// or s3:// address")
    version_id = item.get("version_id")
    if version_id is not None:
        _text_field(version_id, f"{where}.version_id", source)
    entry = FileEntry(
        url=url,
        file_hash=file_hash.lower(),
        version_id=version_id,
        size=_size(item.get("size"), f"{where}.size", source),
    )
    check_key(entry.key, project, source)
    return entry


def _size(value: Any, field: str, source: str) -> int | None:
    """Return a declared file size: a whole number of bytes from 0 to MAX_FILE_SIZE, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FILE_SIZE:
        raise _field_error(source, field, value, "a whole number of bytes, 0 or more")
    return value


def check_key(key: str, project: str, source: str = "<manifest>") -> None:
    """Raise UnsafeKeyError unless ``key`` is a plain relative key under ``project/``."""
    parts = key.split("/")
    unsafe = (
        not key
        or key.startswith(("/", "\\"))
        or "\\" in key
        or re.match(r"^[A-Za-z]:", key) is not None
        or any(p in ("", ".", "..") for p in parts)
        or posixpath.normpath(key) != key
    )
    if unsafe:
        raise UnsafeKeyError(
            f"Manifest {source} lists the key {key!r}, which would write outside the cache "
            "folder. The manifest is damaged or not from a trusted source; nothing was written."
        )
    if len(parts) < 2 or parts[0] != project:
        raise UnsafeKeyError(
            f"Manifest {source} lists the key {key!r}, which is not under the project "
            f"folder {project!r}/. Nothing was written."
        )
    _check_key_fits(key, parts, source)


def _check_key_fits(key: str, parts: list[str], source: str) -> None:
    """Raise UnsafeKeyError if ``key`` cannot be a file name (control characters, length)."""
    shown = repr(key) if len(key) <= 120 else repr(key[:117] + "...")
    if not key.isprintable():
        raise UnsafeKeyError(
            f"Manifest {source} lists the key {shown}, which holds a NUL or control "
            f"character that no file name may hold. {_FIX}"
        )
    longest = max(len(p.encode("utf-8", "surrogatepass")) for p in parts)
    if longest > MAX_COMPONENT_BYTES or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise UnsafeKeyError(
            f"Manifest {source} lists the key {shown}, with a name of {longest} bytes; file "
            f"systems allow {MAX_COMPONENT_BYTES} per name ({MAX_KEY_BYTES} per key). {_FIX}"
        )


def check_key_tree(entries: Iterable[FileEntry], source: str = "<manifest>") -> None:
    """Raise UnsafeKeyError if one key is another key's folder or one key has two hashes."""
    hashes: dict[str, str] = {}
    for entry in entries:
        if hashes.setdefault(entry.key, entry.file_hash) != entry.file_hash:
            raise UnsafeKeyError(
                f"Manifest {source} lists the key {entry.key!r} twice with different hashes. {_FIX}"
            )
    folders = {key.rsplit("/", i)[0] for key in hashes for i in range(1, key.count("/") + 1)}
    clash = sorted(folders & hashes.keys())
    if clash:
        raise UnsafeKeyError(
            f"Manifest {source} lists {clash[0]!r} both as a file and as the folder of another "
            f"key; both cannot be saved. {_FIX}"
        )


def manifest_file_name(project: str, version: str) -> str:
    """Return the file name of ``project``'s manifest of ``version``."""
    return f"{project}_project_manifest_v{version}.json"


def is_manifest_name(name: str, project: str) -> bool:
    """Return whether ``name`` is a manifest file name of ``project`` with a valid version."""
    match = _MANIFEST_NAME.match(name)
    if match is None or match.group("project") != project:
        return False
    version = match.group("version")
    if not _VERSION_TEXT.match(version):
        return False
    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def version_from_name(name: str) -> str:
    """Return the version text of a manifest file name (``..._v0.4.0.json`` -> ``0.4.0``)."""
    match = _MANIFEST_NAME.match(posixpath.basename(name))
    if match is None:
        raise ManifestError(
            f"{name!r} is not a manifest file name "
            "(expected '<project>_project_manifest_vX.Y.Z.json')."
        )
    return match.group("version")


def parse_version(text: str, source: str = "<manifest>") -> Version:
    """Return ``text`` as a comparable semantic version."""
    try:
        return Version(text)
    except InvalidVersion:
        raise ManifestError(f"Manifest {source}: {text!r} is not a version like 0.4.0.") from None


def sort_manifest_names(names: Iterable[str]) -> list[str]:
    """Return manifest file names ordered by semantic version (oldest first)."""
    return sorted(names, key=lambda n: parse_version(version_from_name(n)))


def latest_manifest_name(names: Iterable[str]) -> str:
    """Return the manifest name with the highest version."""
    ordered = sort_manifest_names(names)
    if not ordered:
        raise ManifestNotFoundError("No manifests were found at the source.")
    return ordered[-1]


def pick_manifest_name(names: Iterable[str], version: str | None) -> str:
    """Return the name of manifest ``version`` (a version like 1.1.0 or a manifest file name;
    the latest when None) among ``names``."""
    names = list(names)
    if version is None:
        return latest_manifest_name(names)
    if version in names:
        return version
    wanted = parse_version(version.lstrip("v"))
    for name in names:
        if parse_version(version_from_name(name)) == wanted:
            return name
    available = ", ".join(version_from_name(n) for n in sort_manifest_names(names)) or "none"
    raise ManifestNotFoundError(
        f"Manifest version {version!r} does not exist. Available versions: {available}."
    )


ChangeKind = Literal["changed", "created", "deleted", "renamed"]


@dataclass(frozen=True)
class ManifestChange:
    """One difference between two manifests, by relative path."""

    kind: ChangeKind
    path: str
    new_path: str | None = None

    def __str__(self) -> str:
        if self.kind == "renamed":
            return f"{self.path} renamed {self.new_path}"
        return f"{self.path} {self.kind}"


def compare_manifests(old: Manifest, new: Manifest) -> list[ManifestChange]:
    """Return the files changed, created, deleted or renamed from ``old`` to ``new``."""
    old_files = {e.relative_path: e.file_hash for e in old.entries().values()}
    new_files = {e.relative_path: e.file_hash for e in new.entries().values()}
    changes = [
        ManifestChange("changed", p)
        for p in sorted(old_files.keys() & new_files.keys())
        if old_files[p] != new_files[p]
    ]
    deleted = sorted(old_files.keys() - new_files.keys())
    created = sorted(new_files.keys() - old_files.keys())
    created_by_hash = {new_files[p]: p for p in created}
    renamed_targets = set()
    for path in deleted:
        target = created_by_hash.get(old_files[path])
        if target is not None and target not in renamed_targets:
            renamed_targets.add(target)
            changes.append(ManifestChange("renamed", path, target))
        else:
            changes.append(ManifestChange("deleted", path))
    changes += [ManifestChange("created", p) for p in created if p not in renamed_targets]
    return changes


def entry_for_file(path: str | Path, url: str, version_id: str | None = None) -> FileEntry:
    """Return a manifest entry for the local file ``path`` published at ``url``."""
    path = Path(path)
    return FileEntry(
        url=url,
        file_hash=blake2b_file(path),
        version_id=version_id,
        size=path.stat().st_size,
    )
