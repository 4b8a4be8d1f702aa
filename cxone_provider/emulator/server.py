"""Run the emulator: bind, print the address, serve with uvicorn, stop cleanly on a signal."""

from __future__ import annotations

import errno
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

import uvicorn

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.urls import is_loopback
from cxone_provider.emulator.app import create_app
from cxone_provider.emulator.backend import EmulatorBackend
from cxone_provider.emulator.settings import DEMO_CLIENT, EmulatorSettings
from cxone_provider.emulator.store import MEMORY
from cxone_provider.emulator.transport import counting_protocol

# Seconds a stop waits for answers in progress (a test run lasts at most 5 s).
_GRACEFUL_STOP_S = 6


def serve(
    settings: EmulatorSettings, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> None:
    """Serve until SIGINT or SIGTERM, then finish the answers in progress and return."""
    backend = EmulatorBackend.from_settings(settings)
    try:
        listener = _listen(settings.host, settings.port)
        config = uvicorn.Config(
            create_app(backend),
            http=counting_protocol(backend.connections),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_STOP_S,
        )
        server = uvicorn.Server(config)
        with _stopped_by_signals(server):
            _announce(settings, listener, out)
            _warn_if_exposed(settings, err)
            server.run(sockets=[listener])
    finally:
        backend.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 takes a free port (read it back with getsockname)."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, protocol)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except socket.gaierror as exc:
        msg = f"--host {host!r} is not an address or a name this machine can resolve ({exc})"
        raise ConfigurationError(msg) from None
    except OSError as exc:
        raise ConfigurationError(_listen_advice(host, port, exc)) from None
    return listener


def _listen_advice(host: str, port: int, error: OSError) -> str:
    """Why the emulator cannot listen, naming the option at fault."""
    reason = error.strerror or str(error)
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"--host {host!r} is not an address of this machine ({reason}); use 127.0.0.1 "
            "(this machine only) or 0.0.0.0 (every network interface)"
        )
    if error.errno == errno.EACCES:
        return (
            f"the emulator may not listen on port {port} ({reason}): ports below 1024 need "
            "privileges; choose a --port from 1024 up (0 picks a free one)"
        )
    return (
        f"the emulator cannot listen on {host}:{port}: {reason}; choose another --port (0 "
        "picks a free one) or stop what is using it"
    )


def _announce(settings: EmulatorSettings, listener: socket.socket, out: TextIO) -> None:
    host, port = listener.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    database = settings.db if settings.db == MEMORY else str(Path(settings.db).resolve())
    lines = [f"CXone emulator listening on {url}", f"  database: {database}"]
    if settings.clients == (DEMO_CLIENT,):
        lines.append(
            f"  OAuth client id: {DEMO_CLIENT.client_id}  client secret: {DEMO_CLIENT.secret}"
        )
    else:
        ids = ", ".join(client.client_id for client in settings.clients)
        lines.append(f"  OAuth client ids: {ids} (secrets as given, never shown)")
    rate = (
        f"{settings.rate_limit:g} requests/s per client, burst {settings.bucket_size}"
        if settings.rate_limit > 0
        else "off"
    )
    lines += [
        (
            f"  rate limit: {rate}; latency: {settings.latency_ms:g} ms; fault rate: "
            f"{settings.fault_rate:g}; drop rate: {settings.drop_rate:g}; seed: {settings.seed}"
        ),
        f"  OpenAPI: {url}/openapi.json; stats: {url}/_emulator/stats; stop with Ctrl+C",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _warn_if_exposed(settings: EmulatorSettings, err: TextIO) -> None:
    """Say loudly when other machines can reach the emulator, worse with the public demo client."""
    if is_loopback(settings.host):
        return
    lines = [
        (
            f"WARNING: the emulator listens on {settings.host}, beyond this machine: whoever "
            "can reach it can use the API with a client's secret, and its control API "
            "(/_emulator/*) has no authentication at all (anyone can reset it). Bind to "
            "127.0.0.1 unless you mean it."
        ),
    ]
    if DEMO_CLIENT in settings.clients:
        lines.append(
            "WARNING: the demo client's secret (demo-secret) is public: anyone who reaches this "
            "address can change the actions. Give your own clients with CXONE_EMULATOR_CLIENTS "
            "or --clients-file."
        )
    err.write("\n".join(lines) + "\n")
    err.flush()


@contextmanager
def _stopped_by_signals(server: uvicorn.Server) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM ask `server` to stop gracefully and return normally.

    uvicorn installs its own handlers while it serves and, once stopped, re-raises the
    signal it got to the handler that was there before; that handler is this one, which
    only asks the server to exit, so the process ends normally (exit code 0). Installed
    before the address is printed, it also covers a signal sent during startup.
    """

    def stop(_signal: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
