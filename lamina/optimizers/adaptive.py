"""Optimizers with per-coordinate adaptive rates: RMSprop, Adagrad, Adadelta (Keras 3 forms)."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


def _base_kwargs(weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                 ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name):
    return dict(weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                ema_overwrite_frequency=ema_overwrite_frequency,
                loss_scale_factor=loss_scale_factor,
                gradient_accumulation_steps=gradient_accumulation_steps, name=name)


class RMSprop(Optimizer):
    """Divides the gradient by the root of a moving average of its square.

    ``v = rho * v + (1 - rho) * g**2``; the step is
    ``learning_rate * g / sqrt(v + epsilon)`` (epsilon inside the root, as in
    Keras). With ``centered`` the moving average ``a`` of ``g`` is kept and the
    root is of ``v - a**2 + epsilon``. With ``momentum > 0`` the steps are
    accumulated as ``mom = momentum * mom + step`` and ``mom`` is subtracted.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        rho: the discounting factor of the squared-gradient average.
        momentum: the momentum factor (0: none).
        epsilon: a small constant for numerical stability.
        centered: whether to normalize by the estimated gradient variance.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07,
                 centered: bool = False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(
            weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name),
            **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _slot_groups(self):
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return groups

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        rho = self.rho
        new = {}
        velocity = rho * slots["velocity"] + (1 - rho) * jnp.square(grad)
        new["velocity"] = velocity
        if self.centered:
            average = rho * slots["average_gradient"] + (1 - rho) * grad
            new["average_gradient"] = average
            denominator = velocity - jnp.square(average) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = (lr * grad) / jnp.sqrt(denominator)
        if self.momentum > 0:
            momentum = self.momentum * slots["momentum"] + increment
            new["momentum"] = momentum
            return -momentum, new
        return -increment, new

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config


class Adagrad(Optimizer):
    """Per-coordinate rates scaled by the root of the sum of squared gradients.

    ``acc = acc + g**2``; ``w = w - learning_rate * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        initial_accumulator_value: the starting value of the accumulators.
        epsilon: a small constant for numerical stability.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(
            weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name),
            **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _slot_groups(self):
        return [("accumulator",)]

    def _slot_initial_value(self, slot):
        return self.initial_accumulator_value

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        accumulator = slots["accumulator"] + jnp.square(grad)
        delta = -((lr * grad) / jnp.sqrt(accumulator + self.epsilon))
        return delta, {"accumulator": accumulator}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of updates and of gradients.

    ``G = rho * G + (1 - rho) * g**2``;
    ``d = -sqrt(D + epsilon) * g / sqrt(G + epsilon)``;
    ``D = rho * D + (1 - rho) * d**2``; ``w = w + learning_rate * d``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        rho: the decay rate of the running averages.
        epsilon: a small constant for numerical stability.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-07, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(
            weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name),
            **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _slot_groups(self):
        return [("accumulated_grad", "accumulated_delta_var")]

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        rho = self.rho
        accumulated_grad = rho * slots["accumulated_grad"] + (1 - rho) * jnp.square(grad)
        delta = -((jnp.sqrt(slots["accumulated_delta_var"] + self.epsilon) * grad)
                  / jnp.sqrt(accumulated_grad + self.epsilon))
        accumulated_delta = (rho * slots["accumulated_delta_var"]
                             + (1 - rho) * jnp.square(delta))
        return lr * delta, {"accumulated_grad": accumulated_grad,
                            "accumulated_delta_var": accumulated_delta}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
