"""Pure loops around a model's step methods, as the trainer compiles them.

A loop function takes the step state, the trainer's RNG key and data, and runs
the model's ``train_step``/``test_step``/``predict_step`` on one batch or on
``n_steps`` batches gathered from device-resident data (a ``lax.scan``). Each
batch gets its own key, set as the key of a stateless scope around the step, so
random layers inside draw fresh values without the step handling keys.

The loops count their traces in ``model._trace_counts`` (a retrace is a bug to
catch in tests); the steps themselves stay free of bookkeeping.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from lamina.state import StatelessScope
from lamina.training.step_state import (
    PredictState,
    TestState,
    TrainState,
    pack_x_y_sample_weight,
)


def gather(data, perm, start, batch_size):
    """Rows ``perm[start:start + batch_size]`` of every array in ``data``; rows
    ``start:start + batch_size`` when ``perm`` is None (a slice, cheaper than a gather)."""
    if perm is None:
        return jax.tree_util.tree_map(
            lambda a: lax.dynamic_slice_in_dim(a, start, batch_size), data)
    idx = lax.dynamic_slice_in_dim(perm, start, batch_size)
    return jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), data)


class StepLoops:
    """The loops of one kind ("train", "test" or "predict") for one compiled model.

    Args:
        model: the compiled model whose step methods run.
        kind: which step the loops run.
    """

    _STATES = {"train": TrainState, "test": TestState, "predict": PredictState}

    def __init__(self, model, kind: str):
        self.model = model
        self.kind = kind
        # The logs an overridden step returns are kept (the last batch's); the
        # default steps' logs are recomputed from metric state, so they are dropped
        # and XLA removes their computation.
        self.keep_logs = kind != "predict" and model._overrides(f"{kind}_step")

    def _one(self, state, rng, x, y, sample_weight):
        model = self.model
        rng, key = jax.random.split(rng)
        data = pack_x_y_sample_weight(*model._present_batch(x, y, sample_weight))
        with StatelessScope(key=key):
            if self.kind == "predict":
                outputs, _ = model.predict_step(state, data)
                return state, rng, outputs
            logs, new = getattr(model, f"{self.kind}_step")(state, data)
        new = self._STATES[self.kind](*(list(field) for field in new))
        return new, rng, (logs if self.keep_logs else None)

    def single(self, state, rng, x, y=None, sample_weight=None):
        """One batch: ``(state, rng, logs or outputs)``."""
        self.model._trace_counts[self.kind] += 1
        return self._one(state, rng, x, y, sample_weight)

    def indexed(self, state, rng, data, perm, start, batch_size, n_steps):
        """``n_steps`` batches of ``batch_size`` rows of ``data`` (an ``(x, y,
        sample_weight)`` tree on the device) taken in ``perm`` order from ``start``.

        Returns ``(state, rng, logs)`` (the last batch's logs), or for predict
        ``(state, rng, outputs)`` with the outputs of all batches concatenated.
        """
        self.model._trace_counts[self.kind] += 1

        def body(carry, i):
            x, y, sw = gather(data, perm, start + i * batch_size, batch_size)
            s, r, out = self._one(*carry, x, y, sw)
            return (s, r), out

        if n_steps == 1:
            (state, rng), out = body((state, rng), 0)
            return state, rng, out
        (state, rng), out = lax.scan(body, (state, rng), jnp.arange(n_steps))
        if self.kind == "predict":
            out = jax.tree_util.tree_map(
                lambda a: a.reshape((n_steps * batch_size,) + a.shape[2:]), out)
        else:
            out = jax.tree_util.tree_map(lambda a: a[-1], out)
        return state, rng, out


# Batches fused into one compiled call when callbacks allow it (see Trainer._fused_steps).
AUTO_FUSED_STEPS = 16


def plan_calls(n: int, batch_size: int, steps: int, per_execution: int) -> list[tuple[int, int, int]]:
    """``(start, batch_size, n_steps)`` calls covering ``steps`` batches of ``n`` samples."""
    full = min(n // batch_size, steps)
    plan, start = [], 0
    groups, rest = divmod(full, per_execution)
    for _ in range(groups):
        plan.append((start, batch_size, per_execution))
        start += batch_size * per_execution
    for _ in range(rest):
        plan.append((start, batch_size, 1))
        start += batch_size
    if full < steps and start < n:
        plan.append((start, n - start, 1))
    return plan
