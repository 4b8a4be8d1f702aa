"""Everything the emulator keeps between requests, in one object the HTTP layer is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from cxone_provider.emulator.faults import FaultPlan
from cxone_provider.emulator.oauth import TokenIssuer
from cxone_provider.emulator.ratelimit import RateLimiter
from cxone_provider.emulator.settings import EmulatorSettings
from cxone_provider.emulator.stats import Stats
from cxone_provider.emulator.store import ActionStore
from cxone_provider.emulator.transport import ConnectionRegistry

# Test runs held at once; more wait their turn without holding up other requests.
_SANDBOX_RUNS = 8


@dataclass(frozen=True, slots=True)
class EmulatorBackend:
    """The store, the token issuer, the rate limiters, the fault plan and the counters.

    `limiter` holds each client's bucket of API calls, `token_limiter` its bucket of token
    requests (same rate and burst, counted apart).
    """

    settings: EmulatorSettings
    store: ActionStore
    issuer: TokenIssuer
    limiter: RateLimiter
    token_limiter: RateLimiter
    faults: FaultPlan
    stats: Stats
    connections: ConnectionRegistry
    sandbox_slots: anyio.CapacityLimiter

    @classmethod
    def from_settings(cls, settings: EmulatorSettings) -> EmulatorBackend:
        """Open the store and set up everything else as the options say."""
        return cls(
            settings=settings,
            store=ActionStore(settings.db),
            issuer=TokenIssuer(settings.clients, ttl_s=settings.token_ttl_s),
            limiter=RateLimiter(settings.rate_limit, settings.bucket_size),
            token_limiter=RateLimiter(settings.rate_limit, settings.bucket_size),
            faults=FaultPlan(
                fault_rate=settings.fault_rate, drop_rate=settings.drop_rate, seed=settings.seed
            ),
            stats=Stats(),
            connections=ConnectionRegistry(),
            sandbox_slots=anyio.CapacityLimiter(_SANDBOX_RUNS),
        )

    def stats_snapshot(self) -> dict[str, Any]:
        """Every counter of `GET /_emulator/stats`, the live ones included."""
        return {
            **self.stats.snapshot(),
            "connections": self.connections.accepted,
            "actions": self.store.count(),
        }

    def reset(self) -> None:
        """Back to a fresh start: no actions, keys, tokens, faults or counts; clients stay."""
        self.store.reset()
        self.issuer.reset()
        self.limiter.reset()
        self.token_limiter.reset()
        self.faults.reset()
        self.stats.reset()
        self.connections.reset()

    def close(self) -> None:
        """Close the store."""
        self.store.close()
