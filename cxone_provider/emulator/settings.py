"""The emulator's options, one frozen value shared by the server, the backend and the app."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.textfiles import read_utf8
from cxone_provider.emulator.store import MEMORY

DATA_ACTIONS_SCOPE: Final = "DataActions.ReadWrite"
READ_SCOPE: Final = "DataActions.Read"
DEFAULT_SCOPES: Final = frozenset({DATA_ACTIONS_SCOPE})
KNOWN_SCOPES: Final = frozenset({DATA_ACTIONS_SCOPE, READ_SCOPE})
CLIENT_FORMAT: Final = "format ID:SECRET[:SCOPES], scopes comma-separated"
DEFAULT_DB: Final = ".cxone-emulator.sqlite3"
MAX_PORT: Final = 65535
# RFC 6749 Appendix A's "unreserved" set: ids and secrets need no escaping anywhere.
_CREDENTIAL = re.compile(r"^[A-Za-z0-9\-._~]+$")


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A client the token endpoint accepts: id, secret (never shown) and granted scopes."""

    client_id: str
    secret: str = field(repr=False)
    scopes: frozenset[str] = DEFAULT_SCOPES

    @classmethod
    def parse(cls, text: str) -> OAuthClient:
        """Read `ID:SECRET[:SCOPES]`; scopes are space- or comma-separated.

        The error names what is wrong, never any part of `text`: it holds a secret, and a
        secret that itself holds a `:` would spill into the id or the scopes.
        """
        client_id, has_secret, rest = text.partition(":")
        secret, has_scopes, scope_text = rest.partition(":")
        if not has_secret:
            msg = f"there is no ':' between the client id and its secret ({CLIENT_FORMAT})"
            raise ConfigurationError(msg)
        for what, value in (("client id", client_id), ("client secret", secret)):
            if not _CREDENTIAL.fullmatch(value):
                msg = (
                    f"the {what} is empty or holds a character outside A-Z a-z 0-9 - . _ ~ "
                    f"({CLIENT_FORMAT})"
                )
                raise ConfigurationError(msg)
        if not has_scopes:
            return cls(client_id, secret, DEFAULT_SCOPES)
        scopes = [scope for scope in re.split(r"[\s,]+", scope_text.strip()) if scope]
        for number, scope in enumerate(scopes, start=1):
            if scope not in KNOWN_SCOPES:
                msg = (
                    f"scope {number} of {len(scopes)} is not one the emulator grants; use "
                    f"{' or '.join(sorted(KNOWN_SCOPES))} ({CLIENT_FORMAT})"
                )
                raise ConfigurationError(msg)
        return cls(client_id, secret, frozenset(scopes))


DEMO_CLIENT: Final = OAuthClient("demo", "demo-secret", DEFAULT_SCOPES)


def clients_from_texts(texts: Sequence[str], source: str) -> tuple[OAuthClient, ...]:
    """The clients of `--client` options or CXONE_EMULATOR_CLIENTS; a bad one is named by place."""
    clients = []
    for number, text in enumerate(texts, start=1):
        try:
            clients.append(OAuthClient.parse(text))
        except ConfigurationError as exc:
            msg = f"client {number} of {source}: {exc}"
            raise ConfigurationError(msg) from None
    return tuple(clients)


def clients_from_file(path: Path) -> tuple[OAuthClient, ...]:
    """The clients of a file: one `ID:SECRET[:SCOPES]` per line; blank lines and # comments.

    The file keeps secrets out of the command line, which every local user can read (`ps`).
    A bad line is named by its number, never quoted.
    """
    clients = []
    for number, line in enumerate(read_utf8(path).splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            clients.append(OAuthClient.parse(text))
        except ConfigurationError as exc:
            msg = f"{str(path)!r}, line {number}: {exc}"
            raise ConfigurationError(msg) from None
    if not clients:
        msg = f"{str(path)!r} holds no client; write one ID:SECRET[:SCOPES] per line"
        raise ConfigurationError(msg)
    return tuple(clients)


@dataclass(frozen=True, slots=True)
class EmulatorSettings:
    """Everything `cxone emulator` can be told; the defaults are the command's defaults."""

    host: str = "127.0.0.1"
    port: int = 8765
    db: str = DEFAULT_DB
    clients: tuple[OAuthClient, ...] = (DEMO_CLIENT,)
    token_ttl_s: int = 3600
    rate_limit: float = 20.0
    burst: int | None = None
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    sandbox_timeout_s: float = 5.0
    sandbox_memory_bytes: int = 64 * 1024 * 1024

    @property
    def bucket_size(self) -> int:
        """`--burst`, or by default two seconds' worth of `--rate-limit` (40 at 20 per second)."""
        if self.burst is not None:
            return self.burst
        return max(1, math.ceil(2 * self.rate_limit))

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= MAX_PORT:
            problems.append(f"--port must be between 0 and {MAX_PORT} (0 picks a free port)")
        problems += _database_problems(self.db)
        if not self.clients:
            problems.append("at least one OAuth client is needed")
        if len({client.client_id for client in self.clients}) != len(self.clients):
            problems.append("each --client needs its own id")
        if self.token_ttl_s <= 0:
            problems.append("--token-ttl must be positive")
        if self.rate_limit < 0 or (self.burst is not None and self.burst < 1):
            problems.append("--rate-limit must be >= 0 (0 turns it off) and --burst >= 1")
        if self.latency_ms < 0:
            problems.append("--latency-ms must be >= 0")
        for option, rate in (("--fault-rate", self.fault_rate), ("--drop-rate", self.drop_rate)):
            if not 0 <= rate <= 1:
                problems.append(f"{option} must be a fraction between 0 and 1")
        if problems:
            msg = "the emulator's options are invalid: " + "; ".join(problems)
            raise ConfigurationError(msg)


def _database_problems(db: str) -> list[str]:
    """What keeps `--db` from being a database file, told before anything opens it."""
    if db == MEMORY:
        return []
    path = Path(db).expanduser()
    if path.is_dir():
        return [f"--db {db!r} is a folder: name a file in it, e.g. --db {path / DEFAULT_DB}"]
    if not path.parent.is_dir():
        problem = (
            f"--db {db!r}: the folder {str(path.parent)!r} does not exist; create it or "
            "choose another file (':memory:' keeps nothing)"
        )
        return [problem]
    return []
