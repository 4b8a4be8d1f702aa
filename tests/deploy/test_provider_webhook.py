"""Webhook events: signed per Standard Webhooks, retried with one id, never raising."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from provider_server import WebhookReceiver, verify_standard_webhook

from cxone_provider.api.urls import shown_url
from cxone_provider.deploy.webhook import WebhookEvent, WebhookSender

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
EVENT = WebhookEvent(
    event="ACTION_CREATED",
    action_id="a1",
    name="lead_score",
    test_status="SUCCESS",
    latency_ms=12.5,
    stack="dev",
    timestamp=1_700_000_000_000,
)


def sender(receiver, *, secret=SECRET, timeout=5.0, attempts=3):
    return WebhookSender(receiver.url, secret, timeout=timeout, attempts=attempts, backoff=0.01)


def test_event_is_signed_and_verifies_as_a_standard_webhook(receiver):
    """The receiver verifies the exact bytes it got with the shared secret."""
    assert sender(receiver).send(EVENT) is True
    [(headers, body)] = receiver.requests
    assert verify_standard_webhook(SECRET, headers, body)
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"].startswith("msg_")
    assert json.loads(body) == {
        "event": "ACTION_CREATED",
        "action_id": "a1",
        "name": "lead_score",
        "test_status": "SUCCESS",
        "latency_ms": 12.5,
        "stack": "dev",
        "timestamp": 1_700_000_000_000,
    }


def test_a_tampered_body_does_not_verify(receiver):
    """The signature covers the body: one changed byte fails verification."""
    sender(receiver).send(EVENT)
    [(headers, body)] = receiver.requests
    assert not verify_standard_webhook(SECRET, headers, body.replace(b"a1", b"a2"))


def test_without_secret_the_event_is_sent_unsigned(receiver):
    """No webhook secret: no signature header, the event still goes out."""
    assert sender(receiver, secret=None).send(EVENT) is True
    [(headers, _)] = receiver.requests
    assert "webhook-signature" not in headers


def test_server_errors_are_retried_with_the_same_webhook_id(receiver, caplog):
    """500 then 503 then 200: three attempts, one event id, each signed, each retry logged."""
    receiver.answers = [500, 503]
    with caplog.at_level(logging.WARNING):
        assert sender(receiver).send(EVENT) is True
    retries = [record.getMessage() for record in caplog.records]
    assert [line.split(": ", 1)[1].split(";")[0] for line in retries] == [
        "answered HTTP 500",
        "answered HTTP 503",
    ]
    assert all(line.startswith("webhook event ") and "'lead_score'" in line for line in retries)
    assert "/hooks/cxone" not in caplog.text
    assert len(receiver.requests) == 3
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
    assert all(verify_standard_webhook(SECRET, h, b) for h, b in receiver.requests)


def test_a_refusal_is_not_retried_and_only_warns(receiver, caplog):
    """A 400 is final: one attempt, a warning naming the action, and no exception."""
    receiver.answers = [400]
    with caplog.at_level(logging.WARNING, logger="cxone_provider.deploy.webhook"):
        assert sender(receiver).send(EVENT) is False
    assert len(receiver.requests) == 1
    assert "'lead_score'" in caplog.text
    assert "HTTP 400" in caplog.text
    assert "/hooks/cxone" not in caplog.text  # the path may carry a token: never logged


def test_a_hanging_receiver_times_out_and_is_given_up(receiver):
    """Every attempt hangs past the timeout: all attempts are made, send returns False."""
    receiver.answers = [1.0, 1.0, 1.0]
    started = time.monotonic()
    assert sender(receiver, timeout=0.2).send(EVENT) is False
    assert len(receiver.requests) == 3
    assert time.monotonic() - started < 2.5


def test_an_unreachable_receiver_never_raises():
    """Connection refused on every attempt: False, no exception."""
    hook = WebhookReceiver()
    url = hook.url
    hook.close()
    assert WebhookSender(url, SECRET, attempts=2, backoff=0.01).send(EVENT) is False


def test_repr_hides_the_secret_and_the_path(receiver):
    """The sender's repr shows neither the signing secret nor the URL's path."""
    text = repr(sender(receiver))
    assert SECRET not in text
    assert "/hooks/cxone" not in text


def test_a_receiver_down_for_several_events_is_skipped_for_a_while(receiver, caplog):
    """After three undelivered events in a row, events are skipped until the cool-down ends.

    Each skipped event is logged as a warning; after the cool-down delivery is tried again.
    """
    now = [1_000.0]
    hook = WebhookSender(receiver.url, SECRET, attempts=1, backoff=0.01, clock=lambda: now[0])
    receiver.answers = [500, 500, 500]
    assert [hook.send(EVENT) for _ in range(3)] == [False, False, False]
    with caplog.at_level(logging.WARNING, logger="cxone_provider.deploy.webhook"):
        assert hook.send(EVENT) is False
    assert len(receiver.requests) == 3  # the fourth event was not even attempted
    assert "skipped" in caplog.text
    now[0] += 31.0
    assert hook.send(EVENT) is True
    assert len(receiver.requests) == 4


@pytest.mark.parametrize(
    "shape",
    [
        "http://hook-user:hook-pass@{host}/?token=query-secret",
        "http://{host}?token=query-secret#hook-pass",
        "http://hook-user:hook-pass@{host}",
    ],
    ids=["userinfo-and-query", "query-no-path", "userinfo-no-path"],
)
def test_warnings_and_repr_show_no_credentials_and_no_query(receiver, caplog, shape):
    """Issue 11, case 13: user:password@ and the query string stay out of logs and repr."""
    url = shape.format(host=receiver.url.split("/")[2])
    receiver.answers = [400]
    hook = WebhookSender(url, SECRET, attempts=1, backoff=0.01)
    with caplog.at_level(logging.WARNING, logger="cxone_provider.deploy.webhook"):
        assert hook.send(EVENT) is False
    shown = caplog.text + repr(hook)
    for secret in ("hook-pass", "query-secret", "hook-user"):
        assert secret not in shown
    assert receiver.url.split("/")[2] in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@acme.example:8443/api?key=1#frag", "https://acme.example:8443/api"),
        ("https://acme.example", "https://acme.example"),
        ("http://@127.0.0.1:8765/", "http://127.0.0.1:8765/"),
        ("https://a@b@acme.example/x", "https://acme.example/x"),
    ],
)
def test_shown_urls_keep_scheme_host_port_and_path_only(url, shown):
    """One rule for every URL the package shows or writes."""
    assert shown_url(url) == shown
