"""Dynamic loss scaling, as ``keras.optimizers.LossScaleOptimizer``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer
from lamina.saving import serialization

_BASE_DEFAULTS = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
    "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


class LossScaleOptimizer(Optimizer):
    """Wraps an optimizer with a dynamic loss scale (for float16 training).

    The loss is multiplied by the scale before differentiation
    (``scale_loss``); ``apply`` divides the gradients by it and, if they are all
    finite, applies the inner optimizer and doubles the scale after every
    ``dynamic_growth_steps`` finite steps. A step with a non-finite gradient
    halves the scale and leaves variables and the inner optimizer untouched.

    The state is ``{"iteration", "learning_rate"`` (the wrapper's own, which
    Keras keeps at 0), ``"step_counter", "dynamic_scale", "inner"}`` with the
    inner optimizer's state under ``"inner"``; ``learning_rate`` and
    ``iterations`` read and write the inner optimizer's.

    Args:
        inner_optimizer: the optimizer to wrap.
        initial_scale: the starting loss scale.
        dynamic_growth_steps: the number of finite steps after which the scale doubles.
        name: the optimizer's name.
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale=2.0**15,
                 dynamic_growth_steps=2000, name: str | None = None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "simply set `loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set "
                                 f"`{arg}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError("`inner_optimizer` must be a lamina Optimizer, received "
                            f"{type(inner_optimizer).__name__}.")
        self.inner_optimizer = inner_optimizer
        super().__init__(learning_rate=0.0, name=name)
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None

    # The inner optimizer holds its own state; this wrapper's view of it is live.
    @property
    def _state(self) -> dict:
        return {**self.__dict__["_own_state"], "inner": self.inner_optimizer._state}

    @_state.setter
    def _state(self, value: dict) -> None:
        value = dict(value)
        inner = value.pop("inner", None)
        self.__dict__["_own_state"] = value
        if inner is not None:
            self.inner_optimizer._state = inner

    def _own_entries(self, state: dict) -> list[str]:
        return [k for k in ("iteration", "learning_rate", "step_counter", "dynamic_scale")
                if k in state]

    def _keras_keys(self, state: dict | None = None):
        state = self._state if state is None else state
        own = [((k,), k, f"{self.name}/{k}") for k in self._own_entries(state)]
        inner = [(("inner",) + key, name, path) for key, name, path
                 in self.inner_optimizer._keras_keys(state["inner"])]
        return own + inner

    def _refresh_schedule_leaf(self, state: dict) -> None:
        self.inner_optimizer._refresh_schedule_leaf(state["inner"])

    def build(self, variables) -> None:
        """Builds the inner optimizer and creates the step counter and the scale."""
        if self.built:
            return
        variables = list(variables)
        self.inner_optimizer.build(variables)
        self._trainable_variables = variables
        self._var_index = {id(v): i for i, v in enumerate(variables)}
        self._overwrite_mask = [bool(getattr(v, "overwrite_with_gradient", False))
                                for v in variables]
        self.__dict__["_own_state"] = {**self.__dict__["_own_state"],
                                       "step_counter": jnp.zeros((), jnp.int32),
                                       "dynamic_scale": jnp.asarray(self.initial_scale,
                                                                    jnp.float32)}
        self._variable_views = None
        self.built = True

    def init(self, params) -> dict:
        return {"iteration": jnp.zeros((), jnp.int32),
                "learning_rate": jnp.zeros((), jnp.float32),
                "step_counter": jnp.zeros((), jnp.int32),
                "dynamic_scale": jnp.asarray(self.initial_scale, jnp.float32),
                "inner": self.inner_optimizer.init(params)}

    def _apply_pure(self, state: dict, grads, params) -> tuple[list, dict]:
        grads, params = list(grads), list(params)
        present = [g for g in grads if g is not None]
        if not present:
            raise ValueError("No gradients provided for any variable.")
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in present]))
        scale = state["dynamic_scale"]
        overwrite = self._mask(self._overwrite_mask, len(params), False)
        unscaled = [g if g is None or skip else g / scale for g, skip in zip(grads, overwrite)]
        stepped, inner = self.inner_optimizer._apply_pure(state["inner"], unscaled, params)
        grow = state["step_counter"] == self.dynamic_growth_steps - 1
        counter = jnp.where(finite & ~grow, state["step_counter"] + 1, 0)
        new_scale = jnp.where(finite, jnp.where(grow, scale * 2.0, scale), scale * 0.5)
        new_params = [jnp.where(finite, a, b) for a, b in zip(stepped, params)]
        inner = jax.tree.map(lambda a, b: jnp.where(finite, a, b), inner, state["inner"])
        new_state = {**state, "step_counter": counter.astype(jnp.int32),
                     "dynamic_scale": new_scale.astype(jnp.float32), "inner": inner}
        return new_params, new_state

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value
        # A new schedule changes the inner step, which this wrapper's trace includes.
        self._jitted_apply = None

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def dynamic_scale(self):
        """The current loss scale (a Variable view; ``initial_scale`` until built)."""
        return self._view("dynamic_scale") if self.built else self.initial_scale

    @property
    def step_counter(self):
        """Finite steps since the scale last changed (a Variable view once built)."""
        return self._view("step_counter") if self.built else 0

    def scale_loss(self, loss, state: dict | None = None):
        """Multiplies the loss by the dynamic scale: the one in ``state`` when given
        (inside a pure step), else the held one."""
        if state is not None:
            return loss * state["dynamic_scale"]
        scale = self._state["dynamic_scale"] if self.built else self.initial_scale
        return loss * scale

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self) -> dict:
        return {"name": self.name,
                "inner_optimizer": serialization.serialize_keras_object(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Any:
        config = dict(config)
        inner = serialization.deserialize_keras_object(config.pop("inner_optimizer"),
                                                       custom_objects=custom_objects)
        return cls(inner, **config)
