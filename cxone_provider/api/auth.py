"""OAuth 2.0 client credentials as an httpx.Auth flow: one cached token, one refresh at a time."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote_plus

import httpx
from pydantic import ValidationError

from cxone_provider.api.errors import AuthenticationError
from cxone_provider.api.models import TokenResponse
from cxone_provider.api.responses import api_error_from

TOKEN_PATH: Final = "/api/v2/oauth/token"
SCOPE: Final = "DataActions.ReadWrite"
# The contract: a token is reused until 60 s before it expires.
REFRESH_MARGIN_S: Final = 60.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = field(repr=False)
    reusable_until: float


class ClientCredentialsAuth(httpx.Auth):
    """Adds a bearer token to every request; refreshes it before expiry and once after a 401.

    Threads that find no valid token wait on one lock while a single thread fetches it, so
    twenty threads starting together cause one token request, not twenty.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        scope: str = SCOPE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self._basic = _basic_credentials(client_id, client_secret)
        self._scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(client_id={self.client_id!r})"

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Send `request` with a valid token; after a 401, refresh once and send it again."""
        token = self._valid_token()
        if token is None:
            with self._lock:
                token = self._valid_token()
                if token is None:
                    token = yield from self._fetch(request)
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        with self._lock:
            # Another thread may have refreshed while this request was in flight.
            if self._token is None or self._token is token:
                self._token = None
                fresh = yield from self._fetch(request)
            else:
                fresh = self._token
        request.headers["Authorization"] = f"Bearer {fresh.value}"
        yield request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Refuse async use: the Pulumi provider runs in threads, not in an event loop."""
        msg = "ClientCredentialsAuth supports httpx.Client only"
        raise NotImplementedError(msg)

    def _valid_token(self) -> _Token | None:
        token = self._token
        if token is not None and self._clock() < token.reusable_until:
            return token
        return None

    def token_request(
        self, url: httpx.URL, *, grant_type: str = "client_credentials", scope: str | None = None
    ) -> httpx.Request:
        """The token request for the API at `url`, as this flow sends it (scope: its own).

        Public for callers that judge the token endpoint's answer themselves (`cxone
        conformance`), so that they send exactly what the flow sends, with its credentials.
        """
        return httpx.Request(
            "POST",
            url.copy_with(path=TOKEN_PATH, query=None),
            data={"grant_type": grant_type, "scope": self._scope if scope is None else scope},
            headers={"Authorization": self._basic, "Accept": "application/json"},
        )

    def _fetch(
        self, for_request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, _Token]:
        token_request = self.token_request(for_request.url)
        started = self._clock()
        self.token_requests += 1
        response = yield token_request
        response.read()
        logger.debug(
            "POST %s -> %d (token request, %.1f ms)",
            TOKEN_PATH,
            response.status_code,
            (self._clock() - started) * 1000,
        )
        if response.status_code != httpx.codes.OK:
            raise _token_error(response)
        try:
            payload = TokenResponse.model_validate_json(response.content)
        except ValidationError:
            msg = "the token endpoint answered 200 without a valid token body"
            raise AuthenticationError(response.status_code, "invalid_response", msg) from None
        # A token whose lifetime is under the margin is still good for the request at hand.
        token = _Token(payload.access_token, started + payload.expires_in - REFRESH_MARGIN_S)
        self._token = token
        return token


def _basic_credentials(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: each part is form-urlencoded before the Basic encoding."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _token_error(response: httpx.Response) -> Exception:
    """What a non-200 token answer means: bad credentials are final, 429/5xx are retryable."""
    if response.status_code in {httpx.codes.BAD_REQUEST, httpx.codes.UNAUTHORIZED}:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return AuthenticationError(
            response.status_code,
            str(body.get("error", "invalid_client")),
            str(body.get("error_description", "")),
        )
    return api_error_from(response)
