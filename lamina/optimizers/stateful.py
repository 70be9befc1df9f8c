"""The Keras stateful shell over an optimizer's held state.

Keras optimizers are objects with variables (``iterations``, ``learning_rate``,
one slot per model variable and slot kind) that ``apply_gradients`` mutates.
lamina optimizers keep one state pytree instead (see ``optimizer.py``); this
mixin holds a current copy of it and presents its leaves as Variables, in the
order and with the paths Keras 3 uses, so ``optimizer.variables``,
``save_own_variables``/``load_own_variables`` and ``set_weights`` line up with
Keras's, and optimizer weights saved by either library load in the other.
"""

from __future__ import annotations

import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina.optimizers import schedules
from lamina.state import Variable


class StateVariable(Variable):
    """A Variable whose value is one leaf of an optimizer's held state.

    Reading gives the leaf; ``assign`` replaces it (without mutating any state
    dict handed out earlier). These are what ``optimizer.variables`` returns.
    """

    def __init__(self, optimizer, key: tuple, name: str, path: str):
        # The value lives in the optimizer, so Variable.__init__ (which stores one) is skipped.
        self._optimizer = optimizer
        self._key = key
        self.name = name
        self.path = path
        self.trainable = False
        self.autocast = False
        self.aggregation = "only_first_replica"
        self.synchronization = "auto"
        self.constraint = None
        self.regularizer = None
        self.overwrite_with_gradient = False

    @property
    def _value(self):
        return self._optimizer._read_leaf(self._key)

    @_value.setter
    def _value(self, value):
        self._optimizer._write_leaf(self._key, value)

    def __float__(self):
        return float(np.asarray(self.value))

    def __int__(self):
        return int(np.asarray(self.value))

    def __index__(self):
        return int(np.asarray(self.value))


class KerasStateMixin:
    """Keras's stateful optimizer API over ``self._state`` (mixed into Optimizer)."""

    # -- Keras-order flat view of the state --------------------------------------------
    def _keras_keys(self, state: dict | None = None) -> list[tuple[tuple, str, str]]:
        """``(key, name, path)`` of every state leaf, in ``keras.Optimizer.variables`` order."""
        state = self._state if state is None else state
        out = [(("iteration",), "iteration", f"{self.name}/iteration")]
        if self._schedule is None:
            out.append((("learning_rate",), "learning_rate", f"{self.name}/learning_rate"))
        if "slots" not in state:
            return out
        prefixes = self._slot_prefixes
        count = self._num_params(state)
        if len(prefixes) != count:
            # A state made by ``init`` on bare arrays: Keras names such slots "variable_<slot>".
            prefixes = ["variable"] * count

        def add(key, suffix, prefix):
            # None marks a slot Keras does not create (variables overwritten by their gradient).
            node = state
            for k in key:
                node = node[k]
            if node is not None:
                out.append((key, f"{prefix}_{suffix}", f"{self.name}/{prefix}_{suffix}"))

        for key in ("average", "gradient_accumulator"):
            if key in state:
                for i, prefix in enumerate(prefixes):
                    add((key, i), key, prefix)
        for group in self._slot_groups():
            for i, prefix in enumerate(prefixes):
                for slot in group:
                    value = state["slots"][slot][i]
                    if value is not None:
                        out.append((("slots", slot, i), *self._slot_name(slot, i, prefix, value)))
        for key, path, _ in self._global_slots():
            out.append((("globals", key), path, path))
        for view in self._custom_views:
            out.append((view._key, view.name, view.path))
        return out

    def _slot_name(self, slot: str, index: int, prefix: str, value) -> tuple[str, str]:
        """The Keras name and path of variable ``index``'s slot ``slot`` (holding ``value``)."""
        return f"{prefix}_{slot}", f"{self.name}/{prefix}_{slot}"

    @staticmethod
    def _num_params(state: dict) -> int:
        for key in ("average", "gradient_accumulator"):
            if key in state:
                return len(state[key])
        for values in state.get("slots", {}).values():
            return len(values)
        return 0

    def _read_leaf(self, key: tuple):
        node = self._state
        for k in key:
            node = node[k]
        return node

    def _write_leaf(self, key: tuple, value) -> None:
        # Copy along the path so state dicts handed out earlier stay unchanged.
        def replace(node, rest):
            head = rest[0]
            if len(rest) == 1:
                new = value
            else:
                new = replace(node[head], rest[1:])
            if isinstance(node, dict):
                out = dict(node)
            else:
                out = list(node)
            out[head] = new
            return out

        self._state = replace(self._state, key)

    def flatten_state(self, state: dict) -> list:
        """The leaves of ``state`` in ``optimizer.variables`` order (Keras's order)."""
        out = []
        for key, _, _ in self._keras_keys(state):
            node = state
            for k in key:
                node = node[k]
            out.append(node)
        return out

    def unflatten_state(self, values: list) -> dict:
        """A state built from arrays in ``optimizer.variables`` order (inverse of flatten_state)."""
        keys = self._keras_keys()
        if len(values) != len(keys):
            raise ValueError(f"Optimizer '{self.name}' expects {len(keys)} optimizer variables, "
                             f"received {len(values)}.")
        state = jax.tree.map(lambda x: x, self._state)
        for (key, _, _), value in zip(keys, values):
            node = state
            for k in key[:-1]:
                node = node[k]
            node[key[-1]] = value
        self._refresh_schedule_leaf(state)
        return state

    def _refresh_schedule_leaf(self, state: dict) -> None:
        # With a schedule the rate is not an optimizer variable; recompute the leaf.
        if self._schedule is not None:
            state["learning_rate"] = jnp.asarray(self._schedule(state["iteration"]), jnp.float32)

    # -- Keras stateful API ----------------------------------------------------------
    @property
    def state(self) -> dict:
        """The held state pytree (treat as immutable; set a new one to replace it)."""
        return self._state

    @state.setter
    def state(self, value: dict) -> None:
        if not isinstance(value, dict) or "iteration" not in value:
            raise TypeError(f"Optimizer '{self.name}': expected a state dict from `init`/`apply`, "
                            f"received {type(value).__name__}.")
        self._state = value

    def build(self, variables) -> None:
        """Creates the slots for ``variables`` (a list of Variables) and holds the state."""
        if self.built:
            return
        values = self._track_variables(variables)
        self._custom_initial, self._custom_views = [], []
        state = self.init(values)
        state["iteration"] = self._state["iteration"]
        state["learning_rate"] = self._state["learning_rate"]
        self._state = state
        self._variable_views = None
        self.built = True

    def _track_variables(self, variables) -> list:
        """Records what ``build`` needs of ``variables`` (index, names, masks,
        constraints) and returns their values."""
        variables = list(variables)
        self._trainable_variables = variables
        self._var_index = {id(v): i for i, v in enumerate(variables)}
        # Keras names a variable's slots after its path, e.g. "dense_kernel_momentum".
        self._slot_prefixes = [
            str(getattr(v, "path", None) or getattr(v, "name", None) or "variable")
            .replace("/", "_").replace(":", "_") for v in variables]
        self._var_names = [str(getattr(v, "name", None) or "variable") for v in variables]
        self._decay_mask = [self._use_weight_decay(v) for v in variables]
        self._overwrite_mask = [bool(getattr(v, "overwrite_with_gradient", False))
                                for v in variables]
        self._constraints = [getattr(v, "constraint", None) for v in variables]
        return [v.value if isinstance(v, Variable) else jnp.asarray(v) for v in variables]

    @property
    def variables(self) -> list[StateVariable]:
        """Views of the state's arrays, in Keras's order and with Keras's paths."""
        if self._variable_views is None or len(self._variable_views) != len(self._keras_keys()):
            # A subclass's own variables keep their identity (it holds them in lists).
            custom = {view._key: view for view in self._custom_views}
            self._variable_views = [custom[key] if key in custom
                                    else StateVariable(self, key, name, path)
                                    for key, name, path in self._keras_keys()]
        return list(self._variable_views)

    @property
    def iterations(self):
        """The number of update steps taken (calls / accumulation steps with accumulation)."""
        raw = self._view("iteration")
        if self.gradient_accumulation_steps:
            return raw.value // self.gradient_accumulation_steps
        return raw

    def _view(self, name: str) -> StateVariable:
        for var in self.variables:
            if var._key == (name,):
                return var
        raise KeyError(name)

    @property
    def learning_rate(self):
        """The current learning rate: a Variable, or with a schedule its value at this iteration."""
        if self._schedule is not None:
            return self._schedule(self._state["iteration"])
        return self._view("learning_rate")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, schedules.LearningRateSchedule):
            # The schedule is part of the traced step, so cached traces are dropped.
            self._schedule = value
            self._jitted_apply = None
            self._variable_views = None
            self._write_leaf(("learning_rate",),
                             jnp.asarray(value(self._state["iteration"]), jnp.float32))
            return
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument.")
        value = value.value if isinstance(value, Variable) else value
        self._write_leaf(("learning_rate",), jnp.asarray(value, jnp.float32).reshape(()))

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Excludes variables (by object, or by any of ``var_names`` found in their name)
        from weight decay. Must be called before the optimizer is built."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None and re.search(
                self._exclude_pattern, getattr(variable, "name", "")) is not None:
            return False
        return True

    def _compiled_apply(self):
        if self._jitted_apply is None:
            self._jitted_apply = jax.jit(self._apply_pure)
        return self._jitted_apply

    def apply_gradients(self, grads_and_vars):
        """Applies ``(gradient, variable)`` pairs, assigning the new values to the variables.

        Builds the optimizer on the given variables at the first call. Returns
        ``iterations``.
        """
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        return self._apply_stateful(grads, variables)

    def _apply_stateful(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return self.iterations
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    f"Optimizer '{self.name}' tracks {len(self._trainable_variables)} variables "
                    f"but received {len(grads)} gradients.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        full = [None] * len(self._trainable_variables)
        for g, v in zip(grads, trainable_variables):
            index = self._var_index.get(id(v))
            if index is None:
                raise ValueError(
                    f"Unknown variable: {getattr(v, 'path', v)}. This optimizer can only be "
                    "called for the variables it was originally built with.")
            full[index] = None if g is None else jnp.asarray(g)
        params = [v.value for v in self._trainable_variables]
        new_params, self._state = self._compiled_apply()(self._state, full, params)
        # Variables without a gradient come back unchanged unless EMA overwrote them.
        for var, value in zip(self._trainable_variables, new_params):
            var.assign(value)
        return self.iterations

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """Keras's stateless form: lists of arrays in and out, in ``variables`` order.

        Returns ``(new_trainable_values, new_optimizer_values)``.
        """
        if not self.built:
            raise ValueError(f"To call `stateless_apply`, {type(self).__name__} must be built. "
                             "You can build it via `optimizer.build(trainable_variables)`.")
        state = self.unflatten_state(list(optimizer_variables))
        new_params, new_state = self._apply_pure(state, grads, trainable_variables)
        return new_params, self.flatten_state(new_state)

    def scale_loss(self, loss, state: dict | None = None):
        """Multiplies the loss by ``loss_scale_factor`` when one is set.

        ``state`` (the optimizer state inside a pure step) matters only for
        optimizers whose scale lives in the state (LossScaleOptimizer).
        """
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def finalize_variable_values(self, var_list) -> None:
        """With ``use_ema``, replaces the variables' values by their moving averages."""
        if not self.use_ema:
            return
        var_list = list(var_list)
        averages = self._state.get("average", [])
        if len(var_list) != len(averages):
            raise ValueError(f"The length of model variables ({len(var_list)}) to override does "
                             "not match the length of model variables stored in the optimizer "
                             f"({len(averages)}).")
        for var, avg in zip(var_list, averages):
            var.assign(avg)

    def set_weights(self, weights) -> None:
        """Sets the optimizer's variables from a list of arrays, in ``variables`` order."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet "
                             "been built. Call `optimizer.build(trainable_variables)` first.")
        for var, weight in zip(self.variables, weights):
            if tuple(np.shape(weight)) != var.shape:
                raise ValueError(f"Optimizer variable {var.path} has shape {var.shape} not "
                                 f"compatible with provided weight shape {np.shape(weight)}.")
            var.assign(weight)

    def get_weights(self) -> list[np.ndarray]:
        """The optimizer's variables as NumPy arrays, in ``variables`` order."""
        return [np.asarray(v.value) for v in self.variables]

    def save_own_variables(self, store) -> None:
        """Writes the variables into ``store`` under keys "0", "1", ... (Keras's layout)."""
        for i, var in enumerate(self.variables):
            store[str(i)] = np.asarray(var.value)

    def load_own_variables(self, store) -> None:
        """Reads the variables back from a store written by :meth:`save_own_variables`."""
        variables = self.variables
        if len(store.keys()) != len(variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has "
                   f"{len(variables)} variables whereas the saved optimizer has "
                   f"{len(store.keys())} variables. ")
            if len(variables) <= 2 and not self.built:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        for i, var in enumerate(variables):
            var.assign(np.asarray(store[str(i)]))
