"""Stochastic gradient descent, as ``keras.optimizers.SGD``."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    Without momentum: ``w = w - learning_rate * g``. With momentum the velocity
    ``v = momentum * v - learning_rate * g`` is kept, and ``w = w + v``, or with
    Nesterov ``w = w + momentum * v - learning_rate * g``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.01.
        momentum: a float in [0, 1]; 0 is plain gradient descent.
        nesterov: whether to use Nesterov momentum.
        Other arguments (``weight_decay``, ``clipnorm``, ``name``, ...) are as
        in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov: bool = False,
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
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def _slot_groups(self):
        return [("momentum",)] if self.momentum != 0 else []

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        if self.momentum == 0:
            return -(grad * lr), slots
        momentum = jnp.asarray(self.momentum, dtype)
        m = slots["momentum"] * momentum - grad * lr
        delta = m * momentum - grad * lr if self.nesterov else m
        return delta, {"momentum": m}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
