"""Different optimizers for different variables: ``OptimizerMap`` and ``MultiOptimizer``
(``keras.optimizers.OptimizerMap``/``MultiOptimizer``)."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

import jax.numpy as jnp

from lamina.optimizers.loss_scale import LossScaleOptimizer
from lamina.optimizers.optimizer import Optimizer
from lamina.saving import serialization


class OptimizerMap(MutableMapping):
    """Maps variable paths (or regular expressions over them) to optimizers.

    ``optimizer_map[path]`` is the optimizer stored under ``path``, else the one whose
    key fully matches ``path`` as a regular expression (``"encoder/.*"``), else
    ``default_optimizer``. Calling the map on a variable looks up its ``path``.

    Args:
        default_optimizer: the optimizer of variables no key matches.
        optimizer_map: an optional dict of initial entries.

    Raises:
        TypeError: ``default_optimizer`` is not an Optimizer or ``optimizer_map`` not a
            dict.
    """

    _keras_module = "keras.optimizers"

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("default_optimizer must be a lamina Optimizer instance. Received: "
                            f"{default_optimizer!r}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map!r}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer for ``key`` (exact key, else the one regex key that fully
        matches, else the default).

        Raises:
            ValueError: several regex keys match.
        """
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key: str, optimizer) -> None:
        """Assigns ``optimizer`` to a path or regular expression.

        Raises:
            ValueError: the key exists already or is not a string, or the optimizer is
                not an Optimizer, or is a LossScaleOptimizer or MultiOptimizer.
        """
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value "
                             f"{self._optimizer_map[key]}. Please make sure to not use "
                             "duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key!r}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a lamina Optimizer instance. Received: "
                             f"{optimizer!r}")
        if isinstance(optimizer, LossScaleOptimizer):
            raise ValueError("optimizer cannot be LossScaleOptimizer.")
        if isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer cannot be MultiOptimizer.")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict:
        return {"default_optimizer": serialization.serialize_keras_object(
                    self._default_optimizer),
                "optimizer_map": serialization.serialize_keras_object(self._optimizer_map)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        default = serialization.deserialize_keras_object(config["default_optimizer"],
                                                         custom_objects=custom_objects)
        entries = {key: serialization.deserialize_keras_object(value,
                                                              custom_objects=custom_objects)
                   for key, value in (config.get("optimizer_map") or {}).items()}
        return cls(default, entries)


class MultiOptimizer(Optimizer):
    """Delegates each variable to the optimizer ``optimizer_map`` chooses for it.

    The state is ``{"iteration", "learning_rate"`` (the wrapper's own; Keras keeps
    the rate at 0), ``"inner"}`` with one state per inner optimizer under
    ``"inner"``; ``variables`` are the wrapper's two followed by each inner
    optimizer's, as in Keras. The wrapper has no learning rate of its own: reading
    or setting ``learning_rate`` raises AttributeError (set it on
    ``optimizers[i]``).

    Args:
        optimizer_map: an :class:`OptimizerMap`, or a callable returning the optimizer
            of a variable.
        loss_scale_factor: set on every inner optimizer (overriding theirs).
        name: the optimizer's name.

    Raises:
        ValueError: at build, the map gives something that is not an Optimizer, or a
            LossScaleOptimizer or MultiOptimizer.
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name: str | None = None):
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        candidates = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        if default is not None:
            candidates.append(default)
        for opt in candidates:
            self._add_inner(opt)
        self._assignment: list[tuple[int, int]] = []

    def _add_inner(self, opt: Optimizer) -> int:
        for i, known in enumerate(self._inner_optimizers):
            if known is opt:
                return i
        opt.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(opt)
        return len(self._inner_optimizers) - 1

    # The inner optimizers hold their own states; this wrapper's view of them is live.
    @property
    def _state(self) -> dict:
        return {**self.__dict__["_own_state"],
                "inner": [opt._state for opt in self.__dict__.get("_inner_optimizers", [])]}

    @_state.setter
    def _state(self, value: dict) -> None:
        value = dict(value)
        inner = value.pop("inner", None)
        self.__dict__["_own_state"] = value
        if inner is not None:
            for opt, state in zip(self._inner_optimizers, inner):
                opt._state = state

    @property
    def optimizers(self) -> list[Optimizer]:
        """The inner optimizers."""
        return self._inner_optimizers

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value) -> None:
        self.__dict__["_loss_scale_factor"] = value
        for opt in self.__dict__.get("_inner_optimizers", []):
            opt.loss_scale_factor = value

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the "
                             "learning rate on the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning "
                             "rate on the individual sub-optimizers instead.")

    def _keras_keys(self, state: dict | None = None):
        state = self._state if state is None else state
        own = [((k,), k, f"{self.name}/{k}") for k in ("iteration", "learning_rate")]
        for i, opt in enumerate(self._inner_optimizers):
            own += [(("inner", i) + key, name, path)
                    for key, name, path in opt._keras_keys(state["inner"][i])]
        return own

    def _refresh_schedule_leaf(self, state: dict) -> None:
        for opt, inner in zip(self._inner_optimizers, state["inner"]):
            opt._refresh_schedule_leaf(inner)

    def build(self, variables) -> None:
        """Assigns every variable to its optimizer and builds each inner optimizer on its
        variables."""
        if self.built:
            return
        variables = list(variables)
        groups: list[list] = [[] for _ in self._inner_optimizers]
        assignment = []
        for var in variables:
            opt = self._optimizer_map(var)
            if not isinstance(opt, Optimizer):
                raise ValueError(f"Optimizer for variable {getattr(var, 'path', var)} is not an "
                                 "Optimizer instance.")
            if isinstance(opt, LossScaleOptimizer):
                raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")
            if isinstance(opt, MultiOptimizer):
                raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
            index = self._add_inner(opt)
            if index == len(groups):
                groups.append([])
            assignment.append((index, len(groups[index])))
            groups[index].append(var)
        for opt, group in zip(self._inner_optimizers, groups):
            if group:
                opt.build(group)
        self._assignment = assignment
        self._trainable_variables = variables
        self._var_index = {id(v): i for i, v in enumerate(variables)}
        self._overwrite_mask = None
        self._variable_views = None
        self.built = True

    def init(self, params) -> dict:
        params = list(params)
        groups = self._split(params)
        return {"iteration": jnp.zeros((), jnp.int32),
                "learning_rate": jnp.zeros((), jnp.float32),
                "inner": [opt.init(group) for opt, group in zip(self._inner_optimizers, groups)]}

    def _split(self, values: list) -> list[list]:
        if len(self._assignment) != len(values):
            raise ValueError("MultiOptimizer must be built on the variables before it is used "
                             f"(expected {len(self._assignment)} values, received "
                             f"{len(values)}). Call `optimizer.build(trainable_variables)`.")
        groups: list[list] = [[] for _ in self._inner_optimizers]
        for value, (index, _) in zip(values, self._assignment):
            groups[index].append(value)
        return groups

    def _apply_pure(self, state: dict, grads, params) -> tuple[list, dict]:
        grads, params = list(grads), list(params)
        if len(grads) != len(params):
            raise ValueError("Gradients must match trainable variables one-to-one. Received "
                             f"{len(grads)} gradients and {len(params)} variables.")
        grad_groups, param_groups = self._split(grads), self._split(params)
        inner_states = list(state["inner"])
        new_groups = list(param_groups)
        for i, opt in enumerate(self._inner_optimizers):
            if any(g is not None for g in grad_groups[i]):
                new_groups[i], inner_states[i] = opt._apply_pure(inner_states[i], grad_groups[i],
                                                                 param_groups[i])
        new_params = [new_groups[index][position] for index, position in self._assignment]
        return new_params, {**state, "iteration": state["iteration"] + 1,
                            "inner": inner_states}

    @property
    def iterations(self):
        return self._view("iteration")

    def finalize_variable_values(self, var_list) -> None:
        var_list = list(var_list)
        by_id = {id(v): i for i, v in enumerate(self._trainable_variables)}
        groups: list[list] = [[] for _ in self._inner_optimizers]
        for var in var_list:
            groups[self._assignment[by_id[id(var)]][0]].append(var)
        for opt, group in zip(self._inner_optimizers, groups):
            if group:
                opt.finalize_variable_values(group)

    def get_config(self) -> dict:
        return {"optimizer_map": serialization.serialize_keras_object(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Any:
        config = dict(config)
        config["optimizer_map"] = serialization.deserialize_keras_object(
            config["optimizer_map"], custom_objects=custom_objects)
        return cls(**config)
