"""Where the user's code is: call sites for error messages, and tracebacks without
lamina's and JAX's own frames.

A mistake in a model usually sits on the line that built it, not inside lamina, so
errors name that line. Layers record where they were created and nodes where they
were called (:func:`user_location`: a walk up the stack that stops at the first
frame outside lamina and JAX, a few hundred nanoseconds per frame). Errors raised
while building a graph or checking data leave the library through
:func:`without_internal_frames`, which drops lamina's and JAX's frames from the
traceback unless ``lamina.config.disable_traceback_filtering()`` was called.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from typing import NamedTuple

import jax
import jaxlib

# Files under these folders are lamina's or JAX's own; any other frame is user code.
_INTERNAL_DIRS = tuple(os.path.dirname(os.path.abspath(path)) + os.sep
                       for path in (__file__, jax.__file__, jaxlib.__file__))


class CodeLocation(NamedTuple):
    """A file and line of user code."""

    filename: str
    lineno: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}"


def is_internal(filename: str) -> bool:
    """Whether ``filename`` belongs to lamina or JAX."""
    return filename.startswith(_INTERNAL_DIRS)


def user_location(constructing=None) -> CodeLocation | None:
    """The innermost frame of the current stack outside lamina and JAX.

    Args:
        constructing: an object being constructed; the ``__init__`` frames of its own
            (user-defined) classes are skipped too, so a custom layer's location is the
            line that created it rather than its ``super().__init__()`` call.

    Returns:
        The frame's file and line, or None when the whole stack is internal.
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not is_internal(code.co_filename) and not (
                constructing is not None and code.co_name == "__init__"
                and frame.f_locals.get("self") is constructing):
            return CodeLocation(code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


def filtering_enabled() -> bool:
    """The switch of ``lamina.config.enable/disable_traceback_filtering``."""
    from lamina import config  # noqa: PLC0415 - config imports modules that import layers

    return config.is_traceback_filtering_enabled()


def without_internal_frames(error: BaseException) -> BaseException:
    """``error`` with lamina's and JAX's frames removed from its traceback (the user's
    own frames, e.g. a custom layer's ``call``, stay). Raise the result ``from None``
    so the internal exception chain is not printed either."""
    kept = []
    # The exceptions a lamina error wraps (``raise ... from``) may hold the user's own
    # frames (the line of a custom layer's ``call`` that failed): they follow, innermost
    # last, as they would in the printed chain.
    link = error
    while link is not None:
        tb = link.__traceback__
        while tb is not None:
            if not is_internal(tb.tb_frame.f_code.co_filename):
                kept.append(tb)
            tb = tb.tb_next
        link = link.__cause__
    filtered = None
    for tb in reversed(kept):
        filtered = types.TracebackType(filtered, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    return error.with_traceback(filtered)


def add_note_once(error: BaseException, note: str) -> None:
    """Adds ``note`` (printed under the message) unless the error already has it, so
    that nested calls on the way out do not repeat it."""
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)


def layer_call_note(layer, location: CodeLocation | None) -> str | None:
    """"Layer 'dense' (Dense) was called at f.py:12" (and where it was created, when
    that is another line); None when no user frame is known."""
    created = layer._created_at
    if location is None and created is None:
        return None
    parts = [] if location is None else [f"was called at {location}"]
    if created is not None and created != location:
        parts.append(f"was created at {created}")
    return f"Layer '{layer.name}' ({type(layer).__name__}) " + " and ".join(parts) + "."


def reported_from_user_code(method):
    """Decorates a method whose errors are the user's to fix (bad data, bad arguments):
    they leave it with a traceback of the user's frames only (when filtering is on)."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as error:
            if not filtering_enabled():
                raise
            raise without_internal_frames(error) from None

    return wrapper


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` issued by the caller point at
    the user's line rather than at lamina's."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and is_internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level
