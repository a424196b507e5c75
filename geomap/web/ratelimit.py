"""Per-client rate limiting for the public service: a token bucket per worker, a counter shared by all.

**Who the client is** (:func:`client_key`): the socket peer, unless that peer is one of the
configured reverse proxies (``GEOMAP_TRUSTED_PROXIES``: addresses or networks, comma-separated,
e.g. ``127.0.0.1, 10.0.0.0/8``; empty by default: no proxy is trusted). Behind a trusted proxy the
client is the right-most address of ``Forwarded: for=`` (RFC 7239) or else ``X-Forwarded-For`` that
is not itself a trusted proxy: what a client writes in those headers sits to the left of what its
proxy appended, so it cannot choose its own bucket. ``geomap serve`` turns uvicorn's own proxy-header
handling off (it trusts 127.0.0.1 by default), so this is the one rule.

**First line, in the worker** (:class:`RateLimiter`): each client gets a bucket of ``burst``
requests refilled at ``per_minute``; an empty bucket answers 429 with ``Retry-After``, without any
query. Memory is bounded: past ``max_clients`` the least recently seen clients are dropped.

**One limit across workers** (:class:`SharedCounter`, ``GEOMAP_RATE_SHARED``): each client's
requests per limiter are also counted per fixed window of :data:`WINDOW_S` seconds in PostgreSQL
(table ``rate_hit``, UNLOGGED), summed over every worker and every app on the same database; past
``max(per_minute, burst)`` in a window the client gets 429 until the window ends. A worker does not
write each request: it keeps the client's unsent hits and sends them (one UPSERT that returns the
total) once they reach :attr:`SharedCounter.sync_every` (a tenth of the limit, at most 10; 1 for the
report form's 6 a minute), or as soon as the total it knows plus its own would pass the limit. So a
client seen once costs no query at all, a busy client one query per ``sync_every`` requests, and a
client over the limit none (its worker already knows). The overshoot is bounded: at most
``sync_every - 1`` unsent hits per worker. ``GEOMAP_RATE_SHARED``: ``auto`` (default) counts in the
database when the service runs more than one worker (``geomap serve --workers`` sets
``GEOMAP_WORKERS``), ``on`` always (several machines on one database), ``off`` never. When the
database cannot be written, the worker's own bucket decides (the route itself answers 503 then).

The app owns its limiters: :func:`geomap.web.create_app` builds one :class:`RateLimits`
(``app.state.limits``: ``qr``, ``report``, ``open311``, ``form``, ``track``, ``guess``), so a fresh
app starts with empty buckets. Usage in a route: ``retry = limits.hit(request, "qr")`` (or
``await limits.hit_async(...)`` in an async route); ``retry > 0`` means refuse with
``Retry-After: retry_after_header(retry)``.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from geomap.errors import DatabaseUnavailable

#: the shared counter's window, seconds
WINDOW_S = 60
#: what the database may answer while it cannot count: the worker's bucket decides alone
_DB_FAILURES = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, DatabaseUnavailable)


class RateLimiter:
    """Token buckets keyed by client address (one worker's first line)."""

    def __init__(self, per_minute: float, burst: int, *, max_clients: int = 100_000, name: str = "") -> None:
        self.name = name
        self.configure(per_minute, burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last seen)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, name: str, per_minute: float, burst: int) -> RateLimiter:
        """Settings from ``GEOMAP_{NAME}_RATE_PER_MINUTE`` and ``GEOMAP_{NAME}_RATE_BURST`` (0 disables)."""
        rate = float(os.environ.get(f"GEOMAP_{name}_RATE_PER_MINUTE", per_minute))
        size = int(os.environ.get(f"GEOMAP_{name}_RATE_BURST", burst))
        return cls(rate, size, name=name.lower())

    def configure(self, per_minute: float, burst: int) -> None:
        """Change the limits (tests, or an operator's setting); ``per_minute <= 0`` turns limiting off."""
        self.per_second = per_minute / 60.0
        self.burst = max(1, int(burst))

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    @property
    def per_window(self) -> int:
        """The most requests a client may make in one shared window (every worker together)."""
        return max(self.burst, math.floor(self.per_second * WINDOW_S))

    def hit(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds to wait before retrying."""
        return self._take(key, now, take=True)

    def peek(self, key: str, now: float | None = None) -> float:
        """Would :meth:`hit` refuse ``key`` now? (0.0: no; else seconds to wait) Takes nothing."""
        return self._take(key, now, take=False)

    def _take(self, key: str, now: float | None, *, take: bool) -> float:
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0 if take else tokens, now)
                retry = 0.0
            else:
                self._buckets[key] = (tokens, now)
                retry = (1.0 - tokens) / self.per_second
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return retry

    def reset(self) -> None:
        """Forget every bucket (the limits stay)."""
        with self._lock:
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class _Seen:
    window: int
    pending: int = 0  # hits this worker has not sent yet
    known: int = 0  # the total across workers the database last answered


class SharedCounter:
    """Hits per client per fixed window, summed across processes in the database (see the module doc).

    Thread-safe; :meth:`plan` and :meth:`settle` never touch the database, :meth:`hit` (or the
    caller, between the two) sends the hits :meth:`plan` asks for."""

    def __init__(self, *, window_s: int = WINDOW_S, sync_every: int | None = None, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.window_s, self.sync_every_setting, self.max_clients, self.clock = window_s, sync_every, max_clients, clock
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()
        self._lock = threading.Lock()
        self._cleaned = -1  # the window whose predecessors this worker last deleted
        self.queries = 0  # round trips made (for the benchmark and the tests)
        self._engine: Any = None

    def sync_every(self, limit: int) -> int:
        """Unsent hits a worker keeps per client before sending them: a tenth of the limit, 1 to 10."""
        if self.sync_every_setting:
            return max(1, self.sync_every_setting)
        return max(1, min(10, limit // 10))

    def _retry(self, window: int, now: float) -> float:
        return max(1.0, (window + 1) * self.window_s - now)

    def peek(self, name: str, key: str, limit: int, now: float | None = None) -> float:
        """Seconds to wait if this worker already knows the client is over the limit, else 0.0 (no query)."""
        now = self.clock() if now is None else now
        window = int(now // self.window_s)
        with self._lock:
            seen = self._seen.get((name, key))
            over = seen is not None and seen.window == window and seen.known + seen.pending >= limit
        return self._retry(window, now) if over else 0.0

    def plan(self, name: str, key: str, limit: int, now: float) -> tuple[float | None, int, int]:
        """Count one hit: ``(decision, 0, window)`` when the worker can decide alone (0.0 allow, > 0 refuse),
        else ``(None, hits to send, window)``: send them and call :meth:`settle` with the total."""
        window = int(now // self.window_s)
        with self._lock:
            seen = self._seen.pop((name, key), None)
            if seen is None or seen.window != window:
                seen = _Seen(window)
            self._seen[(name, key)] = seen
            while len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)
            if seen.known > limit:  # over already: no need to ask again in this window
                return self._retry(window, now), 0, window
            seen.pending += 1
            if seen.pending >= self.sync_every(limit) or seen.known + seen.pending > limit:
                send, seen.pending = seen.pending, 0
                return None, send, window
        return 0.0, 0, window

    def settle(self, name: str, key: str, limit: int, now: float, window: int, total: int | None, sent: int) -> float:
        """The decision once the database answered ``total`` (None: it could not; the hits stay unsent)."""
        with self._lock:
            seen = self._seen.get((name, key))
            if seen is None or seen.window != window:
                return 0.0
            if total is None:
                seen.pending += sent
                return 0.0
            seen.known = max(seen.known, total)
            over = seen.known > limit
        return self._retry(window, now) if over else 0.0

    def engine_for(self, database_url: str | None) -> Any:
        """The counter's own engine (:func:`geomap.web.data.counter_engine`) for the app's database, made once."""
        if self._engine is None:
            from geomap import db
            from geomap.web import data

            self._engine = data.counter_engine(database_url or db.database_url())
        return self._engine

    def send(self, engine: Any, name: str, key: str, window: int, hits: int) -> int | None:
        """One UPSERT (and, once per window per worker, the old windows deleted); None if the database failed."""
        from geomap.web import data

        forget = None
        if self._cleaned != window:
            self._cleaned, forget = window, window - 1
        try:
            self.queries += 1
            return data.add_hits(engine, name, key, window, hits, forget_before=forget)
        except (*_DB_FAILURES, sa.exc.DBAPIError):  # unreachable, or a statement cancelled: decide alone
            return None

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


def _shared_setting() -> bool:
    value = os.environ.get("GEOMAP_RATE_SHARED", "auto").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    return int(os.environ.get("GEOMAP_WORKERS", "1") or 1) > 1


@dataclass
class RateLimits:
    """The public service's limiters (``app.state.limits``, built by create_app).

    Defaults (per minute, burst), each overridable by ``GEOMAP_{NAME}_RATE_PER_MINUTE`` / ``_BURST``
    read when the app is built: QR lookups 60/30 per client address, report intake (``POST /report``)
    6/5 per client address, Open311 ``POST`` 120/60 per API key, the report form (``GET /report``)
    30/20, tracking pages and their photos 60/30, and **guesses** 10/20: a report form naming a QR
    code that does not exist, or a tracking id that does not exist, takes a token of ``guess``; a
    client out of guesses gets 429 for every form with a code and every tracking page (found or not,
    so the answer tells nothing) until the bucket refills. Each keeps at most 100,000 buckets (LRU).
    """

    qr: RateLimiter
    report: RateLimiter
    open311: RateLimiter
    form: RateLimiter
    track: RateLimiter
    guess: RateLimiter
    proxies: TrustedProxies = field(default_factory=lambda: TrustedProxies(()))
    shared: SharedCounter | None = None

    @classmethod
    def from_env(cls) -> RateLimits:
        return cls(qr=RateLimiter.from_env("QR", per_minute=60, burst=30),
                   report=RateLimiter.from_env("REPORT", per_minute=6, burst=5),
                   open311=RateLimiter.from_env("OPEN311", per_minute=120, burst=60),
                   form=RateLimiter.from_env("FORM", per_minute=30, burst=20),
                   track=RateLimiter.from_env("TRACK", per_minute=60, burst=30),
                   guess=RateLimiter.from_env("GUESS", per_minute=10, burst=20),
                   proxies=TrustedProxies.from_env(),
                   shared=SharedCounter(sync_every=int(os.environ.get("GEOMAP_RATE_SYNC_EVERY", "0") or 0))
                   if _shared_setting() else None)

    def limiters(self) -> tuple[RateLimiter, ...]:
        return (self.qr, self.report, self.open311, self.form, self.track, self.guess)

    def clear(self) -> None:
        """Empty every bucket of every limiter (limits unchanged)."""
        for limiter in self.limiters():
            limiter.reset()
        if self.shared is not None:
            self.shared.reset()

    def share(self, counter: SharedCounter | None = None) -> SharedCounter:
        """Count across workers from now on (tests; ``GEOMAP_RATE_SHARED`` otherwise)."""
        self.shared = counter or SharedCounter()
        return self.shared

    def _start(self, request: Request, name: str, key: str | None) -> tuple[float | None, Any]:
        limiter: RateLimiter = getattr(self, name)
        if not limiter.enabled:
            return 0.0, None
        key = key or client_key(request)
        retry = limiter.hit(key)
        if retry > 0 or self.shared is None:
            return retry, None
        now = self.shared.clock()
        decision, send, window = self.shared.plan(name, key, limiter.per_window, now)
        if decision is not None:
            return decision, None
        return None, (name, key, limiter.per_window, now, window, send)

    def hit(self, request: Request, name: str, key: str | None = None) -> float:
        """One request of the client (``key``: default :func:`client_key`) to limiter ``name``: 0.0 allowed,
        else the seconds to wait."""
        decision, pending = self._start(request, name, key)
        if pending is None:
            return decision or 0.0
        return self._finish(request, pending)

    async def hit_async(self, request: Request, name: str, key: str | None = None) -> float:
        """:meth:`hit` for an async route: the rare query runs in the thread pool, never on the event loop."""
        decision, pending = self._start(request, name, key)
        if pending is None:
            return decision or 0.0
        return await run_in_threadpool(self._finish, request, pending)

    def _finish(self, request: Request, pending: tuple) -> float:
        name, key, limit, now, window, send = pending
        assert self.shared is not None
        try:
            engine = self.shared.engine_for(request.app.state.database_url)
        except _DB_FAILURES:
            engine = None
        total = self.shared.send(engine, name, key, window, send) if engine is not None else None
        return self.shared.settle(name, key, limit, now, window, total, send)

    def peek(self, request: Request, name: str, key: str | None = None) -> float:
        """Would limiter ``name`` refuse this client now? Takes nothing, asks no database."""
        limiter: RateLimiter = getattr(self, name)
        if not limiter.enabled:
            return 0.0
        key = key or client_key(request)
        retry = limiter.peek(key)
        if retry == 0 and self.shared is not None:
            retry = self.shared.peek(name, key, limiter.per_window)
        return retry


# --- who the client is ----------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


@dataclass(frozen=True)
class TrustedProxies:
    """The reverse proxies whose forwarded headers are believed (``GEOMAP_TRUSTED_PROXIES``)."""

    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> TrustedProxies:
        items = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text)
        return cls(tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()))

    @classmethod
    def from_env(cls) -> TrustedProxies:
        return cls.parse(os.environ.get("GEOMAP_TRUSTED_PROXIES", ""))

    def trusts(self, address: str | None) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in net for net in self.networks)

    def client(self, peer: str, forwarded: list[str]) -> str:
        """The client address: ``peer`` unless it is trusted, then the right-most untrusted forwarded hop."""
        if not self.networks or not self.trusts(peer):
            return peer
        address = peer
        for hop in reversed(forwarded):
            ip = _ip(hop)
            if ip is None:  # not an address a proxy writes: stop at the last hop we believe
                return address
            address = str(ip)
            if not self.trusts(address):
                return address
        return address


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address out of a forwarded hop: ``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:80``, ``"[::1]"``."""
    if not text:
        return None
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def forwarded_hops(request: Request) -> list[str]:
    """The forwarded-for chain, left (original client) to right (nearest proxy): ``Forwarded`` if sent,
    else ``X-Forwarded-For`` (every header line of it, in order)."""
    forwarded = request.headers.getlist("forwarded")
    if forwarded:
        return [m.group(1) for line in forwarded for m in _FOR.finditer(line)]
    return [hop.strip() for line in request.headers.getlist("x-forwarded-for") for hop in line.split(",")
            if hop.strip()]


def client_key(request: Request) -> str:
    """The address a request is counted against (see the module doc: trusted proxies only)."""
    peer = request.client.host if request.client else "unknown"
    limits = getattr(request.app.state, "limits", None) if "app" in request.scope else None
    proxies = limits.proxies if limits is not None else TrustedProxies(())
    if not proxies.networks:
        return peer
    return proxies.client(peer, forwarded_hops(request))


def retry_after_header(seconds: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1)."""
    return str(max(1, math.ceil(seconds)))
