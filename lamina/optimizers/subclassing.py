"""Keras's API for optimizers written as subclasses.

A Keras custom optimizer creates its variables in ``build`` with
``add_variable``/``add_variable_from_reference``/``add_optimizer_variables``
and updates them in ``update_step(gradient, variable, learning_rate)`` with
``assign``/``assign_add``/``assign_sub``. lamina keeps those variables as
leaves of the state pytree (key ``"custom"``) and runs ``update_step`` inside a
stateless scope that maps every variable to its (possibly traced) value, so the
same subclass works in the pure, jitted ``apply``.
"""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.optimizers.stateful import StateVariable
from lamina.state import StatelessScope


class KerasSubclassingMixin:
    """``add_variable*``, ``assign*`` and ``update_step`` for Keras-style subclasses.

    Expects the attributes the Optimizer base class defines (``_state``,
    ``_trainable_variables``, ``_var_index``, ``_overwrite_mask``).
    """

    def update_step(self, gradient, variable, learning_rate):
        """Updates one variable from its gradient (override in a Keras-style subclass)."""
        raise NotImplementedError(
            f"{type(self).__name__} must override `update_step(gradient, variable, "
            "learning_rate)`.")

    def _uses_update_step(self) -> bool:
        return type(self).update_step is not KerasSubclassingMixin.update_step

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     layout=None, name=None) -> StateVariable:
        """Creates an optimizer variable (a leaf of the state) and returns it.

        Args:
            shape: the variable's shape.
            initializer: an initializer name, instance or callable ``(shape, dtype)``.
            dtype: the variable's dtype (default floatx).
            name: the variable's name; its path is ``"<optimizer name>/<name>"``.
        """
        from lamina import initializers  # initializers are not needed until a subclass is built

        del aggregation, layout
        dtype = dtypes.standardize(dtype or dtypes.floatx())
        value = jnp.asarray(initializers.get(initializer)(tuple(shape), dtype=dtype), dtype)
        name = name or "variable"
        custom = list(self._state.get("custom", []))
        view = StateVariable(self, ("custom", len(custom)), name, f"{self.name}/{name}")
        custom.append(value)
        self._state = {**self._state, "custom": custom}
        self._custom_initial.append(value)
        self._custom_views.append(view)
        self._variable_views = None
        return view

    def add_variable_from_reference(self, reference_variable, name=None,
                                    initializer="zeros") -> StateVariable:
        """A variable shaped like ``reference_variable``, named ``"<its path>_<name>"``."""
        prefix = str(getattr(reference_variable, "path", None) or reference_variable.name)
        return self.add_variable(shape=reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype,
                                 name=f"{prefix.replace('/', '_')}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One variable per trainable variable and name, interleaved as Keras creates them.

        Returns a list (one name) or a tuple of lists (several names); variables
        overwritten by their gradient get None.
        """
        names = [name] if isinstance(name, str) else list(name)
        inits = (initializer if isinstance(initializer, (list, tuple))
                 else [initializer] * len(names))
        if len(inits) != len(names):
            raise ValueError("The number of provided names must match the number of provided "
                             f"initializers. Received name='{name}', initializer='{initializer}'")
        out = tuple([] for _ in names)
        for variable in trainable_variables:
            skip = bool(getattr(variable, "overwrite_with_gradient", False))
            for i, (slot, init) in enumerate(zip(names, inits)):
                out[i].append(None if skip else self.add_variable_from_reference(
                    variable, name=slot, initializer=init))
        return out[0] if isinstance(name, str) else out

    def assign(self, variable, value) -> None:
        variable.assign(value)

    def assign_add(self, variable, value) -> None:
        variable.assign(variable.value + value)

    def assign_sub(self, variable, value) -> None:
        variable.assign(variable.value - value)

    def _get_variable_index(self, variable) -> int:
        return self._var_index[id(variable)]

    def _run_update_steps(self, grads: list, params: list, indices: list[int], state: dict,
                          lr) -> tuple[list, list]:
        """Runs ``update_step`` on the variables at ``indices`` with values from ``params``
        and ``state``; returns their new values and the new custom leaves."""
        if not self.built or len(self._trainable_variables) <= max(indices, default=-1):
            raise ValueError(
                f"Optimizer '{self.name}' defines `update_step`, so it must be built on the "
                "model's variables (`optimizer.build(variables)`) before `apply`.")
        variables = [self._trainable_variables[i] for i in indices]
        custom = list(state.get("custom", []))
        mapping = (list(zip(variables, params)) + list(zip(self._custom_views, custom))
                   + [(self._view("iteration"), state["iteration"])])
        with StatelessScope(state_mapping=mapping, isolated=True) as scope:
            for grad, variable in zip(grads, variables):
                self.update_step(grad, variable, lr)
            new_params = [scope.get(v) for v in variables]
            new_custom = [scope.get(v) for v in self._custom_views]
        return new_params, new_custom
