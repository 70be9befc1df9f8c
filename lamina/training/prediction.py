"""predict and predict_on_batch: the outputs of a model over data, in compiled loops."""

from __future__ import annotations

import warnings

import jax
import numpy as np

from lamina import random as lrandom
from lamina.distribution.placement import gather_global, placement_for
from lamina.training import data as data_mod
from lamina.training.arguments import capped_steps, check_positive_int, verbose_level
from lamina.training.loops import StepLoops, plan_calls
from lamina.training.staging import HostStaging
from lamina.training.step_state import PredictState

# Rows one predict call covers at most when fusing batches: on 2 CPU cores a call of
# 1,024 rows of the guide's MLP is compute-bound, and a scan over larger chunks runs
# slower than separate calls (measured in docs/performance.md).
PREDICT_ROWS_PER_CALL = 1024


class Prediction:
    """The prediction half of the Trainer mixin."""

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Generates output predictions: an array, a list or a dict like the outputs."""
        batch_size = check_positive_int(batch_size, "batch_size")
        steps = capped_steps(check_positive_int(steps, "steps"))
        verbose = verbose_level(verbose)
        if data_mod.is_in_memory(x):
            batch_size = batch_size or 32
            if not callbacks and verbose == 0 and (
                    (recorded := self._predict_recorded(x, batch_size)) is not None):
                return recorded
            xs, n = self._predict_inputs(x)
            if 0 < n <= batch_size and not callbacks and verbose == 0:
                return self._predict_rows(xs, n)  # one batch, nothing to report
        from lamina.callbacks import CallbackList  # not before: a first one-batch predict
        # would import the callbacks package (0.025 s from source)

        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=steps)
        if data_mod.is_in_memory(x):
            callback_list.on_predict_begin()  # first: a callback may swap the weights
            state = self._predict_state()
            total = -(-n // batch_size)
            # Batches are sliced from the host arrays (no copy of the whole data) and
            # enough of them go into one call to amortize dispatch; outputs stay on
            # the device until all calls are queued.
            group = min(self._fused_steps(callback_list, "predict"),
                        max(1, PREDICT_ROWS_PER_CALL // batch_size))
            fn = self._predict_batches_function()
            staging = self._staging
            chunks, step = [], 0
            for start, size, count in plan_calls(n, batch_size, min(total, steps or total),
                                                 group):
                callback_list.on_predict_batch_begin(step)
                rows = staging.stage(jax.tree_util.tree_map(
                    lambda a, s=start, e=start + size * count: a[s:e], xs))
                self._rng, out = fn(state, self._rng, rows, batch_size=size)
                staging.used_by(out)
                chunks.append(out)
                step += count
                callback_list.on_predict_batch_end(step - 1, {"outputs": out})
        else:
            placement = placement_for(self)  # a distribution splits the batches read ahead
            stream = data_mod.StreamData(x, steps, place=jax.device_put if placement is None
                                         else placement.place_rows)
            if batch_size is not None:
                warnings.warn("`batch_size` is ignored by `predict` when `x` is a generator, "
                              "iterator or dataset: it yields batches itself.", stacklevel=2)
            fn = self._function("predict", indexed=False)
            callback_list.on_predict_begin()
            chunks, state = [], None
            for step, (bx, _, _) in enumerate(stream.epoch()):
                xs = data_mod.structure_inputs(self, bx)
                if state is None:
                    self._build_model_on(xs)
                    state = self._predict_state()
                callback_list.on_predict_batch_begin(step)
                _, self._rng, out = fn(state, self._rng, xs)
                chunks.append(out)
                callback_list.on_predict_batch_end(step, {"outputs": out})
        callback_list.on_predict_end()
        if not chunks:
            raise ValueError("predict received no data batches.")
        chunks = jax.device_get(gather_global(chunks))  # one wait for all queued calls
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *chunks)

    def _predict_batches_function(self):
        """``StepLoops.batches`` of predict, compiled (per row count and batch size)."""
        if self._rng is None:
            self._rng = lrandom.next_key()
        placement = placement_for(self)
        key = ("predict", "batches") if placement is None else (
            "predict", "batches", placement.distribution)
        fn = self._jit_cache.get(key)
        if fn is None:
            fn = StepLoops(self, "predict").batches
            if placement is not None:
                fn = placement.compile(fn, batch_axis=0, batch_args=1, jit=not self.run_eagerly,
                                       static_argnames=("batch_size",))
            elif not self.run_eagerly:
                fn = jax.jit(fn, static_argnames=("batch_size",))
            self._jit_cache[key] = fn
        return fn

    @property
    def _staging(self) -> HostStaging:
        """The model's predict staging buffers, kept between calls (warm memory)."""
        staging = self.__dict__.get("_host_staging")
        if staging is None:
            staging = self.__dict__["_host_staging"] = HostStaging()
        return staging

    def _predict_state(self) -> PredictState:
        trainable_variables, non_trainable_variables = self._eager_variables()
        return PredictState([v.value for v in trainable_variables],
                            [v.value for v in non_trainable_variables])

    def predict_on_batch(self, x):
        """Predictions for one batch of inputs."""
        recorded = self._predict_recorded(x)
        if recorded is not None:
            return recorded
        xs, n = self._predict_inputs(x)
        return self._predict_rows(xs, n)

    def _predict_recorded(self, x, most_rows: int | None = None):
        """NumPy outputs for a NumPy ``x`` of at most ``most_rows`` rows through the
        compiled call an earlier ``model(x)`` of its shape recorded
        (``_fast_eager_call``), or None."""
        if type(x) is not np.ndarray or not x.ndim or not 0 < len(x) <= (most_rows or len(x)):
            return None
        outputs = self._fast_eager_call(x)
        return None if outputs is None else jax.tree_util.tree_map(np.array, outputs)

    def _predict_inputs(self, x):
        """``x`` checked and arranged as the model's inputs, and its sample count; an
        unbuilt model is built on it."""
        xs = data_mod.structure_inputs(self, x)
        self._check_input_arrays(xs)
        n = data_mod.ArrayData(xs, input_names=getattr(self, "input_names", None)).num_samples
        self._build_model_on(xs)
        return xs, n

    def _predict_rows(self, xs, n: int):
        """The outputs for all ``n`` rows of ``xs`` as one batch, as NumPy arrays."""
        if n == 0:
            raise ValueError("predict received no data batches.")
        fn = self._predict_batches_function()
        self._rng, out = fn(self._predict_state(), self._rng, xs, batch_size=n)
        return jax.tree_util.tree_map(np.array, gather_global(out))
