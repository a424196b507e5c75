"""Per-client rate limiting for the public service (token bucket, in process).

Each client address gets a bucket of ``burst`` requests refilled at ``per_minute``; an
empty bucket answers 429 with ``Retry-After``. It stops one address from enumerating QR
tokens or flooding report intake while a person scanning stall after stall never notices.

The client address is ``request.client.host``: behind a reverse proxy, uvicorn's proxy
headers support (on by default, trusting ``FORWARDED_ALLOW_IPS``, 127.0.0.1 unless set)
replaces it with the ``X-Forwarded-For`` address, so clients cannot spoof it directly.
Buckets live in each worker process (with N workers the effective limit is up to N times
higher; a city deployment behind several machines would move them to the proxy or Redis).
Memory is bounded: past ``max_clients`` the least recently seen addresses are dropped.

The app owns its limiters: :func:`geomap.web.create_app` builds one :class:`RateLimits`
(``app.state.limits``: ``qr``, ``report``, ``open311``), so a fresh app starts with empty buckets.
Usage in a route: ``retry = request.app.state.limits.qr.hit(client_key(request))``; ``retry > 0``
means refuse.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request


class RateLimiter:
    """Token buckets keyed by client address."""

    def __init__(self, per_minute: float, burst: int, *, max_clients: int = 100_000) -> None:
        self.configure(per_minute, burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last seen)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, name: str, per_minute: float, burst: int) -> RateLimiter:
        """Settings from ``GEOMAP_{NAME}_RATE_PER_MINUTE`` and ``GEOMAP_{NAME}_RATE_BURST`` (0 disables)."""
        rate = float(os.environ.get(f"GEOMAP_{name}_RATE_PER_MINUTE", per_minute))
        size = int(os.environ.get(f"GEOMAP_{name}_RATE_BURST", burst))
        return cls(rate, size)

    def configure(self, per_minute: float, burst: int) -> None:
        """Change the limits (tests, or an operator's setting); ``per_minute <= 0`` turns limiting off."""
        self.per_second = per_minute / 60.0
        self.burst = max(1, int(burst))

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def hit(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds to wait before retrying."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
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


@dataclass(frozen=True)
class RateLimits:
    """The public service's limiters, one per endpoint family (``app.state.limits``, built by create_app).

    Defaults (per minute, burst), each overridable by ``GEOMAP_{NAME}_RATE_PER_MINUTE`` / ``_BURST``
    read when the app is built: QR lookups 60/30 per client address, report intake 6/5 per client
    address, Open311 ``POST`` 120/60 per API key. Each keeps at most 100,000 buckets (LRU).
    """

    qr: RateLimiter
    report: RateLimiter
    open311: RateLimiter

    @classmethod
    def from_env(cls) -> RateLimits:
        return cls(qr=RateLimiter.from_env("QR", per_minute=60, burst=30),
                   report=RateLimiter.from_env("REPORT", per_minute=6, burst=5),
                   open311=RateLimiter.from_env("OPEN311", per_minute=120, burst=60))

    def clear(self) -> None:
        """Empty every bucket of every limiter (limits unchanged)."""
        for limiter in (self.qr, self.report, self.open311):
            limiter.reset()


def client_key(request: Request) -> str:
    """The address a request is counted against (proxy-aware through uvicorn, see module doc)."""
    return request.client.host if request.client else "unknown"


def retry_after_header(seconds: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1)."""
    return str(max(1, math.ceil(seconds)))
