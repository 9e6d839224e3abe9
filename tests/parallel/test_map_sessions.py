"""map_sessions: order, failure isolation, retries, progress, executors and Dask."""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

import brainobs
from brainobs.errors import DownloadError, InvalidInputError, TransientError
from brainobs.parallel import (
    MapResult,
    RetryPolicy,
    SessionsFailedError,
    map_sessions,
    run_with_retries,
)


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"session {x} has no trials")
    return x * x


class Flaky:
    """Raises ``error`` on the first ``failures`` calls of each id, then returns the id."""

    def __init__(self, failures: int, error: type[Exception] = TransientError) -> None:
        self.failures, self.error = failures, error
        self.calls: dict[int, int] = {}
        self.lock = threading.Lock()

    def __call__(self, x: int) -> int:
        with self.lock:
            self.calls[x] = self.calls.get(x, 0) + 1
            count = self.calls[x]
        if count <= self.failures:
            raise self.error(f"dropped connection reading session {x}")
        return x


def test_exported_at_the_top_level() -> None:
    assert brainobs.map_sessions is map_sessions
    assert "map_sessions" in brainobs.__all__


def test_serial_keeps_order_and_reports_where_each_ran() -> None:
    result = map_sessions(square, [4, 1, 3, 2])
    assert isinstance(result, MapResult) and result.ok
    assert list(result.results) == [4, 1, 3, 2]
    assert result.values() == [16, 1, 9, 4]
    assert set(result.info) == {1, 2, 3, 4}
    assert all(info.attempts == 1 and info.seconds >= 0 for info in result.info.values())


def test_a_failing_session_is_recorded_with_its_id_and_traceback() -> None:
    result = map_sessions(fail_on_three, range(6))
    assert list(result.results) == [0, 1, 2, 4, 5]
    assert list(result.failures) == [3]
    failure = result.failures[3]
    assert failure.session_id == 3 and failure.error_type == "ValueError"
    assert "has no trials" in failure.message
    assert "fail_on_three" in failure.traceback and "raise ValueError" in failure.traceback
    assert failure.attempts == 1  # not a transient error: no retry
    with pytest.raises(SessionsFailedError, match=r"1 of 6 sessions failed: session 3"):
        result.raise_for_failures()


def test_transient_errors_are_retried() -> None:
    flaky = Flaky(failures=2)
    result = map_sessions(flaky, [1, 2], retries=2, backoff=0.0)
    assert result.ok and result.values() == [1, 2]
    assert flaky.calls == {1: 3, 2: 3}
    assert result.info[1].attempts == 3


def test_retries_give_up_and_record_the_attempts() -> None:
    flaky = Flaky(failures=5, error=DownloadError)
    result = map_sessions(flaky, [7], retries=1, backoff=0.0)
    assert flaky.calls == {7: 2}
    assert result.failures[7].attempts == 2 and result.failures[7].error_type == "DownloadError"


def test_only_the_named_errors_are_retried() -> None:
    flaky = Flaky(failures=1, error=KeyError)
    assert map_sessions(flaky, [1], backoff=0.0).failures[1].attempts == 1
    result = map_sessions(flaky, [2], retry_on=(KeyError,), backoff=0.0)
    assert result.ok and flaky.calls[2] == 2


def test_backoff_doubles_up_to_its_maximum() -> None:
    policy = RetryPolicy(backoff=0.5, backoff_max=3.0)
    assert [policy.pause(k) for k in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_interrupt_propagates() -> None:
    def interrupted(x: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_sessions(interrupted, [1, 2])


def test_on_result_handles_each_value_as_it_arrives() -> None:
    seen: list[tuple[int, int]] = []

    def keep(session_id: int, value: int) -> str:
        seen.append((session_id, value))
        if session_id == 2:
            raise OSError("disk full")
        return f"wrote {value}"

    result = map_sessions(square, [1, 2, 3], on_result=keep)
    assert seen == [(1, 1), (2, 4), (3, 9)]
    assert result.results == {1: "wrote 1", 3: "wrote 9"}
    assert result.failures[2].error_type == "OSError"


def test_progress_bar_counts_every_session(capsys: pytest.CaptureFixture[str]) -> None:
    map_sessions(fail_on_three, range(5), show_progress=True, desc="demo")
    err = capsys.readouterr().err
    assert "demo" in err and "5/5" in err and "failed=1" in err


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"\[2\] appear more than once"):
        map_sessions(square, [1, 2, 2])


def test_thread_executor_with_a_bounded_window() -> None:
    running, peak = [0], [0]
    lock = threading.Lock()

    def tracked(x: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return fail_on_three(x)
        finally:
            with lock:
                running[0] -= 1

    with ThreadPoolExecutor(4) as pool:
        result = map_sessions(tracked, range(8), client=pool, max_in_flight=2)
    assert list(result.results) == [0, 1, 2, 4, 5, 6, 7]
    assert list(result.failures) == [3]
    assert peak[0] <= 2


def test_process_executor() -> None:
    with ProcessPoolExecutor(2) as pool:
        result = map_sessions(fail_on_three, range(5), client=pool)
    assert result.values() == [0, 1, 4, 16] and list(result.failures) == [3]
    assert len({info.worker for info in result.info.values()}) >= 1
    assert all(info.peak_rss is None or info.peak_rss > 0 for info in result.info.values())


def test_dask_client_isolates_failures_and_keeps_order() -> None:
    import distributed  # a test dependency (brainobs[parallel])

    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        result = map_sessions(fail_on_three, range(7), client=client, max_in_flight=2)
        flaky = Flaky(failures=1)
        retried = map_sessions(flaky, [10, 11], client=client, backoff=0.0)
    assert list(result.results) == [0, 1, 2, 4, 5, 6]
    assert result.failures[3].error_type == "ValueError"
    assert "raise ValueError" in result.failures[3].traceback
    assert retried.ok and all(info.attempts == 2 for info in retried.info.values())


def test_run_with_retries_is_what_workers_run() -> None:
    outcome = run_with_retries(fail_on_three, 3, RetryPolicy())
    assert outcome.value is None and outcome.failure is not None
    assert outcome.failure.session_id == 3
    ok: Any = run_with_retries(square, 5, RetryPolicy())
    assert ok.value == 25 and ok.failure is None and ok.info.attempts == 1
