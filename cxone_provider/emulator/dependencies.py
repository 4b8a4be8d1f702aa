"""What the routes are given by FastAPI: the backend of the app serving the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cxone_provider.emulator.backend import EmulatorBackend


def _backend(request: Request) -> EmulatorBackend:
    backend: EmulatorBackend = request.app.state.backend
    return backend


Backend = Annotated[EmulatorBackend, Depends(_backend)]
