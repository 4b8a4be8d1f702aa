"""Error texts say what failed and what to do; Retry-After is read in both of its forms."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from cxone_provider.api.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    PreconditionFailedError,
    RateLimitedError,
    ServerError,
    api_error_class,
)
from cxone_provider.api.responses import MAX_RETRY_AFTER_S, api_error_from, retry_after_seconds


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://tenant.example/api/v2/dataactions/actions")
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, ForbiddenError),
        (409, ConflictError),
        (412, PreconditionFailedError),
        (429, RateLimitedError),
        (502, ServerError),
        (418, ApiError),
    ],
)
def test_each_status_maps_to_its_error_class(status, expected):
    """The error class follows the HTTP status, with ApiError for the rest."""
    assert api_error_class(status) is expected


def test_api_error_carries_status_code_details_and_request_id():
    """Everything the API said is kept on the error and shown in its text."""
    error = api_error_from(
        answer(
            409,
            {
                "error": "NAME_CONFLICT",
                "message": "exists",
                "details": [{"name": "a"}],
                "requestId": "req-42",
            },
        )
    )
    assert isinstance(error, ConflictError)
    assert (error.status, error.code, error.request_id) == (409, "NAME_CONFLICT", "req-42")
    assert "adopt it" in str(error)
    assert "req-42" in str(error)
    assert "POST /api/v2/dataactions/actions" in str(error)


def test_forbidden_error_names_the_missing_scope():
    """A 403 tells the user which scope the OAuth client needs."""
    error = api_error_from(answer(403, {"error": "INSUFFICIENT_SCOPE", "message": "no"}))
    assert "DataActions.ReadWrite" in str(error)


def test_compilation_error_lists_line_and_column():
    """COMPILATION_FAILED shows each position the server reported."""
    error = api_error_from(
        answer(
            400,
            {
                "error": "COMPILATION_FAILED",
                "message": "bad script",
                "details": [{"line": 3, "column": 7, "message": "Unexpected token"}],
            },
        )
    )
    assert "line 3, column 7: Unexpected token" in str(error)


def test_version_mismatch_says_to_refresh():
    """A 412 points at `pulumi refresh`."""
    error = api_error_from(answer(412, {"error": "VERSION_MISMATCH", "message": "stale"}))
    assert "pulumi refresh" in str(error)


def test_answer_without_error_body_still_gives_an_api_error():
    """A proxy's HTML error page becomes an error with a synthetic code, not a crash."""
    request = httpx.Request("GET", "https://tenant.example/x")
    error = api_error_from(httpx.Response(502, text="<html>bad gateway</html>", request=request))
    assert isinstance(error, ServerError)
    assert error.code == "HTTP_502"


def test_invalid_client_says_to_check_the_id_and_secret():
    """A refused token request names the settings to check."""
    text = str(AuthenticationError(401, "invalid_client", "unknown client"))
    assert "cxone:clientId" in text
    assert "cxone:clientSecret" in text


def test_retry_after_in_seconds():
    """delay-seconds is taken as is."""
    assert retry_after_seconds("2") == 2.0


def test_retry_after_as_http_date():
    """An HTTP-date becomes the seconds from now until then."""
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 3, usegmt=True)
    assert retry_after_seconds(date, now=now) == pytest.approx(3.0)


def test_retry_after_in_the_past_means_now():
    """A date already gone asks for no wait at all."""
    now = 1_700_000_000.0
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_retry_after_is_capped():
    """A server asking for an hour's wait does not stall a deployment for an hour."""
    assert retry_after_seconds("3600") == MAX_RETRY_AFTER_S


@pytest.mark.parametrize("value", [None, "", "soon", "-1", "1.5e3"])
def test_unreadable_retry_after_is_ignored(value):
    """A malformed header falls back to the client's own backoff."""
    assert retry_after_seconds(value) is None


@pytest.mark.parametrize(
    "value",
    ["\u00b2", "1\u00b2", "\u0661\u0662", "\uff13", "\U0001d7d9", "Mon, 99 Foo 99999 99:99:99 GMT"],
    ids=["superscript", "digit-superscript", "arabic-indic", "fullwidth", "math-digit", "odd-date"],
)
def test_retry_after_that_python_thinks_is_a_number_but_http_does_not_is_ignored(value):
    """Issue 11, case 15: str.isdigit's digits are not HTTP's; none of them raises."""
    assert retry_after_seconds(value) is None


def test_a_429_with_a_superscript_retry_after_is_a_rate_limited_error():
    """The answer still becomes RateLimitedError, with no Retry-After taken from it."""
    request = httpx.Request("GET", "https://tenant.example/api/v2/dataactions/actions")
    response = httpx.Response(429, headers={"Retry-After": "\u00b2".encode()}, request=request)
    error = api_error_from(response)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None
