"""A lazy, picklable handle on one NWB file, local or remote.

:class:`NwbFile` opens nothing until something is read, pickles as its location (a path, or a
description of the fetcher and key) so that it can travel to another process, and turns the
errors h5py raises on damaged files into :class:`~brainobs.errors.CorruptFileError`. Reads in
its :meth:`NwbFile.reading` blocks are held to its memory budget (:mod:`brainobs.nwb.guards`).
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import h5py
import numpy as np

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import (
    BrainobsError,
    CorruptFileError,
    FileNotInCacheError,
    InvalidInputError,
    MissingDataError,
)
from brainobs.nwb.decode import decode_value
from brainobs.nwb.guards import check_read, read_limits
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.remote import BlockCacheOptions, RemoteFile, RemoteObject
from brainobs.storage.sources import is_url, remote_object_for_url

#: HDF5's chunk cache for remote files. Chunks larger than this are not cached whole, so an
#: uncompressed chunk is read only where it is selected (h5py's default, 8 MiB, would pull
#: every chunk of up to 8 MiB in full to read one value of it).
REMOTE_CHUNK_CACHE = 1 << 20

REPAIR_HINT = (
    "If it is a cached copy, run `brainobs cache verify --repair` to check it against the "
    "manifest and download it again."
)


@dataclass(frozen=True)
class LocalSource:
    """An NWB file on a local disk."""

    path: Path

    def describe(self) -> str:
        """Return the path, for messages."""
        return str(self.path)

    def open(self) -> tuple[h5py.File, RemoteFile | None]:
        """Return the open h5py file (no remote file object)."""
        if not self.path.is_file():
            raise FileNotInCacheError(
                f"{self.path} does not exist (or is not a file). Check the path, or download "
                "the file first (`brainobs download ...`)."
            )
        return h5py.File(self.path, "r"), None


@dataclass(frozen=True)
class RemoteSource:
    """An NWB file read by byte ranges from a remote object (fetchers pickle themselves)."""

    remote: RemoteObject
    block_cache: BlockCacheOptions = field(default_factory=BlockCacheOptions)

    def describe(self) -> str:
        """Return the key and the source, for messages."""
        return self.remote.describe()

    def open(self) -> tuple[h5py.File, RemoteFile | None]:
        """Return the open h5py file and the remote file object under it."""
        remote = self.remote.open(self.block_cache)
        try:
            return h5py.File(remote, "r", rdcc_nbytes=REMOTE_CHUNK_CACHE), remote
        except BaseException as exc:
            remote.close()
            # h5py's frames in the traceback hold the file-access property list of the
            # file-object driver; if anything keeps this exception (IPython does) until the
            # interpreter exits, HDF5 frees that list after Python is gone and crashes.
            traceback.clear_frames(exc.__traceback__)
            if remote.last_error is not None and not isinstance(exc, BrainobsError):
                raise remote.last_error from exc
            raise


Source = LocalSource | RemoteSource


class NwbFile:
    """A lazy handle on an NWB file: opened on first use, closable, picklable.

    Build it with :meth:`open` (a path or an ``s3://`` / ``https://`` address) or
    :meth:`from_fetcher`. After :meth:`close`, the next read opens the file again.
    ``memory_budget`` (bytes, or text like ``"8G"``) caps what one read may allocate
    (default: ``$BRAINOBS_MEMORY_BUDGET``, else half the machine's memory).
    """

    def __init__(self, source: Source, memory_budget: int | str | None = None) -> None:
        self._source = source
        self._memory_budget = None if memory_budget is None else config.memory_budget(memory_budget)
        self._h5: h5py.File | None = None
        self._remote: RemoteFile | None = None
        self._largest_chunks: dict[str, int] = {}  # memoised by the read guards
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        location: str | os.PathLike[str],
        *,
        endpoint: str | None = None,
        settings: TransferSettings | None = None,
        size: int | None = None,
        block_cache: BlockCacheOptions | None = None,
        memory_budget: int | str | None = None,
    ) -> NwbFile:
        """Return a handle on a local path or an ``s3://bucket/key`` / ``http(s)://`` URL.

        ``endpoint`` redirects ``s3://`` to a mirror; ``size`` (when known) saves a request;
        ``block_cache`` tunes the block cache of remote reads; ``memory_budget`` caps a read.
        """
        text = os.fspath(location)
        if is_url(text):
            remote = remote_object_for_url(text, endpoint=endpoint, settings=settings, size=size)
            return cls.from_remote(remote, block_cache=block_cache, memory_budget=memory_budget)
        if text.startswith("file://"):
            text = text[len("file://") :]
        return cls(LocalSource(Path(text).expanduser()), memory_budget)

    @classmethod
    def from_fetcher(
        cls,
        fetcher: Fetcher,
        key: str,
        version_id: str | None = None,
        size: int | None = None,
        block_cache: BlockCacheOptions | None = None,
        memory_budget: int | str | None = None,
    ) -> NwbFile:
        """Return a handle that reads object ``key`` of ``fetcher`` by byte ranges."""
        remote = RemoteObject(fetcher, key, version_id, size)
        return cls.from_remote(remote, block_cache=block_cache, memory_budget=memory_budget)

    @classmethod
    def from_remote(
        cls,
        remote: RemoteObject,
        block_cache: BlockCacheOptions | None = None,
        memory_budget: int | str | None = None,
    ) -> NwbFile:
        """Return a handle reading ``remote`` by byte ranges (``block_cache`` tunes blocks)."""
        return cls(RemoteSource(remote, block_cache or BlockCacheOptions()), memory_budget)

    @classmethod
    def from_local_or_remote(
        cls,
        location: Path | RemoteObject,
        block_cache: BlockCacheOptions | None = None,
        memory_budget: int | str | None = None,
    ) -> NwbFile:
        """Return a handle on a verified local copy or on a remote object read by ranges."""
        if isinstance(location, RemoteObject):
            return cls.from_remote(location, block_cache, memory_budget)
        return cls(LocalSource(Path(location)), memory_budget)

    def __repr__(self) -> str:
        state = "open" if self._h5 is not None else "closed"
        return f"<NwbFile {self.name} ({state})>"

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self._source, "memory_budget": self._memory_budget}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["source"], state.get("memory_budget"))  # type: ignore[misc]

    def __enter__(self) -> NwbFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def source(self) -> Source:
        """Return where the file lives."""
        return self._source

    @property
    def name(self) -> str:
        """Return the file's path or remote key, for messages."""
        return self._source.describe()

    @property
    def memory_budget(self) -> int:
        """Return the most bytes one read of this file may allocate."""
        return config.memory_budget(self._memory_budget)

    @property
    def is_open(self) -> bool:
        """Return whether the file is open now."""
        return self._h5 is not None

    @property
    def h5(self) -> h5py.File:
        """Return the open h5py file, opening and checking it on first use."""
        with self._lock:
            if self._h5 is None:
                self._h5, self._remote = self._open_checked()
            return self._h5

    @property
    def remote(self) -> RemoteFile | None:
        """Return the remote file object under the h5py file (None for a local file)."""
        _ = self.h5
        return self._remote

    def close(self) -> None:
        """Close the file (and its remote connection); a later read opens it again."""
        with self._lock:
            h5, remote = self._h5, self._remote
            self._h5, self._remote = None, None
            self._largest_chunks = {}
            if h5 is not None:
                h5.close()
            if remote is not None:
                remote.close()

    def _open_checked(self) -> tuple[h5py.File, RemoteFile | None]:
        """Return the open file after checking that it looks like an NWB file."""
        try:
            h5, remote = self._source.open()
        except BrainobsError:
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            raise self.corrupt(f"HDF5 could not open it: {exc}") from exc
        missing = _missing_nwb_parts(h5)
        if missing:
            h5.close()
            if remote is not None:
                remote.close()
            raise self.corrupt(f"it lacks {missing}, which every NWB file has")
        return h5, remote

    def corrupt(self, detail: str) -> CorruptFileError:
        """Return the error for this file being damaged, saying how to repair it."""
        return CorruptFileError(
            f"{self.name} is not a readable NWB file ({detail}); it is probably truncated "
            f"or damaged. {REPAIR_HINT}"
        )

    @contextmanager
    def reading(self, what: str) -> Iterator[h5py.File]:
        """Yield the h5py file; turn HDF5 read failures into CorruptFileError about ``what``.

        Reads in the block are held to the memory budget; a MemoryError that still happens
        becomes an InvalidInputError.
        """
        with read_limits(self._memory_budget, self.name, self._largest_chunks):
            try:
                yield self.h5
            except BrainobsError:
                raise
            except MemoryError as exc:
                raise InvalidInputError(
                    f"Reading {what} from {self.name} needs more memory than this machine has; "
                    "select fewer rows or a shorter window."
                ) from exc
            except (OSError, RuntimeError) as exc:
                self._raise_read_error(what, exc)

    def _raise_read_error(self, what: str, exc: Exception) -> NoReturn:
        """Raise the brainobs error for an HDF5 read of ``what`` that failed with ``exc``."""
        transfer_error = self._take_transfer_error()
        if transfer_error is not None:
            raise transfer_error from exc
        if _missing_filter(str(exc)):
            raise CorruptFileError(
                f"Reading {what} from {self.name} needs an HDF5 compression filter that is "
                f"not installed ({exc}); `pip install hdf5plugin` and import it first."
            ) from exc
        raise self.corrupt(f"reading {what} failed: {exc}") from exc

    def _take_transfer_error(self) -> Exception | None:
        """Return (and forget) the error that made the last remote read fail, if any."""
        remote = self._remote
        if remote is None or remote.last_error is None:
            return None
        error, remote.last_error = remote.last_error, None
        return error

    def get(self, path: str) -> h5py.Group | h5py.Dataset:
        """Return the group or dataset at ``path``; raise MissingDataError if absent."""
        with self.reading(path) as h5:
            obj = h5.get(path)
        if obj is None:
            parent = path.rstrip("/").rpartition("/")[0] or "/"
            raise MissingDataError(
                f"{self.name} has no {path}. What {parent} holds: {self.keys(parent)}."
            )
        return obj

    def dataset(self, path: str) -> h5py.Dataset:
        """Return the dataset at ``path``."""
        obj = self.get(path)
        if not isinstance(obj, h5py.Dataset):
            raise MissingDataError(f"{path} in {self.name} is a group, not a dataset.")
        return obj

    def group(self, path: str) -> h5py.Group:
        """Return the group at ``path``."""
        obj = self.get(path)
        if not isinstance(obj, h5py.Group):
            raise MissingDataError(f"{path} in {self.name} is a dataset, not a group.")
        return obj

    def has(self, path: str) -> bool:
        """Return whether the file holds a group or dataset at ``path``."""
        with self.reading(path) as h5:
            return path in h5

    def keys(self, path: str = "/") -> list[str]:
        """Return the names of the members of group ``path`` (empty if it is absent)."""
        with self.reading(path) as h5:
            obj = h5.get(path)
            return list(obj.keys()) if isinstance(obj, h5py.Group) else []

    def attrs(self, path: str = "/") -> dict[str, Any]:
        """Return the attributes of ``path``, decoded (text as str, text arrays as lists)."""
        obj = self.get(path)
        with self.reading(f"attributes of {path}"):
            return {name: decode_value(value, self.ref_name) for name, value in obj.attrs.items()}

    def values(self, path: str, text: bool = False) -> np.ndarray:
        """Return the whole dataset at ``path`` as an array (``text``: decoded strings),
        after checking that it fits the memory budget."""
        dataset = self.dataset(path)
        with self.reading(path):
            check_read(dataset)
            return np.asarray(dataset.asstr()[()] if text else dataset[()])

    def scalar(self, path: str) -> Any:
        """Return the value of a scalar dataset, decoded."""
        dataset = self.dataset(path)
        with self.reading(path):
            check_read(dataset)
            value = dataset.asstr()[()] if dataset.dtype.kind in "SO" else dataset[()]
        return decode_value(value, self.ref_name)

    def ref_name(self, ref: h5py.Reference) -> str:
        """Return the path of the object an HDF5 reference points to."""
        with self.reading("an object reference") as h5:
            name = h5[ref].name
        return str(name)

    @property
    def identifier(self) -> str:
        """Return the file's ``identifier`` (a session, experiment or probe id as text)."""
        return str(self.scalar("/identifier"))

    @property
    def nwb_version(self) -> str:
        """Return the NWB schema version the file declares."""
        with self.reading("nwb_version") as h5:
            if "nwb_version" in h5.attrs:
                return str(decode_value(h5.attrs["nwb_version"]))
        return str(self.scalar("/nwb_version"))

    @property
    def bytes_transferred(self) -> int:
        """Return the bytes fetched from a remote source so far (0 for a local file)."""
        remote = self._remote
        return remote.bytes_transferred if remote is not None else 0


def _missing_nwb_parts(h5: h5py.File) -> str:
    """Return what of the NWB file skeleton ``h5`` lacks (empty text when nothing)."""
    missing = []
    if "nwb_version" not in h5.attrs and "nwb_version" not in h5:
        missing.append("the nwb_version attribute")
    for name in ("identifier", "general"):
        if name not in h5:
            missing.append(f"/{name}")
    return " and ".join(missing)


def _missing_filter(message: str) -> bool:
    """Return whether an HDF5 error says a compression filter is not available."""
    lowered = message.lower()
    return "not registered" in lowered or "plugin" in lowered
