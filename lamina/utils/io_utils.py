"""Where progress and callback messages go: stdout, or Python logging when
interactive logging is off (``keras.config.disable_interactive_logging``)."""

from __future__ import annotations

import logging
import sys

_BAR_CHAR = "\u2501"  # "━", replaced by "=" on streams that cannot encode it
_SETTINGS = {"interactive_logging": True}


def enable_interactive_logging() -> None:
    """Messages (progress bars, callback notices) are written to stdout (the default)."""
    _SETTINGS["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Messages go to the ``"lamina"`` logger (level INFO) instead of stdout."""
    _SETTINGS["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether messages are written to stdout (True) or to Python logging (False)."""
    return _SETTINGS["interactive_logging"]


def print_msg(message: str, line_break: bool = True) -> None:
    """Writes ``message`` (plus a newline when ``line_break``) to stdout and flushes, or
    logs it at INFO level on the ``"lamina"`` logger when interactive logging is off."""
    if not is_interactive_logging_enabled():
        logging.getLogger("lamina").info(message)
        return
    stream = sys.stdout
    message = message + ("\n" if line_break else "")
    try:
        stream.write(message)
    except UnicodeEncodeError:
        # A stream that cannot encode the bar character (e.g. ASCII): degrade, don't fail.
        encoding = getattr(stream, "encoding", None) or "utf-8"
        message = message.replace(_BAR_CHAR, "=")
        stream.write(message.encode(encoding, errors="replace").decode(encoding))
    stream.flush()
