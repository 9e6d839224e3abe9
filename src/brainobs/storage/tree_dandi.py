"""A warehouse tree whose NWB files come from the DANDI Archive (tables from another source).

DANDI holds a release's NWB files but not its metadata tables. :class:`DandiTreeSource` serves
a warehouse-layout cache (:mod:`brainobs.storage.tree_cache`): the tables from ``metadata`` (the
bucket's tree, a mirror, a sample folder), each NWB file from the dandiset the release's DANDI
mapping names, checked against the size and SHA-256 DANDI publishes (and the HDF5 end-of-file
check), downloaded into the folder or read by byte ranges.
"""

from __future__ import annotations

from brainobs.storage.dandi_cache import DandiFiles
from brainobs.storage.tree_sources import RemoteEntry, TreeSource


class DandiTreeSource:
    """The NWB files of a tree from DANDI (``files``), everything else from ``metadata``.

    File ids of the DANDI mapping are the files' bucket keys: ``<prefix>/<relative path>``.
    """

    def __init__(self, metadata: TreeSource, files: DandiFiles, prefix: str) -> None:
        self.metadata = metadata
        self.files = files
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"DandiTreeSource({self.files.describe()!r}, {self.metadata!r})"

    def describe(self) -> str:
        """Return the dandisets and the tables' source."""
        return f"{self.files.describe()} (tables from {self.metadata.describe()})"

    def locate(self, relative: str) -> RemoteEntry | None:
        """Return the DANDI asset of an NWB file (size, SHA-256), else the tables' source's."""
        if not relative.endswith(".nwb"):
            return self.metadata.locate(relative)
        fetcher, asset = self.files.asset(f"{self.prefix}/{relative}")
        return RemoteEntry(fetcher, asset.path, asset.size, sha256=asset.sha256)

    def build(self, relative: str) -> bytes | None:
        """Return a table the tables' source builds (None for a bucket)."""
        return self.metadata.build(relative)
