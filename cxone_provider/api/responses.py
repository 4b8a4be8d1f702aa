"""How the API's HTTP answers become the package's errors: the one place that reads error bodies."""

from __future__ import annotations

import email.utils
import re
import time
from typing import Final

import httpx
from pydantic import ValidationError

from cxone_provider.api.errors import ApiError, api_error_class
from cxone_provider.api.models import ApiErrorBody

# A server asking for a longer pause than this is treated as asking for this long.
MAX_RETRY_AFTER_S: Final = 120.0
# RFC 9110 §10.2.3: delay-seconds is 1*DIGIT, ASCII digits only (str.isdigit takes "²" too).
_DELAY_SECONDS: Final = re.compile(r"[0-9]+")


def api_error_from(response: httpx.Response) -> ApiError:
    """The most specific ApiError for a non-2xx answer, with code, details and request id."""
    request = response.request
    try:
        body = ApiErrorBody.model_validate_json(response.content)
    except ValidationError:
        body = ApiErrorBody(
            error=f"HTTP_{response.status_code}",
            message=response.reason_phrase or "no error body",
        )
    error_class = api_error_class(response.status_code)
    return error_class(
        status=response.status_code,
        code=body.error,
        message=body.message,
        details=body.details,
        request_id=body.request_id or response.headers.get("X-Request-Id"),
        method=request.method,
        path=request.url.path,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds to wait: RFC 9110 allows delay-seconds or an HTTP-date.

    Anything else (superscript or other non-ASCII digits, a date email.utils cannot place)
    counts as absent: the client's own backoff applies.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    delay = moment.timestamp() - (time.time() if now is None else now)
    return min(max(delay, 0.0), MAX_RETRY_AFTER_S)
