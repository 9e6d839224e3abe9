from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from brainobs.parallel import map_sessions


def square(x: int) -> int:
    return x * x


def test_serial_keeps_order() -> None:
    assert map_sessions(square, range(5)) == [0, 1, 4, 9, 16]


def test_executor() -> None:
    with ThreadPoolExecutor(2) as pool:
        assert map_sessions(square, range(6), client=pool) == [0, 1, 4, 9, 16, 25]


def test_dask_client() -> None:
    import distributed  # a test dependency (brainobs[parallel])

    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        assert map_sessions(square, range(4), client=client) == [0, 1, 4, 9]


def test_errors_propagate() -> None:
    def boom(x: int) -> int:
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 0"):
        map_sessions(boom, [0, 1])
