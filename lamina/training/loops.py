"""Pure loops around a model's step methods, as the trainer compiles them.

A loop function takes the step state, the trainer's RNG key and data, and runs
the model's ``train_step``/``test_step``/``predict_step`` on one batch or on a
block of batches (a ``lax.fori_loop`` with a traced trip count). Each batch gets
its own key, set as the key of a stateless scope around the step, so random
layers inside draw fresh values without the step handling keys.

In-memory data stay in host memory: :class:`BlockRunner` gathers the rows of each
call into a fresh 64-byte-aligned block, which JAX's CPU client uses in place, so
no copy of the whole data set is made and the compiled program's input shape does
not depend on the number of samples or of batches in the call.

The loops count their traces in ``model._trace_counts`` (a retrace is a bug to
catch in tests); the steps themselves stay free of bookkeeping.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lamina.state import StatelessScope
from lamina.training.step_state import (
    PredictState,
    TestState,
    TrainState,
    pack_x_y_sample_weight,
)


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
        # default steps' logs are dropped (a call returns the metric results instead),
        # and XLA removes their computation.
        self.keep_logs = kind != "predict" and model._overrides(f"{kind}_step")
        self.looped = fuses(model)

    def _one(self, state, rng, x, y, sample_weight):
        """One step on one batch: ``(state, rng, logs or outputs)``.

        The trainer's key is split only when a random layer draws during the step
        (the scope makes its key on first use): a split compiles to a threefry hash
        that costs about as much compile time as a small model's whole step.
        """
        data = pack_x_y_sample_weight(*self.model._present_batch(x, y, sample_weight))
        split = []

        def make_key():
            new_rng, key = jax.random.split(rng)
            split.append(new_rng)
            return key

        new, out = self._step(state, data, make_key)
        return new, (split[0] if split else rng), out

    def _step(self, state, data, key_source):
        """``(state, logs or outputs)`` of the model's step on ``data``, inside a
        stateless scope whose key ``key_source()`` makes on first use."""
        with StatelessScope(key_source=key_source):
            if self.kind == "predict":
                outputs, _ = self.model.predict_step(state, data)
                return state, outputs
            logs, new = getattr(self.model, f"{self.kind}_step")(state, data)
        new = self._STATES[self.kind](*(list(field) for field in new))
        return new, (logs if self.keep_logs else None)

    def single(self, state, rng, x, y=None, sample_weight=None):
        """One batch: ``(state, rng, logs or outputs)``."""
        self.model._trace_counts[self.kind] += 1
        state, rng, out = self._one(state, rng, x, y, sample_weight)
        return state, rng, self._call_logs(state, out)

    def _call_logs(self, state, logs):
        """What a compiled call returns as logs: an overridden step's own (the last
        batch's), else the model's metric results for ``state``, computed in the same
        program so that reading them compiles nothing more. Predictions pass through."""
        if self.keep_logs or self.kind == "predict":
            return logs
        with StatelessScope(zip(self.model.metrics_variables, state.metrics_variables)):
            return self.model.get_metrics_result()

    def blocks(self, state, rng, block, n_steps):
        """The first ``n_steps`` batches of ``block`` (an ``(x, y, sample_weight)``
        tree of arrays shaped ``(batches, batch_size, ...)``).

        ``n_steps`` is traced: where steps fuse (:func:`fuses`) one compiled
        ``lax.fori_loop`` runs one batch, a fused group or an epoch's remainder, so
        a ``fit`` compiles once per block shape. Otherwise the block holds one batch
        and the step runs straight.

        Returns ``(state, rng, logs)``: see :meth:`_call_logs`.
        """
        self.model._trace_counts[self.kind] += 1

        def body(i, carry):
            x, y, sw = jax.tree_util.tree_map(
                lambda a: lax.dynamic_index_in_dim(a, i, keepdims=False), block)
            return self._one(*carry[:2], x, y, sw)

        if not self.looped:
            state, rng, logs = body(0, (state, rng))
        else:
            logs = None
            if self.keep_logs:  # the carry holds the last batch's logs: start from zeros
                shapes = jax.eval_shape(lambda s, r: body(0, (s, r))[2], state, rng)
                logs = jax.tree_util.tree_map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)
            state, rng, logs = lax.fori_loop(0, n_steps, body, (state, rng, logs))
        return state, rng, self._call_logs(state, logs)

    def batches(self, state, rng, x, batch_size):
        """Predictions for ``x`` (a tree of arrays whose rows are a whole number of
        batches of ``batch_size``): one batch straight, several in a ``lax.scan``.

        Returns ``(rng, outputs)``, the outputs of all rows in order.
        """
        self.model._trace_counts[self.kind] += 1
        rows = jax.tree_util.tree_leaves(x)[0].shape[0]
        n = rows // batch_size
        if n == 1:
            _, rng, out = self._one(state, rng, x, None, None)
            return rng, out

        def body(r, xb):
            _, r, out = self._one(state, r, xb, None, None)
            return r, out

        xs = jax.tree_util.tree_map(lambda a: a.reshape((n, batch_size) + a.shape[1:]), x)
        rng, out = lax.scan(body, rng, xs)
        return rng, jax.tree_util.tree_map(lambda a: a.reshape((rows,) + a.shape[2:]), out)


def fuses(model) -> bool:
    """Whether ``model``'s steps run inside compiled loops: not eagerly, and on CPU
    only when every layer allows it (XLA:CPU runs convolutions and nested scans
    slower inside a loop)."""
    if model.run_eagerly:
        return False
    return jax.default_backend() != "cpu" or all(
        layer._fuses_into_loops for layer in model._flatten_layers())


def device_copy(tree):
    """Copies of the arrays of ``tree`` (the train loops donate their inputs), made by
    transfer: ``jnp.copy`` would compile one small program per shape and dtype, which
    added ~0.05 s to a first ``fit``."""
    return jax.tree_util.tree_map(_transfer_copy, tree)


def distinct_buffers(tree):
    """``tree`` with each array that appears again after its first place replaced by a
    copy: a compiled call cannot donate one buffer twice (two Variables a callback gave
    the same array, say)."""
    seen = set()

    def one(a):
        if isinstance(a, jax.Array):
            if id(a) in seen:
                return _transfer_copy(a)
            seen.add(id(a))
        return a

    return jax.tree_util.tree_map(one, tree)


def _transfer_copy(a):
    # A committed array (placed by a distribution, possibly across processes) is copied
    # onto its own sharding; an uncommitted one stays uncommitted, so jit may still
    # place it beside sharded arguments.
    if isinstance(a, jax.Array) and a.committed:
        return jax.device_put(a, a.sharding, may_alias=False)
    return jax.device_put(a, may_alias=False)


def aligned_empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialized array starting on a 64-byte boundary (JAX's CPU client uses
    such arrays in place instead of copying them)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + 64, np.uint8)
    offset = -raw.ctypes.data % 64
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def gather_block(data, perm, start: int, batch_size: int, count: int, block: int):
    """``count`` batches of ``data`` (host arrays) from row ``start`` of ``perm``
    (data order when None), as arrays shaped ``(block, batch_size, ...)`` whose rows
    past ``count`` batches are left unset (the loop never reads them)."""
    rows = count * batch_size
    idx = None if perm is None else perm[start:start + rows]

    def one(a):
        out = aligned_empty((block * batch_size,) + a.shape[1:], a.dtype)
        if idx is None:
            out[:rows] = a[start:start + rows]
        else:
            np.take(a, idx, axis=0, out=out[:rows], mode="clip")
        return out.reshape((block, batch_size) + a.shape[1:])

    return jax.tree_util.tree_map(one, data)


class BlockRunner:
    """Runs ``kind`` steps over in-memory data as ``fn(state, rng, data, perm, start,
    batch_size=..., n_steps=...)``: ``data`` an ``(x, y, sample_weight)`` tree of
    host arrays, ``perm`` the epoch's sample order (None: data order).

    Batches go to the compiled loop in blocks of a fixed number of batches (per model
    and batch shape: :data:`AUTO_FUSED_STEPS` or ``steps_per_execution``, fewer for
    large rows); a call with more batches runs several blocks.

    Args:
        loops: the :class:`StepLoops` whose ``blocks`` run.
        jit: compile it (False: run eagerly).
        placement: a distribution's ``Placement`` of the state and the blocks (None:
            no distribution).
    """

    def __init__(self, loops: StepLoops, jit: bool = True, placement=None):
        self.loops = loops
        self._run = loops.blocks
        if placement is not None:  # blocks are (batches, batch_size, ...): split axis 1
            self._run = placement.compile(loops.blocks, batch_axis=1, batch_args=1,
                                          donate=loops.kind == "train", jit=jit)
        elif jit:
            self._run = jax.jit(loops.blocks,
                                donate_argnums=(0,) if loops.kind == "train" else ())

    def block_steps(self, data, batch_size: int) -> int:
        if not self.loops.looped:
            return 1
        row_bytes = sum(a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
                        for a in jax.tree_util.tree_leaves(data))
        most = max(AUTO_FUSED_STEPS, getattr(self.loops.model, "_steps_per_execution", 1) or 1)
        return max(1, min(most, BLOCK_BYTES // max(1, row_bytes * batch_size)))

    def __call__(self, state, rng, data, perm, start, batch_size, n_steps):
        block = self.block_steps(data, batch_size)
        logs = None
        for first in range(0, n_steps, block):
            count = min(block, n_steps - first)
            rows = gather_block(data, perm, start + first * batch_size, batch_size, count,
                                block)
            state, rng, logs = self._run(state, rng, rows, count)
        return state, rng, logs


# Batches fused into one compiled call when callbacks allow it (see Trainer._fused_steps).
AUTO_FUSED_STEPS = 16
# Bytes of input rows one block holds at most (fewer batches per block for large rows).
# Not less: each compiled call page-faults in its temporary buffers afresh (XLA:CPU maps
# them per call), ~0.35 ms per MB on 2 cores; the siamese LSTM's 83 MB cost 29 ms a
# call, a third of its step, when 32 MB blocks held one 18 MB batch each.
BLOCK_BYTES = 256 << 20


def plan_calls(n: int, batch_size: int, steps: int, per_execution: int) -> list[tuple[int, int, int]]:
    """``(start, batch_size, n_steps)`` calls covering ``steps`` batches of ``n`` samples:
    groups of ``per_execution`` full batches, one call for the rest of the full
    batches, then the partial batch."""
    full = min(n // batch_size, steps)
    plan, start = [], 0
    groups, rest = divmod(full, per_execution)
    for count in [per_execution] * groups + ([rest] if rest else []):
        plan.append((start, batch_size, count))
        start += batch_size * count
    if full < steps and start < n:
        plan.append((start, n - start, 1))
    return plan
