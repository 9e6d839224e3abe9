"""Run one function over many sessions: serially, on an executor, or on a Dask cluster.

:func:`map_sessions` calls ``func(session_id)`` for every id and returns a :class:`MapResult`
holding the values of the sessions that succeeded and a :class:`SessionFailure` (id, error,
traceback) for each one that failed, so that one bad session never loses the others.
Transient errors (a dropped connection, a download that failed after its own retries) are
retried with an exponential backoff where the call runs.

With a ``dask.distributed`` client (or a scheduler address) each call runs on a worker. The
function travels to each worker once (it is scattered, not sent with every task); sessions and
brainobs's NWB handles pickle as their locations, so a worker re-opens a session's file from a
shared cache or streams it by byte ranges, and only the function's result comes back. At most
``max_in_flight`` calls are queued at a time, so results do not pile up on the workers while the
caller handles earlier ones; ``on_result`` handles each result as it arrives (the summaries
write it to disk) and a progress bar follows the completions, on a cluster as locally.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeVar

from brainobs.errors import BrainobsError, DownloadError, InvalidInputError

__all__ = [
    "TRANSIENT_ERRORS",
    "MapResult",
    "RetryPolicy",
    "SessionFailure",
    "SessionsFailedError",
    "TaskInfo",
    "map_sessions",
    "run_with_retries",
]

R = TypeVar("R")

#: Errors worth another try: transfers that failed after their own retries, dropped
#: connections, timeouts. Anything else (a bug, a damaged file) fails the session at once.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (DownloadError, ConnectionError, TimeoutError)


class SessionsFailedError(BrainobsError, RuntimeError):
    """Some sessions of a :func:`map_sessions` run failed (their ids and errors are listed)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often a session is retried after a transient error, and the pauses between tries."""

    retries: int = 2
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS
    backoff: float = 1.0
    backoff_max: float = 30.0

    def pause(self, attempt: int) -> float:
        """Return the pause (s) before retry number ``attempt`` (1-based)."""
        return float(min(self.backoff_max, self.backoff * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class SessionFailure:
    """One session that failed: its id, the error and where it was raised."""

    session_id: Any
    error_type: str
    message: str
    traceback: str
    attempts: int = 1

    def __str__(self) -> str:
        return f"session {self.session_id}: {self.error_type}: {self.message}"


@dataclass(frozen=True)
class TaskInfo:
    """Where and how one session ran: seconds, tries, worker, the worker's peak memory.

    ``cpu_seconds`` is the CPU time of the worker process during the call (every thread of
    it: the session's own when the worker runs one task at a time).
    """

    seconds: float
    attempts: int
    worker: str
    peak_rss: int | None = None  # bytes: the worker process's high-water mark so far
    cpu_seconds: float | None = None


@dataclass
class MapResult(Generic[R]):
    """The outcome of :func:`map_sessions`: values of the sessions done, failures of the others.

    ``results`` and ``failures`` are keyed by session id, in the order the ids were given;
    ``info`` says where and how long each session ran.
    """

    results: dict[Any, R] = field(default_factory=dict)
    failures: dict[Any, SessionFailure] = field(default_factory=dict)
    info: dict[Any, TaskInfo] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Return True when no session failed."""
        return not self.failures

    def values(self) -> list[R]:
        """Return the values of the sessions that succeeded, in input order."""
        return list(self.results.values())

    def describe(self) -> str:
        """Return one line per outcome count and per failed session."""
        lines = [f"{len(self.results)} sessions done, {len(self.failures)} failed"]
        lines += [f"  {failure}" for failure in self.failures.values()]
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """Raise :class:`SessionsFailedError` naming every failed session, if any failed."""
        if self.ok:
            return
        first = next(iter(self.failures.values()))
        raise SessionsFailedError(
            f"{len(self.failures)} of {len(self.failures) + len(self.results)} sessions failed: "
            + "; ".join(str(f) for f in self.failures.values())
            + f". Traceback of session {first.session_id}:\n{first.traceback}"
        )


# --- one session, where it runs ------------------------------------------------------------
def _worker_name() -> str:
    """Return ``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def peak_rss() -> int | None:
    """Return this process's peak resident memory in bytes (None where it cannot be read).

    On Linux this is ``VmHWM`` of ``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` keeps
    the high-water mark of the process that forked this one, so a worker started from a
    large process would report that process's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


@dataclass(frozen=True)
class Outcome:
    """What one call returns to the caller: a value or a failure, and how it ran."""

    value: Any
    failure: SessionFailure | None
    info: TaskInfo


def run_with_retries(func: Callable[[Any], Any], session_id: Any, policy: RetryPolicy) -> Outcome:
    """Return the :class:`Outcome` of ``func(session_id)``, retrying transient errors.

    Exceptions are caught and recorded with their traceback; ``KeyboardInterrupt`` and other
    ``BaseException`` s are not.
    """
    start = (time.perf_counter(), time.process_time())
    attempt = 0
    while True:
        attempt += 1
        try:
            value = func(session_id)
        except policy.retry_on:
            if attempt > policy.retries:
                return _failed(session_id, attempt, start)
            time.sleep(policy.pause(attempt))
        except Exception:
            return _failed(session_id, attempt, start)
        else:
            return Outcome(value, None, _info(start, attempt))


def _info(start: tuple[float, float], attempts: int) -> TaskInfo:
    """Return the TaskInfo of a call that started at ``start`` (wall clock, CPU clock)."""
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    return TaskInfo(wall, attempts, _worker_name(), peak_rss(), cpu)


def _failed(session_id: Any, attempts: int, start: tuple[float, float]) -> Outcome:
    """Return the failed Outcome of the exception being handled."""
    return Outcome(None, _current_failure(session_id, attempts), _info(start, attempts))


def _current_failure(session_id: Any, attempts: int) -> SessionFailure:
    """Return the SessionFailure of the exception being handled."""
    exc_type, exc, _ = sys.exc_info()
    return SessionFailure(
        session_id,
        exc_type.__name__ if exc_type is not None else "Exception",
        " ".join(str(exc).split()) or type(exc).__name__,
        traceback.format_exc(),
        attempts,
    )


def _lost(session_id: Any, future: Any) -> Outcome:
    """Return the failed Outcome of a task the executor or cluster could not run at all."""
    try:
        exc = future.exception()
    except BaseException as cancelled:  # a cancelled future raises instead of returning it
        exc = cancelled
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    failure = SessionFailure(session_id, type(exc).__name__, str(exc) or type(exc).__name__, text)
    return Outcome(None, failure, TaskInfo(0.0, 1, "?"))


# --- the map ---------------------------------------------------------------------------------
def map_sessions(
    func: Callable[[Any], R],
    session_ids: Iterable[Hashable],
    *,
    client: Any = None,
    retries: int = 2,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    backoff: float = 1.0,
    on_result: Callable[[Any, R], Any] | None = None,
    max_in_flight: int | None = None,
    show_progress: bool = False,
    desc: str = "sessions",
) -> MapResult[Any]:
    """Return the values of ``func(session_id)`` for every id, and the failures.

    ``client`` runs the calls in parallel: a ``dask.distributed.Client`` (a LocalCluster's or
    a cluster's), a scheduler address such as ``"tcp://10.0.0.5:8786"`` (a client is opened
    and closed here), or a :class:`concurrent.futures.Executor`; without one the calls run
    here, one after the other. A call raising one of ``retry_on`` is tried again up to
    ``retries`` times (pausing ``backoff``, then twice as long...); any other exception fails
    that session only. ``on_result(session_id, value)`` handles each value here, as it
    arrives; what it returns is kept instead of the value. ``max_in_flight`` bounds the calls
    queued at once (default: twice the cluster's threads). ``KeyboardInterrupt`` cancels the
    calls still queued and propagates.
    """
    ids = _unique(session_ids)
    policy = RetryPolicy(retries=int(retries), retry_on=tuple(retry_on), backoff=float(backoff))
    result: MapResult[Any] = MapResult()
    with _progress(len(ids), desc, show_progress) as bar:

        def handle(session_id: Any, outcome: Outcome) -> None:
            _record(result, session_id, outcome, on_result)
            bar.update(1)
            if result.failures:
                bar.set_postfix(failed=len(result.failures), refresh=False)

        if client is None:
            for session_id in ids:
                handle(session_id, run_with_retries(func, session_id, policy))
        elif isinstance(client, Executor):
            _executor_map(client, func, ids, policy, max_in_flight, handle)
        else:
            with _dask_client(client) as dask_client:
                _dask_map(dask_client, func, ids, policy, max_in_flight, desc, handle)
    return _in_order(result, ids)


def _unique(session_ids: Iterable[Hashable]) -> list[Any]:
    """Return the ids as a list; raise if one appears twice (results are keyed by id)."""
    ids = list(session_ids)
    seen: set[Any] = set()
    repeated = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
    if repeated:
        raise InvalidInputError(
            f"session ids must be unique; {repeated[:5]} appear more than once. "
            "Pass each session once (e.g. list(dict.fromkeys(ids)))."
        )
    return ids


def _record(
    result: MapResult[Any],
    session_id: Any,
    outcome: Outcome,
    on_result: Callable[[Any, Any], Any] | None,
) -> None:
    """Add one outcome to ``result``; a failing ``on_result`` fails that session."""
    result.info[session_id] = outcome.info
    if outcome.failure is not None:
        result.failures[session_id] = outcome.failure
        return
    if on_result is None:
        result.results[session_id] = outcome.value
        return
    try:
        result.results[session_id] = on_result(session_id, outcome.value)
    except Exception:
        result.failures[session_id] = _current_failure(session_id, outcome.info.attempts)


def _in_order(result: MapResult[Any], ids: list[Any]) -> MapResult[Any]:
    """Return ``result`` with its dicts in the order of ``ids``."""

    def ordered(mapping: dict[Any, Any]) -> dict[Any, Any]:
        return {i: mapping[i] for i in ids if i in mapping}

    return MapResult(ordered(result.results), ordered(result.failures), ordered(result.info))


@contextmanager
def _progress(total: int, desc: str, show: bool) -> Iterator[Any]:
    """Yield a tqdm progress bar over ``total`` sessions (disabled unless ``show``)."""
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="session", disable=not show) as bar:
        yield bar


def _executor_map(
    executor: Executor,
    func: Callable[[Any], Any],
    ids: list[Any],
    policy: RetryPolicy,
    max_in_flight: int | None,
    handle: Callable[[Any, Outcome], None],
) -> None:
    """Run the calls on a concurrent.futures executor, at most ``max_in_flight`` at a time."""
    window = max_in_flight or 2 * (os.cpu_count() or 1)
    queue = iter(ids)
    pending: dict[Future[Outcome], Any] = {}

    def submit(count: int) -> None:
        for session_id in islice(queue, count):
            pending[executor.submit(run_with_retries, func, session_id, policy)] = session_id

    submit(window)
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                session_id = pending.pop(future)
                handle(session_id, _outcome_of(future, session_id))
            submit(len(done))
    finally:
        for future in pending:
            future.cancel()


def _outcome_of(future: Any, session_id: Any) -> Outcome:
    """Return a finished future's Outcome, or the failure of a task that could not run."""
    try:
        outcome = future.result()
    except Exception:
        return _lost(session_id, future)
    return outcome if isinstance(outcome, Outcome) else _lost(session_id, future)


@contextmanager
def _dask_client(client: Any) -> Iterator[Any]:
    """Yield a dask client: ``client`` itself, or one connected to a scheduler address."""
    if not isinstance(client, str):
        yield client
        return
    try:
        from distributed import Client
    except ImportError:
        raise InvalidInputError(
            "Running on a Dask scheduler needs dask.distributed: pip install 'brainobs[parallel]'."
        ) from None
    with Client(client, set_as_default=False) as connected:
        yield connected


def _dask_map(
    client: Any,
    func: Callable[[Any], Any],
    ids: list[Any],
    policy: RetryPolicy,
    max_in_flight: int | None,
    desc: str,
    handle: Callable[[Any, Outcome], None],
) -> None:
    """Run the calls on a Dask cluster, handling each result as it completes.

    The queue follows the cluster's size (an adaptive cluster that grows gets more calls
    in flight); it waits for a first worker (a batch job may still be queued).
    """
    from distributed import as_completed

    if not ids:
        return
    client.wait_for_workers(1)
    remote_func = client.scatter(func, hash=False)  # sent to each worker once, not per task
    run = uuid.uuid4().hex[:8]
    queue = deque(ids)
    pending: dict[str, tuple[Any, Any]] = {}
    completed = as_completed([], loop=client.loop)

    def fill() -> None:
        window = max_in_flight or max(2, 2 * sum(client.nthreads().values()))
        while queue and len(pending) < window:
            session_id = queue.popleft()
            key = f"{desc}-{session_id}-{run}"
            future = client.submit(run_with_retries, remote_func, session_id, policy, key=key)
            pending[future.key] = (session_id, future)
            completed.add(future)

    fill()
    try:
        for future in completed:
            session_id, _ = pending.pop(future.key)
            handle(session_id, _outcome_of(future, session_id))
            future.release()  # handled: the worker may forget the result
            fill()
    finally:
        if pending:
            client.cancel([future for _, future in pending.values()])
