"""Adafactor (factored second moments), as ``keras.optimizers.Adafactor``."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


def _rms(x):
    return jnp.sqrt(jnp.mean(jnp.square(x)))


class Adafactor(Optimizer):
    """Adafactor: second moments kept as row and column averages for matrices.

    For variables of rank >= 2 the squared-gradient average is factored into a
    row statistic ``r`` (last axis averaged out) and a column statistic ``c``
    (second-to-last axis averaged out); rank-1 variables keep a full average.
    Steps are ``max(epsilon_2, rms(w)) * min(lr, 1/sqrt(t))`` times the
    normalized gradient, clipped so its RMS is at most ``clip_threshold``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        beta_2_decay: the decay exponent of the second-moment rate,
            ``beta_2_t = 1 - t**beta_2_decay``.
        epsilon_1: added to squared gradients.
        epsilon_2: the floor of the variable's RMS in the step size.
        clip_threshold: the RMS threshold of the normalized update.
        relative_step: whether the rate is capped by ``1/sqrt(t)``.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step: bool = True, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def _slot_groups(self):
        return [("r", "c", "velocity")]

    def _slot_spec(self, slot, param):
        shape = tuple(param.shape)
        if slot == "velocity":
            return shape, param.dtype, 0.0
        if len(shape) < 2:
            # Keras keeps an unused int32 scalar placeholder for unfactored variables.
            return (), jnp.int32, 0
        if slot == "r":
            return shape[:-1], param.dtype, 0.0
        return shape[:-2] + shape[-1:], param.dtype, 0.0

    def _slot_name(self, slot, index, prefix, value):
        if slot == "velocity":
            return super()._slot_name(slot, index, prefix, value)
        # Keras names the factored statistics after the variable itself; its placeholders
        # are created outside the optimizer's name scope.
        name = self._var_names[index] if index < len(self._var_names) else "variable"
        placeholder = value.dtype == jnp.int32
        return name, name if placeholder else f"{self.name}/{name}"

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        epsilon_2 = jnp.asarray(self.epsilon_2, dtype)
        step = (iteration + 1).astype(dtype)
        # Keras's relative-step cap and rho_t are the same minimum.
        rho = jnp.minimum(lr, 1 / jnp.sqrt(step))
        alpha = jnp.maximum(epsilon_2, _rms(param)) * rho
        squared = jnp.square(grad) + self.epsilon_1
        beta_2 = 1 - jnp.power(step, self.beta_2_decay)
        new = dict(slots)
        if param.ndim >= 2:
            r = beta_2 * slots["r"] + (1 - beta_2) * jnp.mean(squared, axis=-1)
            c = beta_2 * slots["c"] + (1 - beta_2) * jnp.mean(squared, axis=-2)
            v = (jnp.expand_dims(r / jnp.mean(r, axis=-1, keepdims=True), -1)
                 * jnp.expand_dims(c, -2))
            new.update(r=r, c=c)
        else:
            v = beta_2 * slots["velocity"] + (1 - beta_2) * squared
        new["velocity"] = v
        u = grad / jnp.sqrt(v)
        u_hat = u / jnp.maximum(jnp.asarray(1.0, dtype), _rms(u) / self.clip_threshold)
        return -(alpha * u_hat), new

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                       "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                       "relative_step": self.relative_step})
        return config
