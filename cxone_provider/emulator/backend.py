"""Everything the emulator keeps between requests, in one object the HTTP layer is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from cxone_provider.emulator.broken import BrokenBehaviours
from cxone_provider.emulator.clock import EmulatorClock
from cxone_provider.emulator.faults import FaultPlan
from cxone_provider.emulator.oauth import TokenIssuer
from cxone_provider.emulator.ratelimit import RateLimiter
from cxone_provider.emulator.sandbox import PARALLEL_RUNS
from cxone_provider.emulator.settings import EmulatorSettings
from cxone_provider.emulator.stats import Stats
from cxone_provider.emulator.store import ActionStore
from cxone_provider.emulator.transport import ConnectionRegistry


@dataclass(frozen=True, slots=True)
class EmulatorBackend:
    """The store, the token issuer, the rate limiters, the faults, the counters, the switches.

    `limiter` holds each client's bucket of API calls, `token_limiter` its bucket of token
    requests (same rate and burst, counted apart). Token lifetimes and both buckets read
    one `clock`, which tests can move forward through the control API.
    """

    settings: EmulatorSettings
    clock: EmulatorClock
    store: ActionStore
    issuer: TokenIssuer
    limiter: RateLimiter
    token_limiter: RateLimiter
    faults: FaultPlan
    stats: Stats
    connections: ConnectionRegistry
    sandbox_slots: anyio.CapacityLimiter
    broken: BrokenBehaviours

    @classmethod
    def from_settings(cls, settings: EmulatorSettings) -> EmulatorBackend:
        """Open the store and set up everything else as the options say."""
        clock = EmulatorClock()
        return cls(
            settings=settings,
            clock=clock,
            store=ActionStore(settings.db),
            issuer=TokenIssuer(settings.clients, ttl_s=settings.token_ttl_s, clock=clock),
            limiter=RateLimiter(settings.rate_limit, settings.bucket_size, clock=clock),
            token_limiter=RateLimiter(settings.rate_limit, settings.bucket_size, clock=clock),
            faults=FaultPlan(
                fault_rate=settings.fault_rate, drop_rate=settings.drop_rate, seed=settings.seed
            ),
            stats=Stats(),
            connections=ConnectionRegistry(),
            sandbox_slots=anyio.CapacityLimiter(PARALLEL_RUNS),  # more wait their turn
            broken=BrokenBehaviours(),
        )

    def stats_snapshot(self) -> dict[str, Any]:
        """Every counter of `GET /_emulator/stats`, the live ones included."""
        return {
            **self.stats.snapshot(),
            "connections": self.connections.accepted,
            "actions": self.store.count(),
            "requests_held": self.faults.held,
            "sandbox_runs": self.sandbox_slots.borrowed_tokens,
        }

    def reset(self) -> None:
        """Back to a fresh start: no actions, keys, tokens, faults, counts or broken behaviours.

        The clock runs at the real time again, nothing added, before the tokens and buckets
        that read it are forgotten.
        """
        self.clock.reset()
        self.store.reset()
        self.issuer.reset()
        self.limiter.reset()
        self.token_limiter.reset()
        self.faults.reset()
        self.stats.reset()
        self.connections.reset()
        self.broken.reset()

    def close(self) -> None:
        """Close the store."""
        self.store.close()
