"""The process-wide clients: one API client per connection, one webhook sender per webhook.

The plugin serves every DataAction of a stack from several threads; sharing one client per
connection gives them one connection pool and one token. The cache is closed at exit.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from cxone_provider.api.client import CxoneClient
from cxone_provider.deploy.settings import Connection, Webhook
from cxone_provider.deploy.webhook import WebhookSender

_Shared = TypeVar("_Shared", CxoneClient, WebhookSender)
_SHARED: dict[Hashable, Any] = {}
_SHARED_LOCK = threading.Lock()


def _shared(key: Hashable, make: Callable[[], _Shared]) -> _Shared:
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            if not _SHARED:
                atexit.register(close_shared_clients)
            found = _SHARED[key] = make()
        return cast("_Shared", found)


def shared_client(connection: Connection) -> CxoneClient:
    """The one API client of this process for a connection (one pool, one token)."""
    return _shared(
        connection,
        lambda: CxoneClient(connection.base_url, connection.client_id, connection.client_secret),
    )


def shared_webhook(webhook: Webhook) -> WebhookSender:
    """The one sender of this process for a webhook."""
    return _shared(webhook, lambda: WebhookSender(webhook.url, webhook.secret))


def close_shared_clients() -> None:
    """Close every cached client (at exit, and between tests that change connections)."""
    with _SHARED_LOCK:
        clients = list(_SHARED.values())
        _SHARED.clear()
    for client in clients:
        client.close()
