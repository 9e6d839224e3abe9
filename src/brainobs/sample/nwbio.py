"""Write an NWBFile to disk reproducibly and in the released files' schema versions.

pynwb gives every object a random UUID (``object_id``); inside
:func:`deterministic_object_ids` they are derived from a seed instead, so the same seed gives
byte-identical files. :func:`write_nwb` then rewrites the cached schemas to those of the
released files' NWB core (2.5.0 for VBN, 2.2.2 for VCN; see :mod:`brainobs.sample.nwbcompat`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from brainobs.sample.nwbcompat import NWB_VERSION, downgrade_to_core
from brainobs.sample.nwbext import shared_type_map


def write_nwb(
    nwbfile: Any,
    path: str | Path,
    fill: Callable[[], None] | None = None,
    *,
    core_version: str = NWB_VERSION,
    namespaces: tuple[str, ...] | None = None,
) -> Path:
    """Write ``nwbfile`` to ``path`` with NWB core ``core_version`` cached (see :mod:`nwbcompat`).

    ``fill`` runs after pynwb has written the file and before it is closed: it fills the
    datasets that were written empty (hdmf ``H5DataIO(shape=..., dtype=...)``).
    ``namespaces`` are the extension namespaces the file caches (default: VBN's four).
    """
    from hdmf.build import BuildManager
    from pynwb import NWBHDF5IO

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*indexed_timeseries.*")
        warnings.filterwarnings("ignore", message=".*missing required value for attribute.*")
        with NWBHDF5IO(str(path), "w", manager=BuildManager(shared_type_map())) as io:
            io.write(nwbfile, cache_spec=False)
            if fill is not None:
                fill()
    downgrade_to_core(path, core_version, namespaces)
    return path


@contextlib.contextmanager
def deterministic_object_ids(seed: int) -> Iterator[None]:
    """Give the containers created inside the block object ids derived from ``seed``.

    hdmf draws each container's ``object_id`` from ``uuid4`` when the container is created;
    containers are created in a fixed order, so numbering them from ``seed`` makes files
    byte-identical across runs (rewriting the ids after writing would leave the random ones
    in freed file space).
    """
    import hdmf.container

    counter = itertools.count()
    original = hdmf.container.uuid4

    def next_uuid() -> uuid.UUID:
        return uuid.UUID(deterministic_uuid(seed, f"object-{next(counter)}"))

    hdmf.container.uuid4 = next_uuid
    try:
        yield
    finally:
        hdmf.container.uuid4 = original


def deterministic_uuid(seed: int, name: str) -> str:
    """Return a version-4-shaped UUID text derived from ``seed`` and ``name``."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def compressed(data: Any) -> Any:
    """Return ``data`` wrapped for gzip + shuffle compressed, chunked HDF5 storage."""
    from hdmf.backends.hdf5 import H5DataIO

    return H5DataIO(data, compression="gzip", shuffle=True)
