"""LAMB (layer-wise adaptive Adam), as ``keras.optimizers.Lamb``."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


class Lamb(Optimizer):
    """Adam's bias-corrected direction, rescaled per variable by a trust ratio.

    The step is ``ratio * learning_rate * update`` with
    ``update = m_hat / (sqrt(v_hat) + epsilon)`` and
    ``ratio = ||w|| / ||update||`` (1 when either norm is 0).

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        beta_1: the decay rate of the first-moment average.
        beta_2: the decay rate of the second-moment average.
        epsilon: a small constant for numerical stability.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
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

    def _slot_groups(self):
        return [("momentum", "velocity")]

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        step = (iteration + 1).astype(dtype)
        beta_1_power = jnp.power(jnp.asarray(self.beta_1, dtype), step)
        beta_2_power = jnp.power(jnp.asarray(self.beta_2, dtype), step)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (jnp.square(grad) - slots["velocity"]) * (1 - self.beta_2)
        update = (m / (1.0 - beta_1_power)) / (
            jnp.sqrt(v / (1.0 - beta_2_power)) + self.epsilon)
        w_norm = jnp.sqrt(jnp.sum(jnp.power(param, 2)))
        u_norm = jnp.sqrt(jnp.sum(jnp.power(update, 2)))
        ratio = jnp.where(w_norm > 0, jnp.where(u_norm > 0, w_norm / u_norm, 1.0), 1.0)
        return -(ratio * lr * update), {"momentum": m, "velocity": v}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
