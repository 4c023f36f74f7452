"""Dependencies, as ``Annotated`` aliases, and the app's one cache of what it derives from the store.

Everything derived from the stored data (the spatial index, serialised collections, coverage
results, rendered pages) lives in one :class:`essmap.cache.RevisionCache` on ``app.state.cache``,
keyed by what it is and its parameters, built once per store revision in the cache's builder
thread, and answered from the previous revision while a newer one is built. :func:`cached`
awaits it without blocking the event loop.

Heavy requests computed per request (a batch of points, a large radius, a page of items) hold one
of ``settings.heavy_concurrency`` slots of ``app.state.heavy`` (an ``anyio.CapacityLimiter``)
while they compute, so that a flood of them queues instead of starving the others.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import Future
from typing import Annotated, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from starlette.responses import Response

from api.caching import conditional
from api.layers import COLLECTIONS, CollectionData, CollectionSource, Proximity, collection_data
from essmap.cache import RevisionCache, Versioned
from essmap.settings import Settings
from essmap.store import Store

V = TypeVar("V")


async def cached(request: Request, key: Hashable, build: Callable[[], V]) -> Versioned[V]:
    """The cached value of ``key`` (built with ``build`` when needed), without blocking the loop.

    The values of :data:`READ_YOUR_WRITES` (:func:`reads_your_writes`) show every write this
    process acknowledged (they are not answered from a revision read before it); the others may
    lag by one rebuild.
    """
    cache: RevisionCache = request.app.state.cache
    since = written_at(request) if reads_your_writes(key) else 0.0
    while True:
        found = cache.lookup(key, build, since=since)
        if isinstance(found, Future):
            found = await asyncio.wrap_future(found)
        if found.read_at >= since:
            return found
        # a build under way since before the write answered: the next look-up starts a newer one


async def cached_response(
    request: Request,
    key: Hashable,
    build: Callable[[], V],
    respond: Callable[[V], Response],
    *,
    variant: str = "",
) -> Response:
    """The cached value of ``key`` answered with ``respond``, its ETag and a 304 when unchanged."""
    found = await cached(request, key, build)
    return conditional(request, found.revision, lambda: respond(found.value), variant=variant)


PROXIMITY_KEY = ("proximity",)


def _collection_key(collection_id: str) -> tuple[str, str]:
    return ("collection", collection_id)


#: What a write through the API changes and a client reads right after: the actors' items, the
#: spatial index (``/nearest``…) and the residents' pages (keys starting with these). After a
#: write, this process answers them from a revision that holds it (waiting for their rebuild if
#: needed).
READ_YOUR_WRITES: frozenset[Hashable] = frozenset(
    {PROXIMITY_KEY, _collection_key("actors"), ("page", "resident")}
)


def reads_your_writes(key: Hashable) -> bool:
    """Whether the cached value of ``key`` must show this process's acknowledged writes."""
    return key in READ_YOUR_WRITES or (isinstance(key, tuple) and key[:2] in READ_YOUR_WRITES)


def collection_source(store: Store, cache: RevisionCache, collection_id: str) -> CollectionSource:
    """A collection as read from the store at its current revision, read once per revision (for
    use inside a build): the actors' source serves both their collection and the spatial index."""
    spec = COLLECTIONS[collection_id]
    key = ("source", collection_id)
    return cache.fresh(key, functools.partial(CollectionSource.load, spec, store)).value


def build_proximity(store: Store, settings: Settings, cache: RevisionCache) -> Proximity:
    """The spatial index of the store's current content (for use inside a build)."""
    return Proximity.from_store(store, settings, actors=collection_source(store, cache, "actors"))


def build_collection(store: Store, cache: RevisionCache, collection_id: str) -> CollectionData:
    """One collection of the store's current content, ready to serve (for use inside a build)."""
    return collection_data(COLLECTIONS[collection_id], collection_source(store, cache, collection_id))


async def get_proximity(request: Request) -> Proximity:
    """The spatial index of the store (of the previous revision while a newer one is built)."""
    state = request.app.state
    found = await cached(
        request, PROXIMITY_KEY, lambda: build_proximity(state.store, state.settings, state.cache)
    )
    return found.value


async def get_collection(request: Request, collection_id: str) -> Versioned[CollectionData]:
    """One serialised feature collection, with the store revision it was built from."""
    state = request.app.state
    return await cached(
        request,
        _collection_key(collection_id),
        lambda: build_collection(state.store, state.cache, collection_id),
    )


def warm_cache(store: Store, settings: Settings, cache: RevisionCache) -> None:
    """Build the spatial index and the collections before the first request (at start-up)."""
    cache.fresh(PROXIMITY_KEY, lambda: build_proximity(store, settings, cache))
    for collection_id in COLLECTIONS:
        cache.fresh(
            _collection_key(collection_id), functools.partial(build_collection, store, cache, collection_id)
        )


def written_at(request: Request) -> float:
    """When this process last acknowledged a write (:func:`time.monotonic`; 0.0 before any)."""
    written: float = request.app.state.written_at
    return written


def after_write(request: Request) -> None:
    """Note a write this process acknowledged: its next reads of :data:`READ_YOUR_WRITES` show it.

    The write's answer waits for no rebuild. What is derived from the store is rebuilt once per
    revision, by the cache's builder, when a read first needs it: a write storm costs no rebuild
    nobody reads. Other processes see the new store revision on their next request (answered from
    the previous revision while they rebuild).
    """
    request.app.state.written_at = time.monotonic()


async def heavy_slot(request: Request) -> AsyncIterator[None]:
    """Hold one of the heavy-work slots while the handler computes (waiting costs no thread)."""
    limiter: CapacityLimiter = request.app.state.heavy
    async with limiter:
        yield


async def run_heavy(request: Request, function: Callable[..., V], *args: object) -> V:
    """``function(*args)`` in a worker thread, once one of the heavy-work slots is free."""
    limiter: CapacityLimiter = request.app.state.heavy
    return await to_thread.run_sync(function, *args, limiter=limiter)


ProximityDep = Annotated[Proximity, Depends(get_proximity)]
#: For plain ``def`` handlers that compute per request: the slot is freed when the handler returns.
HeavySlot = Depends(heavy_slot, scope="function")
