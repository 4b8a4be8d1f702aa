"""How a failed provider call reaches the user: our message first, once, and few frames.

Pulumi's SDK answers a failed call with `traceback.format_exc()` of what the provider raised
(`pulumi/dynamic/__main__.py`, `_abort_with_traceback`), and the engine prints that text. An
error raised deep in the client would show a screenful of frames (tenacity, stamina,
concurrent.futures) before its one useful line, and the engine's progress line shows only
the first line ("Traceback (most recent call last):"), twice when the output is no terminal.
So each CRUD method of the provider re-raises our error as the frameless cause of a short
`OperationFailedError`: the text opens with a one-line headline (what failed, which is all
the progress line shows), then our message, once, then the SDK's two frames and this
module's one. Anything that is not a `CxoneError` is a bug and keeps its whole traceback.
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
                name = _subject(args)
                raise OperationFailedError(verb, name) from headed(exc, verb, name)

        return call

    return decorate


def headed(error: CxoneError, verb: str, name: str) -> CxoneError:
    """`error` led by a headline, without its frames and its chain: printed, one message.

    Its message already says what the chained errors said (a deadline names the last error,
    a reworded API error keeps the code and the request id); its notes stay.
    """
    error.args = (f"the {verb} of Data Action {name!r} failed:\n{error}",)
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
