"""What a layer contributes to a weights file: its own variables and its children.

Keras 3 writes a model's state by walking it: every saveable object (a layer, a
model, an optimizer) writes its own variables under ``<path>/vars`` as datasets
"0".."n-1" (:meth:`KerasSaveable.save_own_variables`), then its children are
walked at ``<path>/<attribute name>``: attributes holding a layer or an optimizer,
and lists/tuples/dicts of them (see :mod:`lamina.saving.weights_walk`). The default
children are the object's attributes holding such values, public names first then
private ones, each sorted, as Keras visits them; a class whose attributes differ
from Keras's declares its children by overriding :meth:`_saveable_children`.
"""

from __future__ import annotations

import numpy as np


def attribute_order(name: str) -> str:
    """The sort key Keras visits attributes by: public names first, then private."""
    return f"~{name}" if name.startswith("_") else name


def check_stored_value(value, variable, where: str) -> np.ndarray:
    """``value`` as an array after checking it against ``variable``'s shape and dtype
    (ValueError naming ``where``, the expected and the received shape/dtype)."""
    value = np.asarray(value)
    if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(f"{where}: the stored weight has shape {tuple(value.shape)}, but "
                         f"variable '{variable.path}' expects shape {tuple(variable.shape)}.")
    expected = _kind(variable.dtype)
    if _kind(value.dtype) != expected:
        raise ValueError(f"{where}: the stored weight has dtype {value.dtype}, but variable "
                         f"'{variable.path}' has dtype {variable.dtype}.")
    return value


def _kind(dtype) -> str:
    """"f" (any float width, bfloat16 included), "i", "u", "b" or "c": stored values may
    differ from their variable in width (they are cast on assignment), not in kind."""
    name = str(dtype)
    return "f" if "float" in name else np.dtype(name).kind


class KerasSaveable:
    """Keras's saving hooks, mixed into Layer (and so into Model)."""

    # Attributes the default walk never visits: lamina's bookkeeping of sublayers.
    _not_saved_attributes = frozenset({"_layers"})

    def _saveable_variables(self) -> list:
        """The variables this object writes itself, in Keras's order for its class:
        trainable then non-trainable, each in creation order. State Keras does not
        have is left out by overriding this."""
        return list(self._trainable_variables) + list(self._non_trainable_variables)

    def save_own_variables(self, store) -> None:
        """Writes this object's own variables into ``store`` under "0", "1", ...

        Override (with :meth:`load_own_variables`) to take control of how the
        layer's state is written.
        """
        for i, variable in enumerate(self._saveable_variables()):
            store[str(i)] = np.asarray(variable.value)

    def load_own_variables(self, store) -> None:
        """Assigns this object's own variables from ``store`` (as written by
        :meth:`save_own_variables`), checking their number, shapes and dtypes."""
        for variable, value in zip(self._saveable_variables(), self.checked_values(store)):
            variable.assign(value)

    def checked_values(self, store) -> list:
        """The values :meth:`load_own_variables` would assign from ``store``, checked
        against this object's variables (ValueError on any mismatch); assigns nothing."""
        variables = self._saveable_variables()
        if len(store.keys()) != len(variables):
            if not variables and not self.built:
                raise ValueError(
                    f"Layer '{self.name}' was never built and thus has no variables, but "
                    f"the weights file lists {len(store.keys())} variables for it.")
            raise ValueError(
                f"Layer '{self.name}' expected {len(variables)} variables, but received "
                f"{len(store.keys())} variables during loading. Expected: "
                f"{[v.path for v in variables]}")
        return [check_stored_value(store[str(i)], v, f"Layer '{self.name}'")
                for i, v in enumerate(variables)]

    def save_assets(self, dir_path: str) -> None:
        """Writes files this object needs besides its variables (e.g. a vocabulary) into
        the folder ``dir_path``; they travel in the ``.keras`` archive under
        ``assets/<path>``. Nothing by default."""

    def load_assets(self, dir_path: str) -> None:
        """Reads back what :meth:`save_assets` wrote into ``dir_path``. Called only when
        the archive holds assets for this object."""

    def _serialized_extras(self) -> dict:
        """Keys Keras adds to this object's ``serialize_keras_object`` record (a model's
        ``compile_config``, ...); none for ordinary layers."""
        return {}

    def _saveable_children(self) -> list[tuple[str, object]]:
        """``(attribute name, value)`` pairs the weights walk visits, in Keras's order.

        The default: attributes holding a layer, an optimizer, or a list/tuple/dict
        (containers are searched for saveables by the walk), public names first.
        """
        names = sorted((n for n in vars(self) if n not in self._not_saved_attributes),
                       key=attribute_order)
        return [(n, vars(self)[n]) for n in names]


class StatelessPart(KerasSaveable):
    """A child Keras has as a sublayer without variables where lamina computes the
    same thing inline (e.g. MultiHeadAttention's softmax): written as an empty
    ``vars`` group named ``name``, so files have Keras's layout."""

    built = True

    def __init__(self, name: str):
        self.name = name
        self._trainable_variables = []
        self._non_trainable_variables = []

    def _saveable_children(self) -> list:
        return []
