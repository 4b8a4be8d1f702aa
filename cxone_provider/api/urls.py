"""URLs as they may be shown or written: never with the secrets a URL can carry."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


def shown_url(url: str) -> str:
    """`url` without `user:password@`, query string and fragment, which often hold secrets."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redacted(url: str) -> str:
    """`shown_url`, and without its path too, where chat webhooks keep their token."""
    shown = shown_url(url)
    parts = urlsplit(shown)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in {"", "/"} else shown


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine only (`localhost`, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_problem(url: str) -> str | None:
    """Why credentials must not be sent to `url`: plain http to a host beyond this machine.

    The client secret goes out in Basic auth and the token as a bearer, both readable on the
    wire without TLS; only an emulator on loopback may be reached over http.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return None
    return (
        f"{shown_url(url)!r} is plain http to a host beyond this machine, so the client secret "
        f"and tokens would cross the network unencrypted: use https://{parts.netloc.rpartition('@')[2]}"
        " (http is only for an emulator on loopback, such as http://127.0.0.1:8765)"
    )
