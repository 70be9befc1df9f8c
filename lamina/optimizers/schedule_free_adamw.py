"""Schedule-Free AdamW (Defazio et al., 2024), as ``keras.optimizers.ScheduleFreeAdamW``."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """AdamW without a learning-rate schedule: it interpolates between a gradient
    sequence ``z`` (the ``momentum`` slot, starting at the variable's value) and its
    running average ``x``; the variable holds ``y = (1 - beta_1) z + beta_1 x``.

    With ``t = iterations + 1`` and ``lr`` scaled by ``min(t / warmup_steps, 1)`` when
    ``warmup_steps > 0``: ``v = v + (g**2 - v)(1 - beta_2)``,
    ``z = z - lr g / (sqrt(v / (1 - beta_2**t)) + epsilon)``,
    ``x_old = (y - (1 - beta_1) z_old) / beta_1``, ``x = (1 - 1/t) x_old + z / t``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.0025.
        beta_1: the interpolation between ``z`` and ``x``.
        beta_2: the decay rate of the second-moment average.
        epsilon: a small constant for numerical stability.
        warmup_steps: steps over which the learning rate grows linearly from 0.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def _slot_groups(self):
        return [("momentum", "velocity")]

    def _new_slot(self, slot: str, param):
        if slot == "momentum":
            return jnp.array(param, copy=True)  # z starts at the variable's value
        return super()._new_slot(slot, param)

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        step = (iteration + 1).astype(dtype)
        beta_1 = jnp.asarray(self.beta_1, dtype)
        beta_2 = jnp.asarray(self.beta_2, dtype)
        if self.warmup_steps > 0:
            lr = lr * jnp.minimum(step / jnp.asarray(self.warmup_steps, dtype), 1.0)
        z_old = slots["momentum"]
        v = slots["velocity"] + (jnp.square(grad) - slots["velocity"]) * (1 - beta_2)
        denom = jnp.sqrt(v / (1 - jnp.power(beta_2, step))) + jnp.asarray(self.epsilon, dtype)
        z = z_old - lr * grad / denom
        weight = 1.0 / step
        x_old = (param - (1 - beta_1) * z_old) / beta_1
        x = (1 - weight) * x_old + weight * z
        y = (1 - beta_1) * z + beta_1 * x
        return y - param, {"momentum": z, "velocity": v}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "warmup_steps": self.warmup_steps})
        return config
