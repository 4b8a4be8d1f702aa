"""OAuth 2.0 client credentials: the configured clients and the bearer tokens issued to them.

Tokens live in memory, kept as SHA-256 digests only: after a restart every client gets a
401 and fetches a new token, as the contract tells clients to do. They are kept in the order
they were issued, which (one lifetime for all) is the order they expire in, so each issue
forgets the expired ones at the front without looking at the others. How fast a client may
ask for tokens is the rate limiter's business (a bucket per client, as for API calls). Not
emulated: refresh tokens, other grant types, token revocation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote_plus

from cxone_provider.emulator.exceptions import (
    InsufficientScopeError,
    OAuthError,
    UnauthorizedError,
)
from cxone_provider.emulator.settings import DATA_ACTIONS_SCOPE, OAuthClient

# Expired grants forgotten per issue at most: more than one issue can add, so they shrink.
_FORGET_AT_ONCE: Final = 64


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The token endpoint's answer for one client."""

    access_token: str = field(repr=False)
    expires_in: int
    scope: str


@dataclass(slots=True)
class _TokenGrant:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


class TokenIssuer:
    """Checks client credentials, issues bearer tokens and authenticates API calls with them."""

    def __init__(
        self,
        clients: Iterable[OAuthClient],
        *,
        ttl_s: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = {client.client_id: client for client in clients}
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, _TokenGrant] = {}

    def authenticate_client(self, client_id: str, secret: str) -> str:
        """The id of a configured client whose secret this is; 401 invalid_client otherwise."""
        client = self._clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret.encode(), secret.encode()):
            msg = "unknown client id or wrong secret"
            raise OAuthError(401, "invalid_client", msg)
        return client.client_id

    def issue(self, client_id: str, *, grant_type: str | None, scope: str | None) -> IssuedToken:
        """A new token for an authenticated client; RFC 6749 §5.2 errors for a bad request."""
        client = self._clients[client_id]
        if grant_type is None:
            raise OAuthError(400, "invalid_request", "grant_type is missing")
        if grant_type != "client_credentials":
            msg = f"grant_type {grant_type!r} is not supported; use client_credentials"
            raise OAuthError(400, "unsupported_grant_type", msg)
        requested = frozenset(scope.split()) if scope else client.scopes
        if not requested <= client.scopes:
            msg = f"this client may request only: {' '.join(sorted(client.scopes)) or 'no scope'}"
            raise OAuthError(400, "invalid_scope", msg)
        token = "cxe_" + secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            self._grants[_digest(token)] = _TokenGrant(client_id, requested, now + self._ttl_s)
        return IssuedToken(token, self._ttl_s, " ".join(sorted(requested)))

    def authenticate(self, authorization: str | None) -> str:
        """The client id behind an `Authorization: Bearer` header allowed to use the API."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "send Authorization: Bearer <access_token> from POST /api/v2/oauth/token"
            raise UnauthorizedError(msg)
        with self._lock:
            grant = self._grants.get(_digest(token.strip()))
        if grant is None:
            raise UnauthorizedError("the access token is unknown; request a new one")
        if grant.expires_at <= self._clock():
            raise UnauthorizedError("the access token has expired; request a new one")
        if DATA_ACTIONS_SCOPE not in grant.scopes:
            msg = f"the access token lacks the {DATA_ACTIONS_SCOPE} scope"
            raise InsufficientScopeError(msg)
        return grant.client_id

    def _forget_expired(self, now: float) -> None:
        """Drop the expired grants at the front (the oldest); stop at the first valid one."""
        for digest, grant in list(itertools.islice(self._grants.items(), _FORGET_AT_ONCE)):
            if grant.expires_at > now:
                return
            del self._grants[digest]

    def __len__(self) -> int:
        """How many tokens are kept (valid, or expired and not yet forgotten)."""
        with self._lock:
            return len(self._grants)

    def expire_all(self) -> None:
        """Expire every token issued so far; the next call with one of them gets 401."""
        with self._lock:
            now = self._clock()
            for grant in self._grants.values():
                grant.expires_at = min(grant.expires_at, now)

    def reset(self) -> None:
        """Forget every issued token; the configured clients stay."""
        with self._lock:
            self._grants.clear()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    """Client id and secret from HTTP Basic auth, each form-urldecoded (RFC 6749 §2.3.1)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        msg = "send the client id and secret in HTTP Basic auth"
        raise OAuthError(401, "invalid_client", msg)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        msg = "the Basic credentials are not base64 of id:secret"
        raise OAuthError(401, "invalid_client", msg) from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise OAuthError(401, "invalid_client", "the Basic credentials lack the ':' separator")
    return unquote_plus(client_id), unquote_plus(secret)
