"""Follow-the-regularized-leader, as ``keras.optimizers.Ftrl``."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """FTRL-Proximal with L1, L2 and L2-shrinkage regularization.

    Keeps a squared-gradient accumulator ``n`` and a linear term ``z`` per
    coordinate; the new variable is the closed-form minimizer
    ``(clip(z, -l1, l1) - z) / (n**(-learning_rate_power) / lr + 2 * l2)``,
    where ``l2`` includes ``beta / (2 * lr)``.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        learning_rate_power: a float <= 0 controlling how the rate decreases.
        initial_accumulator_value: the accumulators' starting value (>= 0).
        l1_regularization_strength: L1 strength (>= 0).
        l2_regularization_strength: L2 strength (>= 0).
        l2_shrinkage_regularization_strength: magnitude-penalty strength (>= 0).
        beta: added to the L2 denominator, as in the FTRL paper.
        Other arguments are as in :class:`Optimizer`.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, clipnorm=None, clipvalue=None,
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
        for arg, value, rule in (
                ("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                ("learning_rate_power", learning_rate_power, "negative or zero"),
                ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
                ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
                ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                 "positive or zero")):
            bad = value > 0.0 if rule == "negative or zero" else value < 0.0
            if bad:
                raise ValueError(f"`{arg}` needs to be {rule}. Received: {arg}={value}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _slot_groups(self):
        return [("accumulator", "linear")]

    def _slot_initial_value(self, slot):
        return self.initial_accumulator_value if slot == "accumulator" else 0.0

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        dtype = param.dtype
        lr = lr.astype(dtype)
        grad = grad.astype(dtype)
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        l1 = self.l1_regularization_strength
        accumulator = slots["accumulator"]
        shrunk_grad = grad + (2 * self.l2_shrinkage_regularization_strength) * param
        new_accumulator = accumulator + jnp.square(grad)
        sigma = (jnp.power(new_accumulator, power) - jnp.power(accumulator, power)) / lr
        linear = slots["linear"] + (shrunk_grad - sigma * param)
        quadratic = jnp.power(new_accumulator, power) / lr + 2 * l2
        new_param = (jnp.clip(linear, -l1, l1) - linear) / quadratic
        return new_param - param, {"accumulator": new_accumulator, "linear": linear}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
