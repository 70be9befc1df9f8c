"""The Adam family, as Keras 3 computes it: Adam, AdamW, Adamax, Nadam."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adam: steps from bias-corrected moving averages of the gradient and its square.

    With ``t = iterations + 1``:
    ``m = m + (g - m) * (1 - beta_1)``, ``v = v + (g**2 - v) * (1 - beta_2)``,
    ``w = w - m * alpha / (sqrt(v) + epsilon)`` where
    ``alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``
    (epsilon is not bias-corrected, as in Keras). With ``amsgrad`` the running
    maximum of ``v`` replaces ``v`` in the denominator.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        beta_1: the decay rate of the first-moment average.
        beta_2: the decay rate of the second-moment average.
        epsilon: a small constant for numerical stability.
        amsgrad: whether to use the AMSGrad variant.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
                 amsgrad: bool = False, weight_decay=None, clipnorm=None, clipvalue=None,
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
        self.amsgrad = amsgrad

    def _slot_groups(self):
        groups = [("momentum", "velocity")]
        if self.amsgrad:
            groups.append(("velocity_hat",))
        return groups

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        step = (iteration + 1).astype(dtype)
        beta_1_power = jnp.power(jnp.asarray(self.beta_1, dtype), step)
        beta_2_power = jnp.power(jnp.asarray(self.beta_2, dtype), step)
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (jnp.square(grad) - slots["velocity"]) * (1 - self.beta_2)
        new = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = jnp.maximum(slots["velocity_hat"], v)
            new["velocity_hat"] = v
        return -((m * alpha) / (jnp.sqrt(v) + self.epsilon)), new

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` defaults to 0.004).

    Each step first shrinks the variables by ``w * weight_decay * learning_rate``,
    then applies the Adam update.

    Args: as :class:`Adam`, with ``weight_decay`` required to be a float.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-07, amsgrad: bool = False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm of past gradients in the denominator.

    ``m = m + (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``w = w - learning_rate * m / ((1 - beta_1**t) * (u + epsilon))``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        beta_1: the decay rate of the first-moment average.
        beta_2: the decay rate of the weighted infinity norm.
        epsilon: a small constant for numerical stability.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
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
        return [("momentum", "norm")]

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        step = (iteration + 1).astype(dtype)
        beta_1_power = jnp.power(jnp.asarray(self.beta_1, dtype), step)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1 - self.beta_1)
        u = jnp.maximum(self.beta_2 * slots["norm"], jnp.abs(grad))
        delta = -((lr * m) / ((1 - beta_1_power) * (u + self.epsilon)))
        return delta, {"momentum": m, "norm": u}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum-decay schedule.

    The momentum factor at step ``t`` is ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``
    and the running product of those factors is kept as one optimizer-wide
    variable. The first moment used in the step mixes the updated average and
    the current gradient, each bias-corrected by that product.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        beta_1: the decay rate of the first-moment average.
        beta_2: the decay rate of the second-moment average.
        epsilon: a small constant for numerical stability.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
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

    def _global_slots(self):
        # Keras creates this variable without a name, so its path is "variable".
        return [("u_product", "variable", 1.0)]

    def _update_globals(self, global_slots, iteration):
        u_product = global_slots["u_product"]
        step = (iteration + 1).astype(u_product.dtype)
        factor = 1.0 - 0.5 * jnp.power(0.96, step)
        return {"u_product": u_product * self.beta_1 * factor}

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        step = (iteration + 1).astype(dtype)
        next_step = (iteration + 2).astype(dtype)
        decay = jnp.asarray(0.96, dtype)
        beta_1 = jnp.asarray(self.beta_1, dtype)
        beta_2 = jnp.asarray(self.beta_2, dtype)
        u_t = beta_1 * (1.0 - 0.5 * jnp.power(decay, step))
        u_t_1 = beta_1 * (1.0 - 0.5 * jnp.power(decay, next_step))
        u_product_t = global_slots["u_product"].astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = jnp.power(beta_2, step)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1 - beta_1)
        v = slots["velocity"] + (jnp.square(grad) - slots["velocity"]) * (1 - beta_2)
        m_hat = (u_t_1 * m) / (1 - u_product_t_1) + ((1 - u_t) * grad) / (1 - u_product_t)
        v_hat = v / (1 - beta_2_power)
        delta = -((m_hat * lr) / (jnp.sqrt(v_hat) + self.epsilon))
        return delta, {"momentum": m, "velocity": v}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
