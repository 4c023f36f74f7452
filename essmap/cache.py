"""Values computed from a store, built once per store revision.

A long-lived process (the HTTP API) keeps what it derives from the stored data (the spatial index,
serialised collections, coverage results, rendered pages) in one :class:`RevisionCache`. Each
value is kept under a key (what it is, and its parameters) with the store revision it was built
from; a value of an older revision is rebuilt on first use after the data changed:

- **single flight**: one build per key at a time, in the cache's own small pool of threads,
  however many callers ask for it at once;
- **stale while rebuilding**: while a newer value is built, callers get the previous one at
  once (with its revision, so that HTTP validators stay truthful); only a caller with no value at
  all waits for the build;
- **read your writes**: a caller may ask for a value whose revision was read after a given
  moment (``since``, :func:`time.monotonic`), such as the end of a write it made: a stale value
  read before it is not answered, the caller waits for a build that reads the store after it;
- a build that fails is not retried for the same revision (callers keep the previous value, or
  get the error), so a broken store does not start one build per request;
- when the store cannot tell its revision (a database down, a broken file), callers keep getting
  the last value built, and only a caller with no value gets the error;
- at most ``max_entries`` keys are kept, the least recently used dropped first;
- builds run in threads of a lower CPU priority (``niceness``, :mod:`essmap.priority`), so
  that on a busy machine they use the time the requests leave, and they pause the garbage
  collector (:mod:`essmap.collector`);
- builds nobody waits for (callers get the previous value meanwhile) are paced: they compute at
  most ``share`` of the time (:func:`essmap.priority.paced`), leaving the interpreter lock to
  the threads answering requests; a build a caller waits for runs at full speed (a pause under
  way ends when a caller comes to wait); a value built inside another build is paced with it;
- a build asked for by another build, and queued behind it, is run by that build: with one
  builder thread, waiting for it would wait forever;
- after a build, the garbage collector walks what it made (:func:`essmap.collector.settle`) in
  the builder thread, before a pause, not in the threads answering requests.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from essmap.collector import collector_paused, settle
from essmap.priority import lower_priority, pace, paced

__all__ = ["RevisionCache", "Versioned"]

log = logging.getLogger("essmap")

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Versioned(Generic[V]):
    """A cached value, the store revision it was built from, and when that revision was read
    (:func:`time.monotonic`; the build read the store after it)."""

    value: V
    revision: str
    read_at: float = field(default=0.0, compare=False)


class _Entry:
    __slots__ = ("current", "failed", "pending", "queued")

    def __init__(self) -> None:
        self.current: Versioned[Any] | None = None
        self.pending: Future[Versioned[Any]] | None = None
        #: The pending build's function while no thread has started it.
        self.queued: Callable[[], None] | None = None
        self.failed: tuple[str, BaseException] | None = None


class RevisionCache:
    """Values keyed by what they are, built once per store revision (see the module docstring).

    Parameters
    ----------
    revision
        Returns the store's current revision (cheap: called on every look-up).
    max_entries
        Keys kept at most; the least recently used are dropped first.
    builders
        Threads that build values (different keys build in parallel up to this number).
    niceness
        CPU priority of the builder threads, as ``nice`` sets it (0, the default: the usual one;
        applied on Linux, which keeps a priority per thread).
    share
        Largest share of a processor a build nobody waits for computes (1, the default: not
        paced; see :func:`essmap.priority.paced`).
    """

    def __init__(
        self,
        revision: Callable[[], str],
        *,
        max_entries: int = 64,
        builders: int = 1,
        niceness: int = 0,
        share: float = 1.0,
    ) -> None:
        if max_entries < 1 or builders < 1:
            raise ValueError("max_entries and builders must be at least 1")
        if not share > 0:
            raise ValueError(f"share must be positive, not {share}")
        self._share = share
        #: Builds under way or queued that a caller waits for, and whether there is any: paced
        #: builds do not pause meanwhile (a pause under way ends).
        self._awaited: set[Future[Any]] = set()
        self._rush = threading.Event()
        self._revision = revision
        self._niceness = niceness
        self._max_entries = max_entries
        self._builders = builders
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        #: Builds started, by key (for supervision and tests).
        self.builds: Counter[Hashable] = Counter()

    def lookup(
        self, key: Hashable, build: Callable[[], V], *, since: float = 0.0
    ) -> Versioned[V] | Future[Versioned[V]]:
        """The value of ``key`` now (current or previous revision), or the future of its build.

        Never blocks: a caller that gets a future waits for it as it can (a thread with
        :meth:`Future.result`, a coroutine with :func:`asyncio.wrap_future`). ``build`` is called
        without arguments, in a builder thread, when the value must be (re)built.

        ``since`` (a :func:`time.monotonic` moment, such as the end of a write the caller made):
        a value of an older revision read before it is not answered; the caller gets the future
        of a build instead. That build may itself have read the store before ``since`` (it was
        under way already): the caller asks again once it is done (see ``Versioned.read_at``).
        """
        read_at = time.monotonic()
        try:
            revision = self._revision()
        except Exception as exc:  # the store cannot say its revision (unreachable, broken file)
            with self._lock:
                known = self._entries.get(key)
                last = known.current if known is not None else None
            if last is None:
                raise
            log.warning(
                "store revision unreadable (%s): answering %r from revision %s", exc, key, last.revision
            )
            return last
        run: Callable[[], None] | None = None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                self._evict()
            else:
                self._entries.move_to_end(key)
            current = entry.current
            if current is not None and current.revision == revision:
                return current
            if current is not None and current.read_at < since:
                current = None  # too old for this caller: it waits for a build
            failed = entry.failed
            if failed is not None and failed[0] == revision:
                if current is not None:
                    return current
                raise failed[1]
            pending = entry.pending
            if pending is None:
                pending, run = self._prepare(key, entry, revision, read_at, build)
            inside_build = getattr(self._local, "building", False)
            if current is None and not inside_build:  # (a build's own look-ups are part of it)
                self._await(pending)
        if run is not None:
            if inside_build:
                run()  # asked from inside a build: waiting for another builder could wait for this one
            else:
                self._submit(run, entry, pending)
        if current is not None and not pending.done():
            return current  # stale while the newer value is built
        return pending

    def last(self, key: Hashable) -> Any:
        """The most recent value built for ``key``, whatever its revision (None if none): for a
        build that can reuse it (the street network, when the data changed but not the network)."""
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None or entry.current is None else entry.current.value

    def get(self, key: Hashable, build: Callable[[], V]) -> Versioned[V]:
        """The value of ``key`` (see :meth:`lookup`), waiting for its build when there is no other."""
        found = self.lookup(key, build)
        return self._wait(key, found) if isinstance(found, Future) else found

    def fresh(self, key: Hashable, build: Callable[[], V]) -> Versioned[V]:
        """The value of ``key`` for the store's current revision, waiting for its build if needed."""
        found = self.lookup(key, build)
        if isinstance(found, Versioned) and found.revision != self._revision():
            with self._lock:
                entry = self._entries.get(key)
                pending = entry.pending if entry is not None else None
                failed = entry.failed if entry is not None else None
                if pending is not None and not getattr(self._local, "building", False):
                    self._await(pending)
            if pending is not None:
                found = pending
            elif failed is not None and failed[0] != found.revision:
                raise failed[1]
        return self._wait(key, found) if isinstance(found, Future) else found

    def close(self) -> None:
        """Stop the builder threads (builds under way finish; queued ones are cancelled)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # --- internals --------------------------------------------------------------------------
    def _await(self, future: Future[Versioned[Any]]) -> None:
        """Note that a caller waits for ``future`` (lock held): builds stop pausing."""
        if not future.done():
            self._awaited.add(future)
            self._rush.set()

    def _done(self, entry: _Entry, future: Future[Versioned[Any]]) -> None:
        """A build has ended (lock held)."""
        if entry.pending is future:
            entry.pending = None
        self._awaited.discard(future)
        if not self._awaited:
            self._rush.clear()

    def _wait(self, key: Hashable, future: Future[Versioned[V]]) -> Versioned[V]:
        """Wait for a build. From inside another build, a build of ``key`` that no thread has
        started yet is run here: the builder threads may all be waiting for this one."""
        if getattr(self._local, "building", False):
            with self._lock:
                entry = self._entries.get(key)
                queued = entry.queued if entry is not None and entry.pending is future else None
            if queued is not None:
                queued()
        return future.result()

    def _prepare(
        self, key: Hashable, entry: _Entry, revision: str, read_at: float, build: Callable[[], V]
    ) -> tuple[Future[Versioned[V]], Callable[[], None]]:
        """The future of a new build of ``key`` (of ``revision``, read at ``read_at``) and the
        function that runs it (lock held)."""
        future: Future[Versioned[V]] = Future()
        future.set_running_or_notify_cancel()  # a waiter giving up cannot cancel it for the others
        entry.pending = future
        self.builds[key] += 1

        def run() -> None:
            with self._lock:
                if entry.queued is not run:  # already run by a build that needed it (_wait)
                    return
                entry.queued = None
            outer = getattr(self._local, "building", False)
            self._local.building = True
            try:
                log.info("building %r for store revision %s", key, revision)
                with (
                    contextlib.nullcontext() if outer else collector_paused(),
                    paced(self._share, rush=self._rush),
                ):
                    started = time.perf_counter()
                    value = build()
                    if not outer:
                        settle()  # the collector's walk of what the build made, before a pause
                        pace()
                log.info(
                    "built %r for store revision %s in %.2f s", key, revision, time.perf_counter() - started
                )
            except BaseException as exc:
                log.warning("building %r for store revision %s failed: %s", key, revision, exc)
                with self._lock:
                    self._done(entry, future)
                    entry.failed = (revision, exc)
                future.set_exception(exc)
            else:
                result = Versioned(value, revision, read_at)
                with self._lock:
                    self._done(entry, future)
                    entry.failed = None
                    entry.current = result
                future.set_result(result)
            finally:
                self._local.building = outer

        entry.queued = run
        return future, run

    def _submit(self, run: Callable[[], None], entry: _Entry, future: Future[Versioned[Any]]) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self._builders,
                    thread_name_prefix="essmap-build",
                    initializer=functools.partial(lower_priority, self._niceness, this_thread_only=True),
                )
            executor = self._executor

        def cancelled(job: Future[None]) -> None:  # a queued build dropped by close()
            if not job.cancelled():
                return
            with self._lock:
                if entry.queued is not run:  # run by a build that needed it (_wait)
                    return
                entry.queued = None
                self._done(entry, future)
            future.set_exception(RuntimeError("the cache was closed before this value was built"))

        executor.submit(run).add_done_callback(cancelled)

    def _evict(self) -> None:
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
