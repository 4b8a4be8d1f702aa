"""URLs as they may be shown or written: never with the secrets a URL can carry."""

from __future__ import annotations

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
