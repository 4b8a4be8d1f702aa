"""Change events for an orchestration endpoint: Standard Webhooks signatures, retries, never fatal.

A webhook tells other systems that an action changed; it is not part of the change. So a
webhook that fails, is refused or hangs is retried a few times (each attempt limited to 5 s)
and then logged as a warning: it never fails a deployment. After several events in a row
were not delivered, the receiver is taken to be down and events are skipped (each with a
warning) for a cool-down period, so a dead receiver cannot slow a deployment of hundreds of
actions by seconds each. With a secret, every attempt is
signed as https://www.standardwebhooks.com says: `webhook-id` (the same on every retry of one
event, so receivers can drop duplicates), `webhook-timestamp` (Unix seconds of the attempt)
and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, and the exact signed
bytes are the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Final, Literal

import httpx
import stamina

from cxone_provider.api.client import retry_log
from cxone_provider.api.urls import redacted
from cxone_provider.deploy.settings import WEBHOOK_SECRET_PREFIX

EventType = Literal["ACTION_CREATED", "ACTION_UPDATED", "ACTION_DELETED", "ACTION_TEST_FAILED"]
TIMEOUT_S: Final = 5.0
ATTEMPTS: Final = 3
BACKOFF_S: Final = 0.5
# Undelivered events in a row that mark the receiver as down, and how long it stays so.
BREAKER_THRESHOLD: Final = 3
BREAKER_COOLDOWN_S: Final = 30.0
# Answers worth another attempt: the receiver is busy or failing, not refusing the event.
_RETRYABLE: Final = frozenset({408, 425, 429, 500, 502, 503, 504})

logger = logging.getLogger(__name__)


class _UndeliveredError(Exception):
    """One attempt that the receiver did not accept; `retryable` when another may succeed."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


def _worth_retrying(error: Exception) -> bool:
    return isinstance(error, _UndeliveredError) and error.retryable


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One change, as the contract's webhook body describes it (timestamp in epoch ms)."""

    event: EventType
    action_id: str
    name: str
    test_status: str | None
    latency_ms: float | None
    stack: str | None
    timestamp: int

    def body(self) -> bytes:
        """The JSON body, compact and UTF-8: these exact bytes are signed and sent."""
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt (Standard Webhooks, scheme v1)."""
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookSender:
    """Delivers events to one URL over one pooled connection; thread-safe; `send` never raises."""

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        timeout: float = TIMEOUT_S,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_S,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._secret = secret
        self._attempts = attempts
        self._backoff = backoff
        self._clock = clock
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self._lock = threading.Lock()
        self._failures_in_a_row = 0
        self._down_until = 0.0

    def __repr__(self) -> str:
        return f"WebhookSender({redacted(self.url)!r}, signed={self._secret is not None})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(self, event: WebhookEvent) -> bool:
        """POST the event, retrying failures; True when the receiver accepted it (2xx)."""
        with self._lock:
            down = self._clock() < self._down_until
        if down:
            logger.warning(
                "Data Action %r: webhook event %s to %s skipped: the receiver failed %d events "
                "in a row and is retried after a %g s pause; the deployment continues.",
                event.name,
                event.event,
                redacted(self.url),
                BREAKER_THRESHOLD,
                BREAKER_COOLDOWN_S,
            )
            return False
        delivered = self._deliver(event)
        with self._lock:
            self._failures_in_a_row = 0 if delivered else self._failures_in_a_row + 1
            if self._failures_in_a_row >= BREAKER_THRESHOLD:
                self._down_until = self._clock() + BREAKER_COOLDOWN_S
        return delivered

    def _deliver(self, event: WebhookEvent) -> bool:
        """Attempts with exponential backoff (stamina), one message id for all of them."""
        message_id = f"msg_{uuid.uuid4().hex}"
        body = event.body()
        attempts = 0
        what = f"webhook event {event.event} of Data Action {event.name!r} to {redacted(self.url)}"
        try:
            with retry_log(what, self._attempts):
                for attempt in stamina.retry_context(
                    on=_worth_retrying,
                    attempts=self._attempts,
                    timeout=None,
                    wait_initial=self._backoff,
                    wait_jitter=0.0,
                ):
                    with attempt:
                        attempts = attempt.num
                        self._post(message_id, body)
        except _UndeliveredError as exc:
            logger.warning(
                "Data Action %r: webhook event %s to %s was not delivered (%s, %d attempt(s)); "
                "the deployment continues. Check the webhook receiver.",
                event.name,
                event.event,
                redacted(self.url),
                exc,
                attempts,
            )
            return False
        logger.debug("webhook %s for Data Action %r delivered", event.event, event.name)
        return True

    def _post(self, message_id: str, body: bytes) -> None:
        """One signed attempt; raises _UndeliveredError unless the receiver answered 2xx."""
        try:
            response = self._http.post(
                self.url, content=body, headers=self._headers(message_id, body)
            )
        except httpx.HTTPError as exc:
            reason = f"no answer ({type(exc).__name__})"
            raise _UndeliveredError(reason, retryable=True) from None
        if not response.is_success:
            reason = f"answered HTTP {response.status_code}"
            raise _UndeliveredError(reason, retryable=response.status_code in _RETRYABLE)

    def _headers(self, message_id: str, body: bytes) -> dict[str, str]:
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
        }
        if self._secret is not None:
            headers["webhook-signature"] = signature(self._secret, message_id, timestamp, body)
        return headers
