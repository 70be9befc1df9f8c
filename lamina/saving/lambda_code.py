"""Python lambdas in configs: Keras's ``__lambda__`` record, and the safe-mode gate.

Keras saves a ``Lambda`` layer whose function is a Python lambda as
``{"class_name": "__lambda__", "config": {"code": <base64 of marshal'd bytecode>,
"defaults": ..., "closure": ...}}``. Such a record is code: loading it runs whatever
the file's author wrote. It is refused in safe mode (the default) with an error
naming the layer and how to opt in; with ``safe_mode=False`` (or
``lamina.config.enable_unsafe_deserialization()``) it is turned back into a function.
Named functions are never saved as code (see ``serialize_function``).
"""

from __future__ import annotations

import base64
import binascii
import builtins
import marshal
import types

from lamina.saving.serialization import _current_custom_objects, in_safe_mode

LAMBDA = "__lambda__"


def is_lambda(fn) -> bool:
    return isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"


def is_lambda_record(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == LAMBDA


def dump_lambda(fn) -> dict:
    """The ``__lambda__`` record of a Python lambda (Keras's schema)."""
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
    return {"class_name": LAMBDA,
            "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}


def _globals() -> dict:
    import lamina
    from lamina import backend, ops, tree

    namespace = {"__builtins__": builtins, "keras": lamina, "ops": ops, "backend": backend,
                 "tree": tree}
    namespace.update(_current_custom_objects())
    return namespace


def load_lambda(record: dict, layer_name: str):
    """The function of a ``__lambda__`` record, only outside safe mode."""
    if in_safe_mode():
        raise ValueError(
            f"Lambda layer '{layer_name}': its function is Python bytecode (a lambda), and "
            "loading it would run code from the file, so it is refused in safe mode. If you "
            "trust the file's source, load it with `safe_mode=False` or call "
            "`lamina.config.enable_unsafe_deserialization()`.")
    config = record.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("code"), str):
        raise ValueError(f"Lambda layer '{layer_name}': malformed __lambda__ record.")
    try:
        code = marshal.loads(base64.decodebytes(config["code"].encode("ascii")))
    except (binascii.Error, ValueError, EOFError, TypeError, UnicodeEncodeError) as e:
        raise ValueError(f"Lambda layer '{layer_name}': unreadable bytecode: {e}") from e
    if not isinstance(code, types.CodeType):
        raise ValueError(f"Lambda layer '{layer_name}': the record holds no code object.")
    defaults = config.get("defaults")
    closure = config.get("closure")
    closure = tuple(types.CellType(v) for v in closure) if closure else None
    try:
        return types.FunctionType(code, _globals(), code.co_name,
                                  tuple(defaults) if defaults else None, closure)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Lambda layer '{layer_name}': cannot rebuild its function: {e}") from e
