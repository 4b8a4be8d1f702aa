"""Test-only switches that make the emulator break one promise of the contract on purpose.

The conformance suite (`cxone conformance`) must be seen to fail when a tenant misbehaves:
its negative controls switch one behaviour off here, through the control API
(`POST /_emulator/broken`), and expect exactly the matching check to fail. The switches act
in one HTTP layer (`middleware.BrokenBehaviours`) on what goes in and comes out; the store
and its rules never see them. A reset switches every behaviour back on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from enum import StrEnum


class Behaviour(StrEnum):
    """A promise of the contract that can be switched off, and how it is then broken."""

    IDEMPOTENCY = "idempotency"
    """The Idempotency-Key header is ignored: no replay, no 422 for another body."""
    IF_MATCH = "if-match"
    """The If-Match header is ignored: a stale version is no 412."""
    DELETE_IN_USE = "delete-in-use"
    """A DELETE refused as ACTION_IN_USE answers 204 (the action stays)."""
    RATE_LIMIT_HEADERS = "rate-limit-headers"
    """No X-RateLimit-* headers on any answer (Retry-After stays on a 429)."""
    PAGINATION = "pagination"
    """The listing's cursor is ignored: every page is the first one again."""
    DESCRIPTION_LIMIT = "description-limit"
    """A description over 1024 characters is cut to 1024 instead of refused."""


class BrokenBehaviours:
    """The behaviours switched off now; thread-safe, empty after a reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._off: frozenset[Behaviour] = frozenset()

    def set(self, behaviours: Iterable[Behaviour]) -> None:
        """Switch exactly these behaviours off (and every other one back on)."""
        with self._lock:
            self._off = frozenset(behaviours)

    def off(self, behaviour: Behaviour) -> bool:
        """Whether `behaviour` is switched off."""
        return behaviour in self._off

    def listed(self) -> list[str]:
        """The behaviours switched off, sorted, as the control API shows them."""
        return sorted(self._off)

    def reset(self) -> None:
        """Every behaviour on again."""
        self.set(())
