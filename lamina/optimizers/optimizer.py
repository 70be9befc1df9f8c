"""The optimizer base class: a pure, jittable update plus a Keras-style stateful shell.

An optimizer's whole state is one pytree (a dict)::

    {"iteration": int32 scalar,        # calls to apply so far (Keras's ``iteration``)
     "learning_rate": float32 scalar,  # the rate the next step uses
     "slots": {slot_name: [array per parameter]},
     "globals": {name: scalar},        # optimizer-wide slots (Nadam's u_product)
     "average": [...],                 # only with use_ema=True
     "gradient_accumulator": [...]}    # only with gradient_accumulation_steps

``opt.init(params)`` makes that pytree and ``opt.apply(state, grads, params)``
returns ``(new_params, new_state)`` without touching any Python object, so a
train step can jit it. The learning rate lives in the state, so assigning a new
rate between steps does not change the traced function. With a
``LearningRateSchedule`` the rate is computed from ``iteration`` inside the step
and the leaf holds the rate of the next step.

The object also holds a current state for the Keras API (``build``,
``apply_gradients``, ``variables``, ``iterations``, ``learning_rate``);
``opt.variables`` lists views of the state's arrays in the order and with the
paths Keras 3 gives them, so optimizer weights saved by either library load
in the other.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lamina.optimizers import schedules, transforms
from lamina.optimizers.stateful import KerasStateMixin, StateVariable
from lamina.optimizers.subclassing import KerasSubclassingMixin
from lamina.saving import serialization
from lamina.utils import naming

__all__ = ["Optimizer", "StateVariable"]


def _is_real_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


class Optimizer(KerasStateMixin, KerasSubclassingMixin):
    """Base class of lamina optimizers (``keras.optimizers.Optimizer``).

    Args:
        learning_rate: a float, or a ``LearningRateSchedule`` called with the
            iteration count.
        weight_decay: if set, each step first shrinks variables by
            ``variable * weight_decay * learning_rate`` (decoupled decay).
        clipnorm: if set, each gradient is rescaled so its L2 norm is at most this.
        clipvalue: if set, gradients are clipped elementwise to ``[-clipvalue, clipvalue]``.
        global_clipnorm: if set, all gradients are rescaled together so their
            joint L2 norm is at most this.
        use_ema: whether to keep an exponential moving average of the variables.
        ema_momentum: the momentum of that average.
        ema_overwrite_frequency: every this many iterations the variables are
            replaced by their moving average (None: never during training).
        loss_scale_factor: the factor the loss was multiplied by; gradients are
            divided by it before use.
        gradient_accumulation_steps: if set (>= 2), gradients are accumulated
            and the variables updated with their mean every this many calls.
        name: the optimizer's name (default: the snake-cased class name, made unique).
    """

    _keras_module = "keras.optimizers"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name if name is not None else naming.uniquify(
            naming.to_snake_case(type(self).__name__))
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}")
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps

        self._schedule: schedules.LearningRateSchedule | None = None
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule = learning_rate
            initial_lr = learning_rate(0)
        elif _is_real_number(learning_rate):
            initial_lr = float(learning_rate)
        elif callable(learning_rate):
            raise NotImplementedError(
                "A callable `learning_rate` that is not a LearningRateSchedule is not supported "
                "by lamina: subclass `lamina.optimizers.schedules.LearningRateSchedule` instead.")
        else:
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of "
                f"LearningRateSchedule. Received instead: learning_rate={learning_rate}")

        self.built = False
        self._trainable_variables: list = []
        self._var_index: dict[int, int] = {}
        self._exclude_ids: set[int] = set()
        self._exclude_pattern = None
        self._decay_mask: list[bool] | None = None
        self._overwrite_mask: list[bool] | None = None
        self._constraints: list | None = None
        # Variables a Keras-style subclass creates in build() (state key "custom").
        self._custom_initial: list = []
        self._custom_views: list[StateVariable] = []
        self._slot_prefixes: list[str] = []
        self._var_names: list[str] = []
        self._variable_views: list[StateVariable] | None = None
        self._jitted_apply = None
        with jax.ensure_compile_time_eval():
            self._state: dict = {"iteration": jnp.zeros((), jnp.int32),
                                 "learning_rate": jnp.asarray(initial_lr, jnp.float32)}

    # -- what subclasses define ---------------------------------------------------
    def _slot_groups(self) -> list[tuple[str, ...]]:
        """Slot names, grouped as Keras creates them: within a group the slots of
        one variable are adjacent; groups follow each other."""
        return []

    def _slot_initial_value(self, slot: str) -> float:
        return 0.0

    def _slot_spec(self, slot: str, param) -> tuple[tuple, Any, float]:
        """``(shape, dtype, fill)`` of ``param``'s slot ``slot`` (default: like the param)."""
        return tuple(param.shape), param.dtype, self._slot_initial_value(slot)

    def _global_slots(self) -> list[tuple[str, str, float]]:
        """Optimizer-wide scalars: ``(key, keras_path, initial_value)``."""
        return []

    def _update_globals(self, global_slots: dict, iteration) -> dict:
        """The optimizer-wide scalars for this step, computed before the per-variable updates."""
        return global_slots

    def _update_param(self, grad, param, slots: dict, lr, iteration, global_slots: dict):
        """One variable's update: returns ``(delta, new_slots)``.

        ``param + delta`` is the new value; ``iteration`` is Keras's
        ``optimizer.iterations`` before the increment.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override `update_step(gradient, variable, "
            "learning_rate)` (Keras style) or `_update_param`.")

    # -- optax form ---------------------------------------------------------------
    def update_rule(self) -> optax.GradientTransformationExtraArgs:
        """This optimizer's per-variable rule as an optax transformation.

        Its state is ``{"slots": ..., "globals": ...}``; ``update`` takes the
        (already clipped) gradients, the state and the parameters, plus the
        keyword arguments ``learning_rate`` and ``iteration``, and returns the
        parameter deltas and the new state.
        """

        def init(params):
            return {"slots": self._init_slots(list(params)),
                    "globals": {k: jnp.asarray(v, jnp.float32) for k, _, v in self._global_slots()}}

        def update(updates, state, params=None, *, learning_rate, iteration, **extra):
            del extra
            global_slots = self._update_globals(state["globals"], iteration)
            deltas, new_slots = [], {name: [] for name in state["slots"]}
            for i, (g, p) in enumerate(zip(updates, params)):
                own = {name: values[i] for name, values in state["slots"].items()}
                delta, own = self._update_param(g, p, own, learning_rate, iteration, global_slots)
                deltas.append(delta)
                for name in new_slots:
                    new_slots[name].append(own[name])
            return deltas, {"slots": new_slots, "globals": global_slots}

        return optax.GradientTransformationExtraArgs(init, update)

    def _init_slots(self, params: list) -> dict:
        # Variables overwritten by their gradient get no slots (None), as in Keras.
        skip = self._mask(self._overwrite_mask, len(params), False)
        slots = {}
        for group in self._slot_groups():
            for name in group:
                slots[name] = [None if s else self._new_slot(name, p)
                               for p, s in zip(params, skip)]
        return slots

    def _new_slot(self, slot: str, param):
        shape, dtype, fill = self._slot_spec(slot, param)
        # Filled on the host: jnp.full would compile a small program per shape.
        return jax.device_put(np.full(shape, fill, dtype=dtype))

    # -- pure API -------------------------------------------------------------------
    def init(self, params) -> dict:
        """A fresh state for ``params`` (a list of arrays) at iteration 0.

        The learning rate leaf starts from the optimizer's current learning rate.
        """
        params = [jnp.asarray(p) for p in params]
        state = {"iteration": jax.device_put(np.zeros((), np.int32)),
                 "learning_rate": (self._schedule(0) if self._schedule is not None
                                   else self._state["learning_rate"]).astype(jnp.float32)}
        if self.use_ema:
            skip = self._mask(self._overwrite_mask, len(params), False)
            state["average"] = [None if s else _host_zeros(p) for p, s in zip(params, skip)]
        if self.gradient_accumulation_steps:
            state["gradient_accumulator"] = [_host_zeros(p) for p in params]
        state.update(self.update_rule().init(params))
        if self._custom_initial:
            state["custom"] = list(self._custom_initial)
        return state

    def apply(self, *args, **kwargs):
        """``apply(state, grads, params) -> (new_params, new_state)``, pure and jittable.

        Called Keras's way, ``apply(grads, trainable_variables=None)``, it updates
        the variables in place like :meth:`apply_gradients`.

        ``grads`` matches ``params`` one to one; a None gradient leaves its
        parameter and slots unchanged.
        """
        if args and isinstance(args[0], dict):
            return self._apply_pure(*args, **kwargs)
        return self._apply_stateful(*args, **kwargs)

    def _current_lr(self, state):
        if self._schedule is not None:
            return jnp.asarray(self._schedule(state["iteration"]), jnp.float32)
        return state["learning_rate"]

    def _apply_pure(self, state: dict, grads, params) -> tuple[list, dict]:
        grads, params = list(grads), list(params)
        if len(grads) != len(params):
            raise ValueError(f"Optimizer '{self.name}': received {len(grads)} gradients for "
                             f"{len(params)} parameters; they must match one to one.")
        n = len(params)
        overwrite = self._mask(self._overwrite_mask, n, False)
        active = [i for i, g in enumerate(grads) if g is not None and not overwrite[i]]
        if not any(g is not None for g in grads):
            raise ValueError("No gradients provided for any variable.")
        raw_iteration = state["iteration"]
        steps = self.gradient_accumulation_steps
        iteration = raw_iteration // steps if steps else raw_iteration
        lr = self._current_lr(state)
        new_params = list(params)
        new_state = dict(state)
        for i in range(n):
            if overwrite[i] and grads[i] is not None:
                new_params[i] = jnp.asarray(grads[i], params[i].dtype)

        if active:
            g = [jnp.asarray(grads[i]) for i in active]
            p = [params[i] for i in active]
            if self.loss_scale_factor is not None:
                g = transforms.divide_by(self.loss_scale_factor).update(g, optax.EmptyState())[0]
            if steps:
                is_update = (raw_iteration + 1) % steps == 0
                acc = [state["gradient_accumulator"][i] for i in active]
                new_acc = [jnp.where(is_update, jnp.zeros_like(a), x + a) for x, a in zip(g, acc)]
                g = [jnp.where(is_update, (x + a) / steps, x) for x, a in zip(g, acc)]
            clip = transforms.keras_gradient_clipping(self.clipnorm, self.global_clipnorm,
                                                      self.clipvalue)
            g, _ = clip.update(g, clip.init(p))
            decay = self._mask(self._decay_mask, n, True)
            p_decayed = self._weight_decay(p, [decay[i] for i in active], lr)
            p_new, parts = self._step_active(g, p_decayed, active, state, lr, iteration)
            if steps:
                # Off-update calls only accumulate: the step is computed and discarded.
                p_new = [jnp.where(is_update, a, b) for a, b in zip(p_new, p)]
                parts = jax.tree.map(lambda a, b: jnp.where(is_update, a, b), parts,
                                     {k: state[k] for k in parts})
                accumulators = list(state["gradient_accumulator"])
                for j, i in enumerate(active):
                    accumulators[i] = new_acc[j]
                new_state["gradient_accumulator"] = accumulators
            for j, i in enumerate(active):
                new_params[i] = p_new[j]
            new_state.update(parts)

        if self.use_ema:
            new_params, new_state["average"] = self._moving_average(
                new_params, state["average"], iteration)
        # As Keras, the built variables' constraints apply to those that were updated.
        constraints = self._mask(self._constraints, n, None)
        for i in active:
            if constraints[i] is not None:
                new_params[i] = constraints[i](new_params[i])
        new_state["iteration"] = raw_iteration + 1
        if self._schedule is not None:
            new_state["learning_rate"] = jnp.asarray(self._schedule(raw_iteration + 1),
                                                     jnp.float32)
        return new_params, new_state

    def _step_active(self, grads: list, params: list, active: list[int], state: dict, lr,
                     iteration) -> tuple[list, dict]:
        """The update of the variables at ``active`` (already clipped and decayed).

        Returns their new values and the new values of the state entries the
        update writes (``slots``, ``globals`` and, for subclasses, ``custom``).
        """
        parts = {k: state[k] for k in ("slots", "globals", "custom") if k in state}
        if self._uses_update_step():
            new_params, custom = self._run_update_steps(grads, params, active, state, lr)
            return new_params, {**parts, "custom": custom}
        rule_state = {"slots": {k: [v[i] for i in active] for k, v in state["slots"].items()},
                      "globals": state["globals"]}
        deltas, rule_state = self.update_rule().update(
            grads, rule_state, params, learning_rate=lr, iteration=iteration)
        slots = {k: list(v) for k, v in state["slots"].items()}
        for k in slots:
            for j, i in enumerate(active):
                slots[k][i] = rule_state["slots"][k][j]
        return (optax.apply_updates(params, deltas),
                {**parts, "slots": slots, "globals": rule_state["globals"]})

    @staticmethod
    def _mask(mask, n: int, default: bool) -> list[bool]:
        return list(mask) if mask is not None and len(mask) == n else [default] * n

    def _weight_decay(self, params: list, use_decay: list[bool], lr) -> list:
        if self.weight_decay is None:
            return params
        out = []
        for p, use in zip(params, use_decay):
            if use:
                wd = jnp.asarray(self.weight_decay, p.dtype)
                p = p - p * wd * lr.astype(p.dtype)
            out.append(p)
        return out

    def _moving_average(self, params: list, averages: list, iteration) -> tuple[list, list]:
        new_avg = []
        for p, avg in zip(params, averages):
            if avg is None:
                new_avg.append(None)
                continue
            momentum = (iteration != 0).astype(p.dtype) * self.ema_momentum
            new_avg.append(momentum * avg + (1 - momentum) * p)
        if self.ema_overwrite_frequency:
            overwrite = (iteration + 1) % self.ema_overwrite_frequency == 0
            params = [p if a is None else jnp.where(overwrite, a, p)
                      for a, p in zip(new_avg, params)]
        return params, new_avg

    # -- config -----------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments, with the same keys and values as Keras 3."""
        if self._schedule is not None:
            learning_rate = schedules.serialize(self._schedule)
        else:
            learning_rate = float(np.asarray(self._state["learning_rate"]))
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Any:
        """Creates an optimizer from the output of :meth:`get_config`."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = serialization.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _host_zeros(param):
    """Zeros like ``param``, made on the host (no compiled program per shape)."""
    return jax.device_put(np.zeros(param.shape, param.dtype))
