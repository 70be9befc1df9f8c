"""The Muon optimizer (orthogonalized momentum for matrices, AdamW for the rest), as
``keras.optimizers.Muon``."""

from __future__ import annotations

import re

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer


def _swap_last_axes(x):
    return jnp.swapaxes(x, -1, -2)


class Muon(Optimizer):
    """Muon: momentum whose update is orthogonalized by Newton-Schulz iterations.

    2-D variables take Muon steps; the others (and 2-D variables whose path contains
    ``"embedding"`` when ``exclude_embeddings``, or matches a pattern of
    ``exclude_layers``) take AdamW steps. A Muon step is
    ``m = momentum * m + g``; ``u = g + momentum * m`` (Nesterov) or ``m``;
    ``w = w - rms_rate * sqrt(max(rows, cols)) * learning_rate * NS(u)`` where ``NS``
    runs ``ns_steps`` quintic Newton-Schulz iterations with coefficients
    ``(muon_a, muon_b, muon_c)``. An AdamW step is Keras's Adam step at
    ``learning_rate * adam_lr_ratio``. Decoupled weight decay is ``weight_decay`` for
    Muon variables and ``adam_weight_decay`` for AdamW ones.

    Args:
        learning_rate: a float or a ``LearningRateSchedule``; defaults to 0.001.
        adam_beta_1, adam_beta_2: the Adam moment decay rates.
        adam_weight_decay: the weight decay of AdamW variables.
        epsilon: Adam's numerical-stability constant.
        exclude_layers: regular expressions; variables whose path matches one use
            AdamW.
        exclude_embeddings: variables whose path contains "embedding" use AdamW.
        muon_a, muon_b, muon_c: the Newton-Schulz coefficients.
        adam_lr_ratio: the AdamW learning rate as a fraction of ``learning_rate``.
        momentum: the Muon momentum.
        ns_steps: the number of Newton-Schulz iterations.
        nesterov: use Nesterov momentum.
        rms_rate: the update scale of Liu et al. (2025); None disables the scaling.
        Other arguments are as in :class:`Optimizer` (``weight_decay`` defaults to
        0.004 and applies to Muon variables).
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, exclude_layers=None,
                 exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315,
                 adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate
        # Per built variable: whether it takes AdamW steps (None until built).
        self._adamw_mask = None

    def _should_use_adamw(self, variable) -> bool:
        """Whether ``variable`` (a Variable, or an array when unbuilt) takes AdamW steps."""
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", None)
        if path is None:
            return False
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def _track_variables(self, variables) -> list:
        variables = list(variables)
        values = super()._track_variables(variables)
        self._adamw_mask = [self._should_use_adamw(v) for v in variables]
        # The decay mask carries each variable's weight decay (None: no decay).
        self._decay_mask = [
            (self.adam_weight_decay if adamw else self.weight_decay) if use else None
            for use, adamw in zip(self._decay_mask, self._adamw_mask)]
        return values

    def _slot_groups(self):
        return [("momentum", "velocity")]

    def _init_slots(self, params: list) -> dict:
        slots = super()._init_slots(params)
        adamw = self._mask(self._adamw_mask, len(params), None)
        slots["velocity"] = [
            v if (a if a is not None else self._should_use_adamw(p)) else None
            for v, p, a in zip(slots["velocity"], params, adamw)]
        return slots

    def _weight_decay(self, params: list, use_decay: list, lr) -> list:
        out = []
        for p, decay in zip(params, use_decay):
            if decay is True:  # an unbuilt optimizer: choose by shape
                decay = self.adam_weight_decay if self._should_use_adamw(p) else self.weight_decay
            if decay is None or decay is False:
                out.append(p)
                continue
            out.append(p - p * jnp.asarray(decay, p.dtype) * lr.astype(p.dtype))
        return out

    def _update_param(self, grad, param, slots, lr, iteration, global_slots):
        if slots["velocity"] is not None:
            return self._adamw_update(grad, param, slots, lr * self.adam_lr_ratio, iteration)
        m = slots["momentum"] + (grad + slots["momentum"] * (self.momentum - 1))
        direction = grad + self.momentum * m if self.nesterov else m
        step = lr * self._newton_schulz(direction, self.ns_steps)
        if self.rms_rate is not None:
            step = step * jnp.sqrt(max(step.shape[0], step.shape[1])) * self.rms_rate
        return -step, {"momentum": m, "velocity": None}

    def _adamw_update(self, grad, param, slots, lr, iteration):
        dtype = param.dtype
        lr = jnp.asarray(lr).astype(dtype)
        grad = grad.astype(dtype)
        step = (iteration + 1).astype(dtype)
        beta_1_power = jnp.power(jnp.asarray(self.adam_beta_1, dtype), step)
        beta_2_power = jnp.power(jnp.asarray(self.adam_beta_2, dtype), step)
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1 - self.adam_beta_1)
        v = slots["velocity"] + (jnp.square(grad) - slots["velocity"]) * (1 - self.adam_beta_2)
        return -((m * alpha) / (jnp.sqrt(v) + self.epsilon)), {"momentum": m, "velocity": v}

    def _newton_schulz(self, x, steps: int):
        """An approximate orthogonalization ``U S' V^T`` of ``x`` (quintic Newton-Schulz)."""
        if x.ndim < 2:
            raise ValueError("Expected gradient or momentum to have at least 2 dimensions. "
                             f"Received: shape={x.shape}")
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = _swap_last_axes(x)
        x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
        for _ in range(steps):
            gram = x @ _swap_last_axes(x)
            x = a * x + (b * gram + c * gram @ gram) @ x
        return _swap_last_axes(x) if tall else x

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon, "exclude_layers": self.exclude_layers,
            "muon_a": self.muon_a, "muon_b": self.muon_b, "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
            "ns_steps": self.ns_steps, "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate,
        })
        return config
