"""The walk over a model's saveable objects that writes and reads a weights store.

The order and paths are Keras 3's: an object writes its own variables at
``<path>/vars``, then each child (see ``KerasSaveable._saveable_children``) is
visited at ``<path>/<attribute>``. In a list, tuple or dict of children, each
saveable is named after its class in snake case (``dense``, ``dense_1``, ...; never
after the layer's name, which is not reproducible), and a nested container is named
``container``, ``container_1``, ... An object reached twice (a shared layer) is
written once, at the first path it is reached by.
"""

from __future__ import annotations

import warnings

from lamina.saving.saveable import KerasSaveable, attribute_order, check_stored_value
from lamina.utils.naming import to_snake_case


def _optimizer_class():
    from lamina.optimizers.optimizer import Optimizer  # noqa: PLC0415 - optimizers import layers

    return Optimizer


def _is_saveable(obj) -> bool:
    return isinstance(obj, (KerasSaveable, _optimizer_class()))


def _children(obj) -> list:
    if isinstance(obj, KerasSaveable):
        return obj._saveable_children()
    # An optimizer's children are the optimizers it holds (e.g. a loss-scale
    # optimizer's inner_optimizer), visited as Keras visits attributes.
    Optimizer = _optimizer_class()
    return [(n, v) for n, v in sorted(vars(obj).items(), key=lambda kv: attribute_order(kv[0]))
            if isinstance(v, Optimizer)]


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _visit_children(obj, path: str, visit) -> None:
    for attr, child in _children(obj):
        if _is_saveable(child):
            visit(child, _join(path, attr))
        elif isinstance(child, (list, tuple, dict)):
            _visit_container(child, _join(path, attr), visit, set())


def _visit_container(container, path: str, visit, seen_containers: set) -> None:
    if id(container) in seen_containers:
        return
    seen_containers.add(id(container))
    used: dict = {}
    items = list(container.values()) if isinstance(container, dict) else list(container)
    for item in items:
        if _is_saveable(item):
            visit(item, _join(path, _unique(to_snake_case(type(item).__name__), used)))
        elif isinstance(item, (list, tuple, dict)):
            _visit_container(item, _join(path, _unique("container", used)), visit,
                             seen_containers)


def saveable_paths(root) -> list[tuple[str, object]]:
    """``(path, object)`` for every saveable object reachable from ``root``, in the
    order they are written (the root's path is "")."""
    out, seen = [], set()

    def visit(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((path, obj))
        _visit_children(obj, path, visit)

    visit(root, "")
    return out


def save_state(root, writer) -> None:
    """Writes every saveable object's own variables into ``writer`` (an H5Writer)."""
    for path, obj in saveable_paths(root):
        name = obj.name if isinstance(getattr(obj, "name", None), str) else None
        obj.save_own_variables(writer.make(path, name))


def _check_optimizer_entry(optimizer, store, where: str) -> None:
    variables = optimizer.variables
    if len(store) == len(variables):
        for i, variable in enumerate(variables):
            check_stored_value(store[str(i)], variable, where)


def load_state(root, reader, skip_mismatch: bool = False) -> None:
    """Assigns every saveable object's own variables from ``reader`` (an H5Reader).

    Every entry is read and checked before anything is assigned, so a file that fails
    leaves the model as it was. A problem with an object's entry raises ValueError
    naming its path; with ``skip_mismatch`` the object is skipped with a warning
    instead, as Keras does. Objects with their own ``load_own_variables`` (custom
    hooks) are called after all checked values are assigned.
    """
    assignments, custom = [], []
    for path, obj in saveable_paths(root):
        store = reader.get(path)
        where = f"'{path or '/'}' ({type(obj).__name__} '{getattr(obj, 'name', '')}')"
        try:
            if isinstance(obj, _optimizer_class()):
                _check_optimizer_entry(obj, store, f"Optimizer variables at {where}")
                custom.append((obj, store, where))
            elif type(obj).load_own_variables is KerasSaveable.load_own_variables:
                assignments.extend(zip(obj._saveable_variables(), obj.checked_values(store)))
            else:
                custom.append((obj, store, where))
        except (ValueError, KeyError) as e:  # KeyError: the store lacks a variable's key
            _mismatch(e, where, skip_mismatch)
    for variable, value in assignments:
        variable.assign(value)
    for obj, store, where in custom:
        try:
            obj.load_own_variables(store)
        except (ValueError, KeyError) as e:
            _mismatch(e, where, skip_mismatch)


def _mismatch(error, where: str, skip_mismatch: bool) -> None:
    problem = error.args[0] if isinstance(error, KeyError) and error.args else error
    if not skip_mismatch:
        raise ValueError(f"Could not load the weights at {where}: {problem}") from error
    warnings.warn(f"Skipping loading weights at {where}: {problem}", stacklevel=3)
