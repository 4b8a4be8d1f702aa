"""How a failed provider call reaches the user: our message first, once, and few frames.

Pulumi's SDK answers a failed call with `traceback.format_exc()` of what the provider raised
(`pulumi/dynamic/__main__.py`, `_abort_with_traceback`), and the engine prints that text. An
error raised deep in the client would show a screenful of frames (tenacity, stamina,
concurrent.futures) before its one useful line, and the engine's progress line shows only
the first line ("Traceback (most recent call last):"). So each CRUD method of the provider
re-raises our error as the frameless cause of a short `OperationFailedError`: the traceback
then opens with our message, followed by the SDK's two frames and this module's one.
Anything that is not a `CxoneError` is a bug and keeps its whole traceback, for the report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from cxone_provider.api.errors import CxoneError, OperationFailedError

_P = ParamSpec("_P")
_R = TypeVar("_R")


def reported(verb: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a provider method: a `CxoneError` it raises is shown first and alone."""

    def decorate(method: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(method)
        def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(*args, **kwargs)
            except CxoneError as exc:
                raise OperationFailedError(verb, _subject(args)) from frameless(exc)

        return call

    return decorate


def frameless(error: CxoneError) -> CxoneError:
    """`error` without its frames and its own chain: printed as a cause, it is one message.

    Its message already says what the chained errors said (a deadline names the last error,
    a reworded API error keeps the code and the request id); its notes stay.
    """
    error.__cause__ = None
    error.__suppress_context__ = True
    return error.with_traceback(None)


def _subject(args: tuple[Any, ...]) -> str:
    """The action a provider call is about: the name in its properties, else its id."""
    props = args[-1] if args and isinstance(args[-1], Mapping) else {}
    name = props.get("name")
    if isinstance(name, str) and name:
        return name
    return str(args[1]) if len(args) > 1 else "?"
