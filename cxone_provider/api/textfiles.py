"""Reading the text files users give (scripts, inputs, YAML): UTF-8, or an error that says so."""

from __future__ import annotations

from pathlib import Path

from cxone_provider.api.errors import ConfigurationError


def read_utf8(path: Path, *, newline: str | None = None) -> str:
    """The text of a UTF-8 file; ConfigurationError naming the file and the fix otherwise.

    `newline=""` keeps line endings as they are (as `open` does).
    """
    try:
        with path.open(encoding="utf-8", newline=newline) as file:
            return file.read()
    except OSError as exc:
        msg = f"cannot read {str(path)!r} ({exc.strerror or exc})"
        raise ConfigurationError(msg) from None
    except UnicodeDecodeError as exc:
        msg = (
            f"{str(path)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        )
        raise ConfigurationError(msg) from None
