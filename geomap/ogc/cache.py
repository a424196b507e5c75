"""The OGC API's caches, owned by the web app (``app.state.ogc``, built in :func:`geomap.web.create_app`).

Nothing here is module-level: a new app (a test, a restart) starts empty. Every entry
expires: a collection's extent and a filter's count after :data:`EXTENT_TTL_S` /
:data:`COUNT_TTL_S` (a page or two of the same filter skips its count), a table's column list
(what a ``count_source`` can filter on) after :data:`COLUMNS_TTL_S` (a migration adds
columns without a restart). :meth:`OGCCaches.clear` empties them all (e.g. after loading a ward).

Vector tiles are kept under their layers' **change count** (the ``tile_change`` log, migration 0019),
and that count is itself reused for :data:`CHANGE_POLL_S` seconds per set of tables (``changes``): a
cached tile is answered from memory with no query, and an edit, import or revocation committed at
time t shows in every tile asked after t + :data:`CHANGE_POLL_S` (plus the few milliseconds one count
query takes). That bound is well below the tiles' HTTP ``max-age`` (:data:`geomap.ogc.tiles.MAX_AGE_S`,
60 s), the staleness the service states anyway. Each worker process polls on its own: one indexed
sum a second per set of tables, whatever the request rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

EXTENT_TTL_S = 300.0
COUNT_TTL_S = 300.0
COLUMNS_TTL_S = 3600.0
#: vector tiles: kept while the layers' change count (``tile_change``) and the day are unchanged
TILE_TTL_S = 3600.0
TILE_MAX_ENTRIES = 4096
#: a layer's source tables (view dependencies): a migration may change a view
SOURCES_TTL_S = 3600.0
#: seconds a change count is reused before it is read again: a committed write shows in the tiles
#: at most this long (plus one request) after its commit
CHANGE_POLL_S = 1.0


class TTLCache(Generic[V]):
    """A small thread-safe map whose entries expire ``ttl_s`` seconds after they were put.

    ``get(key)`` → the value or None; ``put(key, value)``; ``get_or_load(key, load)`` calls
    ``load()`` on a miss and keeps its result; ``clear()``. Past ``max_entries`` the map is
    emptied (entries are cheap to make again), so it never grows without bound.
    """

    def __init__(self, ttl_s: float, max_entries: int = 512, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.max_entries, self._clock = ttl_s, max_entries, clock
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            if self._clock() - hit[0] >= self.ttl_s:
                del self._entries[key]
                return None
            return hit[1]

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries and key not in self._entries:
                self._entries.clear()
            self._entries[key] = (self._clock(), value)

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        found = self.get(key)
        if found is None:
            found = load()
            self.put(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class OGCCaches:
    """The caches of the OGC API: ``extents`` (collection → extent document), ``counts``
    (filter → numberMatched), ``columns`` (table → its column names), ``tiles`` (vector tiles, keyed
    on their layers' change count), ``sources`` (layer source → the tables it reads) and ``changes``
    (tables → their change count, read again after ``change_poll_s``; ``clock`` lets a test move time)."""

    def __init__(self, extent_ttl_s: float = EXTENT_TTL_S, count_ttl_s: float = COUNT_TTL_S,
                 columns_ttl_s: float = COLUMNS_TTL_S, change_poll_s: float = CHANGE_POLL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.extents: TTLCache[dict[str, Any]] = TTLCache(extent_ttl_s)
        self.counts: TTLCache[int] = TTLCache(count_ttl_s)
        self.columns: TTLCache[frozenset[str]] = TTLCache(columns_ttl_s)
        #: (database, profile, layers, z, x, y, change count, day) -> (tile bytes, ETag)
        self.tiles: TTLCache[tuple[bytes, str]] = TTLCache(TILE_TTL_S, max_entries=TILE_MAX_ENTRIES, clock=clock)
        #: (database, source) -> (tables the source reads, all watched by the tile_change trigger)
        self.sources: TTLCache[tuple[frozenset[str], bool]] = TTLCache(SOURCES_TTL_S, clock=clock)
        #: (database, tables) -> their change count, as read at most ``change_poll_s`` ago
        self.changes: TTLCache[int] = TTLCache(change_poll_s, clock=clock)

    def clear(self) -> None:
        for cache in (self.extents, self.counts, self.columns, self.tiles, self.sources, self.changes):
            cache.clear()
