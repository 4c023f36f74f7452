"""The revision cache (essmap/cache.py): one build per key and revision, stale answers while a newer
value is built, failures remembered per revision, a bounded number of keys."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from essmap.cache import RevisionCache, Versioned
from essmap.collector import SETTLE_FROM, collector_paused, settle
from essmap.priority import FETCH_ROWS, fetch_all, pace, paced


class Store:
    """A revision that the test changes, as a data import would."""

    def __init__(self) -> None:
        self.rev = "r1"

    def revision(self) -> str:
        return self.rev


class Builder:
    """Counts its calls; each call waits for ``release`` when ``gate`` is set."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(30), "the test never released the build"
        return f"value of {self.store.rev}"


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def cache(store: Store) -> RevisionCache:
    made = RevisionCache(store.revision, max_entries=4, builders=2)
    yield made
    made.close()


def test_a_value_is_built_once_per_revision(store: Store, cache: RevisionCache) -> None:
    build = Builder(store)
    first = cache.get("index", build)
    assert first == Versioned("value of r1", "r1")
    assert cache.get("index", build) is first
    assert build.calls == 1
    store.rev = "r2"
    assert cache.get("index", build) is first  # the previous value while the new one is built
    assert cache.fresh("index", build) == Versioned("value of r2", "r2")
    assert cache.get("index", build).revision == "r2"
    assert build.calls == 2
    assert cache.builds["index"] == 2


def test_concurrent_callers_after_a_change_start_exactly_one_build(
    store: Store, cache: RevisionCache
) -> None:
    build = Builder(store)
    cache.get("index", build)
    store.rev = "r2"
    build.gate = threading.Event()
    build.started.clear()
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: cache.get("index", build), range(12)))
        # every caller was answered at once from the previous revision, while one build runs
        assert build.started.wait(10)
        assert {a.revision for a in answers} == {"r1"}
        assert build.calls == 2
        build.gate.set()
    assert cache.fresh("index", build) == Versioned("value of r2", "r2")
    assert build.calls == 2


def test_a_caller_that_wrote_is_never_answered_from_a_revision_read_before_its_write(
    store: Store, cache: RevisionCache
) -> None:
    build = Builder(store)
    first = cache.get("index", build)
    store.rev = "r2"
    build.gate = threading.Event()
    assert cache.get("index", build) is first  # stale while a build of r2 starts
    assert build.started.wait(10)
    written = time.monotonic()  # a write acknowledged while that build is under way
    store.rev = "r3"
    waited = cache.lookup("index", build, since=written)
    assert isinstance(waited, Future)  # not the value of r1, read before the write
    assert cache.lookup("index", build) is first  # callers that did not write: answered at once
    build.gate.set()
    under_way = waited.result(10)
    assert (under_way.revision, under_way.read_at < written) == ("r2", True)
    # that build read the store before the write: the caller asks again and gets a newer one
    again = cache.lookup("index", build, since=written)
    assert isinstance(again, Future)
    newer = again.result(10)
    assert (newer.revision, newer.read_at >= written) == ("r3", True)
    assert cache.lookup("index", build, since=written) is newer
    assert build.calls == 3


def test_callers_without_any_value_wait_for_the_one_build(store: Store, cache: RevisionCache) -> None:
    build = Builder(store)
    build.gate = threading.Event()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, "index", build) for _ in range(8)]
        assert build.started.wait(10)
        assert not any(f.done() for f in futures)
        build.gate.set()
        answers = [f.result(10) for f in futures]
    assert {a.value for a in answers} == {"value of r1"}
    assert build.calls == 1


def test_a_failed_build_is_not_retried_for_the_same_revision(store: Store, cache: RevisionCache) -> None:
    calls = []

    def broken() -> str:
        calls.append(store.rev)
        raise OSError("stockage illisible")

    good = Builder(store)
    assert cache.get("index", good).value == "value of r1"
    store.rev = "r2"
    first = cache.lookup("index", broken)
    assert isinstance(first, Versioned)  # the previous value, while the build runs
    assert first.revision == "r1"
    deadline = threading.Event()
    while len(calls) < 1:
        deadline.wait(0.01)
    for _ in range(5):  # the failure is remembered: the previous value, and no new build
        answer = cache.get("index", broken)
        assert answer.revision == "r1"
    assert calls == ["r2"]
    with pytest.raises(OSError, match="illisible"):  # a key with no previous value gets the error
        cache.get("other", broken)
    with pytest.raises(OSError, match="illisible"):
        cache.get("other", broken)
    assert calls == ["r2", "r2"]
    store.rev = "r3"  # a new revision is tried again
    assert cache.get("other", good).value == "value of r3"
    assert cache.fresh("index", good).value == "value of r3"


def test_the_least_recently_used_keys_are_dropped(store: Store, cache: RevisionCache) -> None:
    build = Builder(store)
    for key in ("a", "b", "c", "d"):
        cache.get(key, build)
    cache.get("a", build)  # used again: "b" is now the oldest
    cache.get("e", build)
    assert build.calls == 5
    cache.get("a", build)
    assert build.calls == 5
    cache.get("b", build)  # dropped, built again
    assert build.calls == 6


def test_a_build_may_ask_the_cache_for_another_value(store: Store) -> None:
    cache = RevisionCache(store.revision, builders=1)
    try:
        inner = Builder(store)

        def outer() -> str:
            return "outer+" + cache.get("inner", inner).value

        assert cache.get("outer", outer).value == "outer+value of r1"
    finally:
        cache.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_builds_run_at_a_lower_cpu_priority_than_the_requests(store: Store) -> None:
    """A server's rebuild takes the time its requests leave (issue 10: after a 100,000-actor import,
    rebuilds at the usual priority cut the answers by two thirds): the builder thread runs at the
    cache's niceness, the threads that ask for values keep theirs, and the collector is paused
    during the build."""
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    cache = RevisionCache(store.revision, niceness=caller + 5)
    try:

        def build() -> tuple[int, bool]:
            return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), gc.isenabled()

        niceness, collecting = cache.get("value", build).value
        assert niceness == min(caller + 5, 19)
        assert not collecting
        assert gc.isenabled()  # back on after the build
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller
    finally:
        cache.close()


def test_lower_priority_never_raises_it_again() -> None:
    code = (
        "import os\nfrom essmap.priority import lower_priority\n"
        "assert lower_priority(12)\nassert lower_priority(3)\n"
        "print('NICE', os.getpriority(os.PRIO_PROCESS, 0))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["NICE", str(max(12, os.getpriority(os.PRIO_PROCESS, 0)))]


def _compute(cpu_s: float, steps: int) -> tuple[float, float]:
    """Compute for about ``cpu_s`` of processor time in ``steps`` steps with a pace checkpoint
    after each; the thread's processor time and the wall time it took."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        end = time.thread_time() + cpu_s / steps
        while time.thread_time() < end:
            pass
        pace()
    return time.thread_time() - cpu, time.perf_counter() - wall


def test_a_build_nobody_waits_for_is_paced_to_its_share_of_a_processor(store: Store) -> None:
    """Issue 10: a server process rebuilding a 100,000-actor index beside its requests answered a
    third of them (the builder took the interpreter lock whenever the requests' thread let it go);
    paced at a quarter of a processor, two thirds (bench/bench_abuse.py --workers 1). While callers
    get the previous value, the build sleeps at its checkpoints: its wall time is at least its
    processor time divided by the share."""
    cache = RevisionCache(store.revision, share=0.25)
    try:
        assert cache.get("index", lambda: "first").value == "first"
        store.rev = "r2"
        assert cache.get("index", lambda: _compute(0.2, 4)).value == "first"  # stale while rebuilding
        deadline = time.monotonic() + 30
        while not isinstance(value := cache.get("index", lambda: "unused").value, tuple):
            assert time.monotonic() < deadline, "the paced build did not end"
            time.sleep(0.05)
        cpu, wall = value
        assert cpu >= 0.19
        # a margin for the clocks: on a virtual machine a thread's CPU time can run a little ahead
        # of the wall clock (unpaced, the wall time would be about the CPU time: 4x less)
        assert wall >= cpu / 0.25 * 0.9, (cpu, wall)
    finally:
        cache.close()


def test_a_build_a_caller_waits_for_is_not_paced(store: Store) -> None:
    """A caller with no value (or one that must read its own write) waits for the build: it runs
    at full speed. At a share of 1 %, a paced build of 0.2 s would take 20 s."""
    cache = RevisionCache(store.revision, share=0.01)
    try:
        started = time.perf_counter()
        cpu, _ = cache.get("index", lambda: _compute(0.2, 4)).value
        assert cpu >= 0.19
        assert time.perf_counter() - started < 10
        store.rev = "r2"
        since = time.monotonic()  # a write made now: the value of r1 is too old for this caller
        found = cache.lookup("index", lambda: _compute(0.2, 4), since=since)
        assert isinstance(found, Future)
        started = time.perf_counter()
        assert found.result(30).revision == "r2"
        assert time.perf_counter() - started < 10
    finally:
        cache.close()


def test_pace_outside_a_paced_block_returns_at_once() -> None:
    """Checkpoints sit in code that requests and commands run too (reading the store, building an
    index): there they never sleep, even after long work."""
    cpu, wall = _compute(0.1, 2)
    assert cpu >= 0.09
    assert wall < cpu + 0.5
    with paced(1.0):  # a share of a whole processor paces nothing
        cpu, wall = _compute(0.1, 2)
    assert wall < cpu + 0.5
    with pytest.raises(ValueError, match="share"):
        RevisionCache(lambda: "r1", share=0)


def test_paced_blocks_nest_as_the_outer_one() -> None:
    with paced(0.5), paced(0.01):  # a build asked for from inside another build
        cpu, wall = _compute(0.1, 2)
    assert wall >= cpu / 0.5 * 0.9  # (margin for the clocks; unpaced: half of it)
    assert wall < cpu / 0.01 / 2


@pytest.mark.parametrize("rows", [0, 1, FETCH_ROWS - 1, FETCH_ROWS, 2 * FETCH_ROWS + 7])
def test_fetch_all_reads_every_row_across_its_chunks(rows: int) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(rows)))
        assert fetch_all(conn.execute("SELECT n FROM t ORDER BY n")) == [(i,) for i in range(rows)]
    finally:
        conn.close()


def test_a_caller_that_comes_to_wait_ends_the_pause_under_way(store: Store) -> None:
    """A build paced while callers got the previous value runs at full speed as soon as one
    caller must wait for it (it read its own write): at a share of 1 %, the pause after a 0.1 s
    step would last 10 s."""
    cache = RevisionCache(store.revision, share=0.01)
    try:
        assert cache.get("index", lambda: "first").value == "first"
        store.rev = "r2"
        stepped = threading.Event()

        def build() -> str:
            _compute(0.1, 1)  # then pauses for ~10 s
            stepped.set()
            _compute(0.1, 1)
            return "second"

        assert cache.get("index", build).value == "first"
        time.sleep(0.3)  # the build is in its first pause
        found = cache.lookup("index", build, since=time.monotonic())
        assert isinstance(found, Future)
        started = time.perf_counter()
        assert found.result(30).value == "second"
        assert time.perf_counter() - started < 5
        assert stepped.is_set()
    finally:
        cache.close()


def test_a_build_needing_a_value_queued_behind_it_builds_it_itself(store: Store) -> None:
    """One builder thread: the walking index's build asks for the spatial index of the same
    revision, whose build a request queued behind it. Waiting for it would wait forever; the
    build runs it itself, once, and the queued turn does nothing."""
    cache = RevisionCache(store.revision, builders=1)
    try:
        cache.get("proximity", lambda: f"proximity {store.rev}")
        cache.get("walking", lambda: f"walking {store.rev}")
        store.rev = "r2"
        gate = threading.Event()

        def walking() -> str:
            assert gate.wait(30)
            return "walking on " + cache.fresh("proximity", lambda: f"proximity {store.rev}").value

        assert cache.get("walking", walking).value == "walking r1"  # stale; its build under way
        assert cache.get("proximity", lambda: f"proximity {store.rev}").value == "proximity r1"  # queued
        gate.set()
        deadline = time.monotonic() + 30
        while cache.get("walking", walking).revision != "r2":
            assert time.monotonic() < deadline, "the builds are stuck waiting for each other"
            time.sleep(0.02)
        assert cache.get("walking", walking).value == "walking on proximity r2"
        while cache.get("proximity", lambda: "unused").revision != "r2":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert cache.builds["proximity"] == 2  # r1 and r2: built once per revision
    finally:
        cache.close()


def test_a_build_asking_for_a_value_it_makes_stays_paced(store: Store) -> None:
    """A value built inside another build (the actors' source, inside the index) is part of it:
    that it had no previous value does not make the outer build hurry."""
    cache = RevisionCache(store.revision, share=0.25)
    try:
        assert cache.get("index", lambda: "first").value == "first"
        store.rev = "r2"

        def build() -> tuple[float, float]:
            inner = cache.fresh("source", lambda: _compute(0.1, 2)).value
            outer = _compute(0.1, 2)
            return inner[0] + outer[0], inner[1] + outer[1]

        assert cache.get("index", build).value == "first"
        deadline = time.monotonic() + 30
        while not isinstance(value := cache.get("index", lambda: "unused").value, tuple):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cpu, wall = value
        # a margin for the clocks: on a virtual machine a thread's CPU time can run a little ahead
        # of the wall clock (unpaced, the wall time would be about the CPU time: 4x less)
        assert wall >= cpu / 0.25 * 0.9, (cpu, wall)
    finally:
        cache.close()


def test_settle_collects_what_a_pause_left_in_the_youngest_generation() -> None:
    with collector_paused():
        made = [[i] for i in range(SETTLE_FROM * 2)]  # containers the collector tracks
        assert gc.get_count()[0] >= SETTLE_FROM
        settle()
        assert gc.get_count()[0] < SETTLE_FROM / 10
        few = [[i] for i in range(100)]
        before = gc.get_count()[0]
        settle()  # too few to be worth a walk
        assert gc.get_count()[0] >= before
    assert len(made) + len(few) == SETTLE_FROM * 2 + 100
