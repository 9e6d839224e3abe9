"""Map a function over sessions: serially by default, on a Dask cluster when given one.

Sessions and brainobs's NWB handles pickle as their locations, so work sent to a Dask worker
re-opens the file there (from the shared cache, or by byte ranges from the bucket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")


def map_sessions(
    func: Callable[[T], R],
    items: Iterable[T],
    client: Any = None,
    show_progress: bool = False,
    desc: str = "sessions",
) -> list[R]:
    """Return ``[func(item) for item in items]``, in order.

    ``client`` runs the calls in parallel: a ``dask.distributed.Client`` (``client.map`` +
    ``client.gather``) or any :class:`concurrent.futures.Executor`. Without one the calls
    run one after the other in this process.
    """
    items = list(items)
    if client is None:
        return [func(item) for item in tqdm(items, desc=desc, disable=not show_progress)]
    if isinstance(client, Executor):
        futures = [client.submit(func, item) for item in items]
        return [f.result() for f in tqdm(futures, desc=desc, disable=not show_progress)]
    futures = client.map(func, items, pure=False)
    return list(client.gather(futures))
