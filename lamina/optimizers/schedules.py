"""Learning-rate schedules, as ``keras.optimizers.schedules``.

A schedule maps the optimizer's step count to a learning rate. Every schedule
here is a pure ``jax.numpy`` function of the step, so it can be evaluated inside
a jitted train step where the step is a traced integer, and it gives the same
float32 numbers as the Keras 3 schedule with the same configuration.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from lamina.saving import serialization


class LearningRateSchedule:
    """Base class of learning-rate schedules.

    Subclasses implement ``__call__(step)`` returning the learning rate at the
    given step, and ``get_config()`` returning the constructor arguments.
    """

    _keras_module = "keras.optimizers.schedules"

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()`.")

    @classmethod
    def from_config(cls, config: dict):
        """Instantiates a schedule from the output of ``get_config()``."""
        return cls(**config)


def _float_step(step):
    return jnp.asarray(step).astype(jnp.float32)


def _check_positive(name: str, value) -> None:
    if value is None or value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: the number of steps over which the rate is multiplied by
            ``decay_rate`` once.
        decay_rate: the multiplicative factor per ``decay_steps`` steps.
        staircase: if True, ``step / decay_steps`` is floored, so the rate
            changes in discrete jumps.
        name: the schedule's name (kept in the config).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase: bool = False,
                 name: str = "ExponentialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        initial = jnp.asarray(self.initial_learning_rate, jnp.float32)
        p = _float_step(step) / jnp.float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return initial * jnp.power(jnp.float32(self.decay_rate), p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate on each interval between step boundaries.

    Args:
        boundaries: increasing step numbers where the rate changes.
        values: the rates, one more than ``boundaries``: ``values[0]`` while
            ``step <= boundaries[0]``, ``values[i]`` while
            ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after.
        name: the schedule's name (kept in the config).
    """

    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        bounds = jnp.asarray(self.boundaries)
        # The index of the interval is the number of boundaries strictly below the step.
        index = jnp.sum(step.astype(bounds.dtype) > bounds) if self.boundaries else 0
        return jnp.asarray(self.values)[index]

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    The rate is ``(initial - end) * (1 - step / decay_steps) ** power + end``,
    with ``step`` capped at ``decay_steps``, or, when ``cycle`` is True,
    ``decay_steps`` stretched to the next multiple of itself above ``step``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the number of steps to reach ``end_learning_rate``.
        end_learning_rate: the final rate.
        power: the exponent of the polynomial.
        cycle: whether to restart the decay after ``decay_steps``.
        name: the schedule's name (kept in the config).
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle: bool = False, name: str = "PolynomialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        initial = jnp.asarray(self.initial_learning_rate, jnp.float32)
        end = jnp.asarray(self.end_learning_rate, jnp.float32)
        step = _float_step(step)
        decay_steps = jnp.float32(self.decay_steps)
        if self.cycle:
            # At step 0 the multiplier would be 0; the first cycle uses 1.
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        fraction = step / decay_steps
        return (initial - end) * jnp.power(1 - fraction, jnp.float32(self.power)) + end

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: how often the decay is applied.
        decay_rate: the decay rate.
        staircase: if True, ``step / decay_steps`` is floored.
        name: the schedule's name (kept in the config).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase: bool = False,
                 name: str = "InverseTimeDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        initial = jnp.asarray(self.initial_learning_rate, jnp.float32)
        p = _float_step(step) / jnp.float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return initial / (1 + jnp.float32(self.decay_rate) * p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay, optionally after a linear warmup.

    Without warmup the rate goes from ``initial_learning_rate`` down to
    ``alpha * initial_learning_rate`` along half a cosine over ``decay_steps``.
    With ``warmup_steps > 0`` the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target``, then decays from
    ``warmup_target`` over the next ``decay_steps`` steps.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the number of decay steps.
        alpha: the final rate as a fraction of the peak rate.
        name: the schedule's name (kept in the config).
        warmup_target: the rate reached at the end of warmup (None: no warmup).
        warmup_steps: the number of warmup steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name: str = "CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decayed(self, step, peak):
        decay_steps = jnp.float32(self.decay_steps)
        step = jnp.minimum(step, decay_steps)
        cosine = 0.5 * (1.0 + jnp.cos(jnp.float32(math.pi) * (step / decay_steps)))
        alpha = jnp.float32(self.alpha)
        return ((1 - alpha) * cosine + alpha) * peak

    def __call__(self, step):
        initial = jnp.asarray(self.initial_learning_rate, jnp.float32)
        step = _float_step(step)
        if self.warmup_target is None:
            return self._decayed(step, initial)
        target = jnp.asarray(self.warmup_target, jnp.float32)
        warmup_steps = jnp.float32(self.warmup_steps)
        warm = (target - initial) * (step / jnp.maximum(warmup_steps, 1.0)) + initial
        decayed = self._decayed(step - warmup_steps, target)
        return jnp.where(step < warmup_steps, warm, decayed)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR).

    The first period lasts ``first_decay_steps``; each later period is ``t_mul``
    times longer and starts from ``m_mul`` times the previous peak rate.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: the length of the first period.
        t_mul: the factor by which each period is longer than the last.
        m_mul: the factor by which each period's peak is lower than the last.
        alpha: the minimum rate as a fraction of ``initial_learning_rate``.
        name: the schedule's name (kept in the config).
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name: str = "SGDRDecay"):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        initial = jnp.asarray(self.initial_learning_rate, jnp.float32)
        t_mul = jnp.float32(self.t_mul)
        m_mul = jnp.float32(self.m_mul)
        alpha = jnp.float32(self.alpha)
        fraction = _float_step(step) / jnp.float32(self.first_decay_steps)
        if self.t_mul == 1.0:
            restarts = jnp.floor(fraction)
            fraction = fraction - restarts
        else:
            # Periods grow geometrically: solve sum_{k<i} t_mul**k <= fraction for i.
            restarts = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restarts)) / (1.0 - t_mul)
            fraction = (fraction - done) / jnp.power(t_mul, restarts)
        peak = jnp.power(m_mul, restarts)
        cosine = 0.5 * peak * (1.0 + jnp.cos(jnp.float32(math.pi) * fraction))
        return initial * ((1 - alpha) * cosine + alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict:
    """Returns the Keras-3 JSON-able dict of a schedule."""
    return serialization.serialize_keras_object(learning_rate_schedule)


def deserialize(config: dict, custom_objects: dict | None = None) -> Any:
    """Rebuilds a schedule from the output of :func:`serialize`."""
    return serialization.deserialize_keras_object(
        config, module_objects=_SCHEDULES, custom_objects=custom_objects)


__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]
