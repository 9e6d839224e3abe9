"""Lay files out as a dandiset, the way the DANDI Archive serves one (``--dandi DIR``).

``brainobs sample vbn --out OUT --dandi DIR`` writes the sample release into ``OUT`` and then
lays its data files out in ``DIR`` under the asset paths the release uses on DANDI (its
declaration's DANDI mapping says which), with the records the archive's REST API returns::

    DIR/dandisets/<id>/dandiset.json           GET /dandisets/{id}/ (without its versions)
    DIR/dandisets/<id>/versions/<version>.json  GET .../versions/{version}/info/, plus "assets":
                                                the entries of GET .../assets/?metadata=true
    DIR/blobs/<b[:3]>/<b[3:6]>/<blob id>         the bytes (hard links to the sample's files)

Each asset's metadata has its size, its ``contentUrl`` (the API's ``/assets/{id}/download/``
and the blob's address) and its ``digest`` (``dandi:sha2-256`` and ``dandi:dandi-etag``).
Addresses start with ``{server}``, which a server replaces by its own base address (the test
suite's loopback DANDI server does). Ids are derived from the content, so the same files give
the same dandiset.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainobs.errors import InvalidInputError, ManifestNotFoundError, UnknownIdError
from brainobs.releases import get_release
from brainobs.sample import SampleRelease
from brainobs.storage.atomic import write_atomic
from brainobs.storage.dandi import check_asset_path, check_dandiset, check_version
from brainobs.storage.hashing import file_digest

SERVER = "{server}"
PUBLISHED_VERSION = "0.240702.1725"
_CREATED = "2024-07-02T17:25:16.296009Z"
_ETAG_PART = 64 << 20  # dandischema's default part size (files up to 625 GB)


@dataclass(frozen=True)
class SampleDandiset:
    """A dandiset laid out on disk: where, its id, its versions and its assets' paths."""

    root: Path
    dandiset: str
    versions: tuple[str, ...]

    def version_record(self, version: str) -> dict[str, Any]:
        """Return the stored record of ``version`` (with its ``assets``)."""
        path = self.root / "dandisets" / self.dandiset / "versions" / f"{version}.json"
        return dict(json.loads(path.read_text()))

    def asset_entry(self, version: str, asset_path: str) -> dict[str, Any]:
        """Return the listing entry of the asset at ``asset_path`` in ``version``."""
        for asset in self.version_record(version)["assets"]:
            if asset["path"] == asset_path:
                return dict(asset)
        raise KeyError(asset_path)

    def blob_key(self, version: str, asset_path: str) -> str:
        """Return the key (below ``root``) of the blob holding ``asset_path``'s bytes."""
        return blob_key(self.asset_entry(version, asset_path)["blob"])


def blob_key(blob: str) -> str:
    """Return where blob ``blob`` is kept below a dandiset folder (the archive's layout)."""
    return f"blobs/{blob[:3]}/{blob[3:6]}/{blob}"


def dandi_etag(path: Path) -> str:
    """Return the ``dandi:dandi-etag`` of a file: MD5 of the parts' MD5s, and the part count."""
    digests = b""
    parts = 0
    with path.open("rb") as handle:
        while block := handle.read(_ETAG_PART):
            digests += hashlib.md5(block).digest()
            parts += 1
    return f"{hashlib.md5(digests).hexdigest()}-{parts}"


def _uuid4_from(*parts: str) -> str:
    """Return a version-4-shaped UUID derived from ``parts`` (the same parts, the same id)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def asset_entry(asset_path: str, file: Path, sha256: str, dandiset: str) -> dict[str, Any]:
    """Return the listing entry (with metadata) DANDI serves for ``file`` at ``asset_path``."""
    asset_id = _uuid4_from("asset", dandiset, asset_path, sha256)
    blob = _uuid4_from("blob", sha256)
    size = file.stat().st_size
    subject = asset_path.split("/", 1)[0].removeprefix("sub-")
    metadata = {
        "schemaKey": "Asset",
        "schemaVersion": "0.6.4",
        "id": f"dandiasset:{asset_id}",
        "identifier": asset_id,
        "path": asset_path,
        "access": [{"schemaKey": "AccessRequirements", "status": "dandi:OpenAccess"}],
        "contentSize": size,
        "contentUrl": [
            f"{SERVER}/api/assets/{asset_id}/download/",
            f"{SERVER}/{blob_key(blob)}",
        ],
        "digest": {"dandi:dandi-etag": dandi_etag(file), "dandi:sha2-256": sha256},
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [{"schemaKey": "Participant", "identifier": subject}],
    }
    return {
        "asset_id": asset_id,
        "blob": blob,
        "zarr": None,
        "path": asset_path,
        "size": size,
        "created": _CREATED,
        "modified": _CREATED,
        "metadata": metadata,
    }


def write_dandiset(
    files: Mapping[str, Path],
    out_dir: str | os.PathLike[str],
    dandiset: str,
    versions: tuple[str, ...] = ("draft", PUBLISHED_VERSION),
    name: str = "brainobs sample",
) -> SampleDandiset:
    """Return the dandiset ``out_dir`` after laying ``files`` (asset path -> file) out in it.

    Every version in ``versions`` holds the same assets.
    """
    root = Path(out_dir).expanduser()
    check_dandiset(dandiset)
    assets = []
    for asset_path, file in sorted(files.items()):
        check_asset_path(asset_path, "the sample")
        entry = asset_entry(asset_path, Path(file), file_digest(file, "sha256"), dandiset)
        _link_or_copy(Path(file), root / blob_key(entry["blob"]))
        assets.append(entry)
    record = {"identifier": dandiset, "created": _CREATED, "modified": _CREATED,
              "contact_person": "brainobs", "embargo_status": "OPEN"}  # fmt: skip
    folder = root / "dandisets" / dandiset
    write_atomic(folder / "dandiset.json", json.dumps(record, indent=1).encode())
    for version in versions:
        check_version(version)
        doc = {"version": version, "name": name, "asset_count": len(assets),
               "size": sum(a["size"] for a in assets), "status": "Valid",
               "created": _CREATED, "modified": _CREATED, "assets": assets}  # fmt: skip
        write_atomic(folder / "versions" / f"{version}.json", json.dumps(doc, indent=1).encode())
    return SampleDandiset(root, dandiset, versions)


def write_sample_dandiset(
    release: str, sample: SampleRelease, out_dir: str | os.PathLike[str]
) -> list[SampleDandiset]:
    """Return the dandisets of a written sample release, laid out in ``out_dir``.

    The release's DANDI mapping (its declaration's ``dandi_mapping``) names each data file's
    dandiset and asset path; the metadata tables stay in the sample (DANDI does not hold them).
    """
    declared = get_release(release)
    if declared.dandi_mapping is None:
        raise InvalidInputError(
            f"brainobs has no DANDI layout of {declared.title} yet (no DANDI mapping declared)."
        )
    mapping = declared.load(declared.dandi_mapping)
    placed = mapping.asset_paths(sample.metadata_path)
    by_dandiset: dict[str, dict[str, Path]] = {}
    for file_id, (dandiset, asset_path) in placed.items():
        try:  # a file id the sample has (a manifest's, or a warehouse tree's key)
            path = sample.data_path(file_id)
        except (ManifestNotFoundError, UnknownIdError):
            continue
        by_dandiset.setdefault(dandiset, {})[asset_path] = path
    return [
        write_dandiset(files, out_dir, dandiset, name=f"{declared.title} (brainobs sample)")
        for dandiset, files in sorted(by_dandiset.items())
    ]


def _link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source`` (a copy across file systems)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
