"""Counters for tests and benchmarks, served by `GET /_emulator/stats`."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from cxone_provider.emulator.paths import ACTION_WRITES, TOKEN

_HTTP_OK_RANGE = range(200, 300)
_TOO_MANY_REQUESTS = 429


class Stats:
    """Requests by method, route template and status, and the events tests need to count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._events: Counter[str] = Counter()
        self._in_flight = 0
        self._peak_in_flight = 0

    def enter(self) -> None:
        """One more API request is being answered."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def leave(self) -> None:
        """One API request is answered."""
        with self._lock:
            self._in_flight -= 1

    def record(self, method: str, path: str, status: int, *, replayed: bool) -> None:
        """Count one answered API request (`path` is its route template)."""
        with self._lock:
            self._requests[method, path, status] += 1
            if path == TOKEN:
                self._events["token_requests"] += 1
            if status == _TOO_MANY_REQUESTS:
                self._events["rate_limited"] += 1
            if (method, path) in ACTION_WRITES and status in _HTTP_OK_RANGE and not replayed:
                self._events["api_writes"] += 1

    def count(self, event: str) -> None:
        """Count one `faults_injected` or `drops` event."""
        with self._lock:
            self._events[event] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as `GET /_emulator/stats` shows them (without the live numbers)."""
        with self._lock:
            requests = [
                {"method": method, "path": path, "status": status, "count": count}
                for (method, path, status), count in sorted(self._requests.items())
            ]
            return {
                "requests": requests,
                "requests_total": sum(self._requests.values()),
                "peak_requests_in_flight": self._peak_in_flight,
                **{
                    event: self._events[event]
                    for event in (
                        "token_requests",
                        "rate_limited",
                        "faults_injected",
                        "drops",
                        "api_writes",
                    )
                },
            }

    def reset(self) -> None:
        """Zero every counter (requests still in flight stay counted as such)."""
        with self._lock:
            self._requests.clear()
            self._events.clear()
            self._peak_in_flight = self._in_flight
