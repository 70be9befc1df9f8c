"""compile / fit / evaluate / predict: Keras's training API on compiled JAX steps.

The model's variables, the optimizer state, the metric states and the RNG key
form the step state that compiled loops thread through (docs/design.md, contract 3);
values go back into Variables at epoch ends and when a call returns.
"""

from __future__ import annotations

import collections
import warnings

import jax
import numpy as np

from lamina import optimizers as optimizers_mod
from lamina import random as lrandom
from lamina.distribution.placement import placement_for
from lamina.metrics import Mean
from lamina.optimizers.loss_scale import LossScaleOptimizer
from lamina.state import StatelessScope
from lamina.training import data as data_mod
from lamina.training import data_checks
from lamina.training.arguments import (
    capped_epochs,
    capped_steps,
    check_positive_int,
    verbose_level,
)
from lamina.training.compile_utils import CompiledLoss, CompiledMetrics
from lamina.training.data_preparation import DataPreparation
from lamina.training.fit_position import FitRun, ResumableFit, skip_batches
from lamina.training.logs import LazyLogs
from lamina.training.loops import (
    AUTO_FUSED_STEPS,
    BlockRunner,
    StepLoops,
    device_copy,
    distinct_buffers,
    fuses,
    plan_calls,
)
from lamina.training.prediction import Prediction
from lamina.training.step_state import TestState, TrainState
from lamina.training.steps import StepMethods


class Trainer(StepMethods, Prediction, DataPreparation, ResumableFit):
    """The training half of ``Model`` (mixed into it)."""

    # -- compile --------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, target_tensors=None,
                run_eagerly=False, steps_per_execution=1, jit_compile=True,
                auto_scale_loss=True):
        """Configures the model for training.

        Args:
            optimizer: name or optimizer instance (default ``"rmsprop"``).
            loss: one loss (applied to every output), a list (one per output) or a dict
                keyed by output name. Names, Loss objects and ``fn(y_true, y_pred)`` work.
            metrics: a list of metrics, a list of lists (per output) or a dict by output.
            loss_weights: a list or dict of scalar weights for the per-output losses.
            sample_weight_mode: None or ``"temporal"`` (per-timestep weights; accepted
                for compatibility: weights of shape (batch, time) always work).
            weighted_metrics: metrics that take ``sample_weight`` into account.
            target_tensors: fixed targets used when ``fit``/``evaluate`` get no ``y``.
            run_eagerly: run the steps without ``jax.jit`` (for debugging).
            steps_per_execution: batches run in one compiled call (a ``lax.scan``).
            jit_compile: False also runs eagerly.
            auto_scale_loss: wrap the optimizer in a ``LossScaleOptimizer`` when the
                model's dtype policy is ``"mixed_float16"``.
        """
        if sample_weight_mode not in (None, "temporal") and not isinstance(
                sample_weight_mode, (dict, list)):
            raise ValueError(f"sample_weight_mode must be None or 'temporal', received "
                             f"{sample_weight_mode!r}.")
        self.optimizer = optimizers_mod.get(optimizer)
        if self.optimizer is None:
            raise ValueError(f"Could not interpret optimizer {optimizer!r}.")
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16" and not isinstance(
                self.optimizer, LossScaleOptimizer):  # float16 needs loss scaling (Keras)
            self.optimizer = LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        self.loss = loss
        self._compile_args = (loss, loss_weights, metrics, weighted_metrics)
        self._steps_per_execution = check_positive_int(steps_per_execution,
                                                        "steps_per_execution")
        self.run_eagerly = bool(run_eagerly) or jit_compile is False
        self.sample_weight_mode = sample_weight_mode
        self._compiled_loss = None
        self._compiled_metrics = None
        self._loss_tracker = None
        self._output_loss_trackers = []
        self._jit_cache: dict = {}
        self._trace_counts = collections.Counter()
        self._rng = lrandom.next_key()
        self._target_tensors = target_tensors
        self.compiled = True
        self.stop_training = False
        self.history = None
        self._fit_run = None
        if self.built:
            self._build_compile_structures()

    def _output_names(self, y_pred_example=None) -> list[str] | None:
        """The names losses, metrics and targets are matched by, in output order: a dict
        output's keys (in flattening order), else the output layers' names; for an
        unbuilt subclassed model, names derived from an example output."""
        if self.built and getattr(self, "outputs", None) is not None:
            struct = getattr(self, "_outputs_struct", None)
            if isinstance(struct, dict):
                return sorted(struct)
            return list(self.output_names)
        if y_pred_example is None:
            return None
        if isinstance(y_pred_example, dict):
            return sorted(y_pred_example)
        n = len(y_pred_example) if isinstance(y_pred_example, (list, tuple)) else 1
        return [f"output_{i + 1}" for i in range(n)] if n > 1 else ["output"]

    def _build_compile_structures(self, y_pred_example=None) -> None:
        if self._compiled_loss is not None:
            return
        names = self._output_names(y_pred_example)
        if names is None:
            return
        loss, loss_weights, metrics, weighted = self._compile_args
        self._compiled_loss = CompiledLoss(loss, loss_weights, names)
        self._compiled_metrics = CompiledMetrics(metrics, weighted, names)
        self._loss_tracker = Mean(name="loss")
        self._output_loss_trackers = [Mean(name=n) for n in self._compiled_loss.log_names]
        self._reported_loss_trackers = list(self._output_loss_trackers)
        if isinstance(loss, dict) and isinstance(getattr(self, "_outputs_struct", None), dict):
            # Keras reports a dict-output model's losses in the loss dict's order.
            by_name = {t.name: t for t in self._output_loss_trackers}
            first = [by_name.pop(f"{k}_loss") for k in loss if f"{k}_loss" in by_name]
            self._reported_loss_trackers = first + list(by_name.values())

    def _require_compiled(self, what: str) -> None:
        if not getattr(self, "compiled", False):
            raise ValueError(f"You must call `compile()` before calling `{what}()` on model "
                             f"'{self.name}'.")

    def _present_batch(self, x, y, sample_weight) -> tuple:
        """``(x, y, sample_weight)`` shaped as a step receives them: one array for a
        single input or output, outputs by name for dict outputs, lists otherwise."""
        if isinstance(x, list) and len(x) == 1 and data_mod._functional(self):
            x = x[0]
        names = self._compiled_loss.output_names if self._compiled_loss else None

        def present(values):
            if values is None or names is None:
                return values
            if len(values) == 1:
                return values[0]
            if isinstance(getattr(self, "_outputs_struct", None), dict):
                return dict(zip(names, values))
            return list(values)

        return x, present(y), present(sample_weight)

    # -- state ----------------------------------------------------------------
    def _fresh_metrics_variables(self) -> list:
        return [value for metric in self.metrics for value in metric.stateless_reset_state()]

    def _train_state(self) -> TrainState:
        """The state of a training call, built once per call from the Variables.

        It holds the Variables' own arrays, which the compiled train calls donate (no
        second copy of the weights and optimizer state in memory); the loops write the
        results back before batch callbacks run and when a pass ends or raises, so
        callbacks, validation and an interrupted fit see the latest values.
        """
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        for opt in self._optimizers():
            if not opt.built:
                raise ValueError(f"Optimizer '{opt.name}' held by model '{self.name}' is not "
                                 "built: call `optimizer.build(variables)` with the variables "
                                 "it updates (e.g. in `compile`) before `fit`.")
        self._written_optimizer_states = [opt.state for opt in self._optimizers()]
        return distinct_buffers(TrainState(
            [v.value for v in self.trainable_variables],
            [v.value for v in self.non_trainable_variables],
            [v.value for v in self.optimizer_variables],
            device_copy(self._fresh_metrics_variables())))

    def _test_state(self) -> TestState:
        return TestState([v.value for v in self.trainable_variables],
                         [v.value for v in self.non_trainable_variables],
                         self._fresh_metrics_variables())

    def _state_targets(self) -> tuple:
        """The Variables a step state is written to: trainable, non-trainable, metric and
        optimizer variables (walking the layers for them costs ~0.1 ms on a 20-layer
        model, so a loop takes them once)."""
        return (self.trainable_variables, self.non_trainable_variables,
                self.metrics_variables, self.optimizer_variables)

    def _write_back(self, state, targets: tuple | None = None):
        """Writes a step state into the Variables (metric values too: ``model.metrics``
        then hold the last results); returns the state. ``targets``: what
        :meth:`_state_targets` returned, when the caller kept it."""
        trainable, non_trainable, metrics, optimizer = targets or self._state_targets()
        for var, value in zip(trainable, state.trainable_variables):
            var.write(value)
        for var, value in zip(non_trainable, state.non_trainable_variables):
            var.write(value)
        for var, value in zip(metrics, state.metrics_variables):
            var.write(value)
        if isinstance(state, TrainState):
            for var, value in zip(optimizer, state.optimizer_variables):
                var.write(value)
            self._written_optimizer_states = [opt.state for opt in self._optimizers()]
        return state

    def _adopt_optimizer_changes(self, state: TrainState) -> TrainState:
        """Takes up optimizer values a callback replaced (e.g. a new learning rate)."""
        held = [opt.state for opt in self._optimizers()]
        if all(a is b for a, b in zip(held, self._written_optimizer_states)):
            return state
        self._written_optimizer_states = held
        return distinct_buffers(state._replace(
            optimizer_variables=[v.value for v in self.optimizer_variables]))

    # -- compiled functions ---------------------------------------------------
    def _function(self, kind: str, indexed: bool):
        """The compiled loop of ``kind`` ("train", "test" or "predict") over batches:
        blocks gathered from in-memory data (``indexed``, a ``BlockRunner``) or given
        one at a time. Cached per ``(kind, indexed)`` in ``self._jit_cache`` until the
        next ``compile`` (and per distribution, which places state and batches)."""
        if self._rng is None:
            self._rng = lrandom.next_key()
        placement = placement_for(self)
        key = (kind, indexed) if placement is None else (kind, indexed, placement.distribution)
        fn = self._jit_cache.get(key)
        if fn is None:
            loops = StepLoops(self, kind)
            if indexed:
                fn = BlockRunner(loops, jit=not self.run_eagerly, placement=placement)
            elif placement is not None:
                fn = placement.compile(loops.single, batch_axis=0, batch_args=3,
                                       donate=kind == "train", jit=not self.run_eagerly)
            elif self.run_eagerly:
                fn = loops.single
            else:
                fn = jax.jit(loops.single, donate_argnums=(0,) if kind == "train" else ())
            self._jit_cache[key] = fn
        return fn

    def _logs(self, state, step_logs=None, kind: str | None = None) -> dict:
        """Epoch or batch logs: the results of ``self.metrics`` for the state's metric
        values, or what an overridden step returned when it logs other names (Keras's
        rule). ``step_logs`` of a ``kind`` ("train"/"test") call whose step is not
        overridden are those results already (``StepLoops._call_logs``)."""
        if step_logs is not None and kind is not None and not self._overrides(f"{kind}_step"):
            return {k: _to_python(v) for k, v in step_logs.items()}
        fn = self._jit_cache.get("results")
        if fn is None:
            def results(metrics_variables):
                with StatelessScope(zip(self.metrics_variables, metrics_variables)):
                    return self.get_metrics_result()

            fn = self._jit_cache["results"] = results if self.run_eagerly else jax.jit(results)
        logs = fn(state.metrics_variables)
        if step_logs is not None and isinstance(step_logs, dict) and (
                set(step_logs) != set(logs)):
            logs = step_logs
        return {k: _to_python(v) for k, v in logs.items()}

    # -- fit ------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model for ``epochs`` epochs; returns a ``History``.

        Arguments and defaults are Keras's: ``batch_size`` 32 for arrays, the last
        partial batch kept, ``validation_split`` taken from the end before
        shuffling, ``shuffle`` True/False/``"batch"``.
        """
        from lamina.callbacks import CallbackList

        self._require_compiled("fit")
        verbose = verbose_level(verbose)
        batch_size = check_positive_int(batch_size, "batch_size")
        epochs = capped_epochs(check_positive_int(epochs, "epochs"))
        steps_per_epoch = capped_steps(check_positive_int(steps_per_epoch, "steps_per_epoch"))
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch', received {shuffle!r}.")
        if isinstance(validation_freq, int):
            val_epochs = None
            if validation_freq < 1:
                raise ValueError(f"validation_freq must be >= 1, received {validation_freq}.")
        else:
            val_epochs = set(int(e) for e in validation_freq)
        self._build_compile_structures()
        train = self._prepare(x, y, sample_weight, class_weight, "fit", defer_checks=True)
        # Run while the first compiled call computes (a pass over all the data: 80 ms of
        # a 1.5 s siamese epoch), or before the loop ends if no call runs.
        pending_checks = data_checks.PendingChecks(
            train.pending_checks if isinstance(train, data_mod.ArrayData) else [])
        val = None
        if validation_split and validation_data is not None:
            warnings.warn("Both validation_split and validation_data were given; "
                          "validation_data is used.")
        if validation_data is not None:
            val = self._prepare_validation(validation_data)
        elif validation_split:
            if not isinstance(train, data_mod.ArrayData):
                raise ValueError("validation_split is only supported for array inputs, not for "
                                 f"{type(x).__name__}.")
            train, val = train.split(validation_split)
        in_memory = isinstance(train, data_mod.ArrayData)
        if in_memory:
            batch_size = batch_size or 32
            self._build_from_first_batch(*train.tree()[:2])
            steps = -(-train.num_samples // batch_size)
            if steps_per_epoch:
                steps = min(steps, steps_per_epoch)
        else:
            stream = self._stream(train, steps_per_epoch, batch_size, "fit",
                                  lrandom.numpy_rng() if shuffle else None)
            steps = stream.num_steps
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        fresh_metrics = self._fresh_metrics_variables()  # kept: each epoch starts from copies
        rng = lrandom.numpy_rng() if in_memory else stream.shuffle_rng
        # The loop's position lives in `run` (docs/design.md, "Resuming"): a callback may
        # replace it from on_train_begin, and reads it at step boundaries.
        run = self._fit_run = FitRun(
            self, self._train_state(), initial_epoch, {
                "num_samples": train.num_samples if in_memory else None,
                "batch_size": batch_size, "steps": steps, "shuffle": shuffle},
            rng if shuffle else None, in_memory)
        try:
            callback_list.on_train_begin()
            if run.resumed:  # the Variables take the restored values too
                run.state = self._write_back(run.state)
                run.apply_history(self.history)
            host_data = jax.device_get(train.tree()) if in_memory else None
            epoch_logs = {}
            for epoch in range(run.epoch, epochs):
                if run.step == 0:  # copies: the train step donates its inputs
                    run.state = run.state._replace(
                        metrics_variables=device_copy(list(fresh_metrics)))
                callback_list.on_epoch_begin(epoch)
                run.state = self._adopt_optimizer_changes(run.state)
                if in_memory and run.step == 0:
                    run.order = self._epoch_order(train.num_samples, batch_size, shuffle, rng)
                if in_memory:
                    state, step_logs = self._run_indexed_epoch(
                        "train", run.state, host_data, train.num_samples, batch_size, steps,
                        shuffle, run.order, callback_list, run, after_first_call=pending_checks)
                else:
                    state, step_logs = self._run_stream_epoch("train", run.state, stream,
                                                              callback_list, class_weight, run)
                epoch_logs = self._logs(state, step_logs, "train")
                run_val = val is not None and (
                    (epoch + 1) in val_epochs if val_epochs is not None
                    else (epoch + 1) % validation_freq == 0)
                if run_val:
                    val_logs = self._evaluate_data(val, validation_batch_size or batch_size or 32,
                                                   validation_steps, callback_list, in_fit=True)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                run.end_epoch(state)
                callback_list.on_epoch_end(epoch, epoch_logs)
                run.state = self._adopt_optimizer_changes(run.state)
                if self.stop_training:
                    break
            pending_checks()
            self._write_back(run.state)
        finally:
            self._fit_run = None
        callback_list.on_train_end(logs=epoch_logs)
        self.optimizer.finalize_variable_values(self.trainable_variables)
        return self.history

    def _stream(self, source, steps, batch_size, what: str, shuffle_rng=None):
        """StreamData over ``source``, with the model and metrics built from its first
        batch (an unbuilt model is built on it, as Keras does)."""
        if batch_size is not None:
            warnings.warn(f"`batch_size` is ignored by `{what}` when `x` is a generator, "
                          f"iterator or dataset ({type(source).__name__}): it yields "
                          "batches itself.", stacklevel=3)
        placement = placement_for(self)  # a distribution splits the batches it reads ahead
        stream = data_mod.StreamData(source, steps, shuffle_rng, place=jax.device_put if (
            placement is None) else placement.place_rows)
        bx, by, _ = stream.peek()
        xs = data_mod.structure_inputs(self, bx)
        self._build_from_first_batch(xs, None)
        if by is not None:
            self._build_from_first_batch(
                xs, data_mod.structure_targets(self._compiled_loss.output_names, by))
        return stream

    def _epoch_order(self, n: int, batch_size: int, shuffle, rng) -> np.ndarray | None:
        """The sample order of an epoch; None for data order (batches are then slices)."""
        if shuffle is True:
            return rng.permutation(n).astype("int32")
        if shuffle == "batch":
            starts = rng.permutation(-(-n // batch_size)) * batch_size
            return np.concatenate([np.arange(s, min(s + batch_size, n))
                                   for s in starts]).astype("int32")
        return None

    def _run_indexed_epoch(self, kind, state, host_data, n, batch_size, steps, shuffle, order,
                           callback_list, run=None, after_first_call=None):
        """One pass of ``kind`` ("train" or "test") over in-memory data, in sample ``order``
        (None: data order); returns the new state and the last logs an overridden step
        returned (else None). With a ``FitRun``, the pass starts after the ``run.step``
        batches already run and records its progress there. ``after_first_call`` (a
        function of no arguments) runs once the first compiled call is dispatched."""
        fn = self._function(kind, indexed=True)
        if shuffle == "batch":
            # Batches are contiguous runs of the order; the partial one may sit anywhere,
            # so run this epoch batch by batch with each batch's own size.
            plan = []
            start = 0
            while start < n and len(plan) < steps:
                size = min(batch_size, n - start)
                plan.append((start, size, 1))
                start += size
        else:
            # Calls of whole blocks: a block holds fewer batches for large rows, and
            # each call costs its own temporaries (loops.BLOCK_BYTES).
            per_call = min(self._fused_steps(callback_list, kind),
                           fn.block_steps(host_data, batch_size))
            plan = plan_calls(n, batch_size, steps, per_call)
        perm = order
        step = 0
        if run is not None:
            plan = skip_batches(plan, run.step)
            step = run.step
        step_logs = None
        needs_logs = callback_list.needs_batch_logs
        batch_begin = getattr(callback_list, f"on_{kind}_batch_begin")
        batch_end = getattr(callback_list, f"on_{kind}_batch_end")
        targets = self._state_targets() if kind == "train" else None
        try:
            for start, size, count in plan:
                for k in range(count):
                    batch_begin(step + k)
                state, self._rng, step_logs = fn(state, self._rng, host_data, perm, start,
                                                 batch_size=size, n_steps=count)
                if after_first_call is not None:
                    after_first_call()
                    after_first_call = None
                step += count
                if run is not None:
                    run.advance(step, state)
                if targets is not None and needs_logs:  # batch callbacks see the weights
                    self._write_back(state, targets)
                batch_end(step - 1, self._lazy_logs(state, step_logs, kind) if needs_logs else {})
                if kind == "train" and needs_logs:
                    state = self._adopt_optimizer_changes(state)
                # Only training stops early: evaluation always sees every batch.
                if kind == "train" and self.stop_training:
                    break
        finally:
            if targets is not None:  # the calls donated the arrays the Variables held
                self._write_back(state, targets)
        return state, step_logs

    def _lazy_logs(self, state, step_logs, kind: str) -> LazyLogs:
        return LazyLogs(lambda: self._logs(state, step_logs, kind))

    def _fused_steps(self, callback_list, mode: str) -> int:
        """Batches per compiled call: 1 where steps do not fuse (``loops.fuses``), else
        ``steps_per_execution``, or more when no callback besides the progress bar acts
        on single batches (the bar just advances in larger strides), so host dispatch
        stops dominating small models."""
        from lamina.callbacks import ProgbarLogger

        if not fuses(self):
            return 1
        per_execution = self._steps_per_execution_or1
        if per_execution > 1:
            return per_execution
        if any(cb._needs_batch_hooks(mode) for cb in callback_list.callbacks
               if not isinstance(cb, ProgbarLogger)):
            return per_execution
        return AUTO_FUSED_STEPS

    def _run_stream_epoch(self, kind, state, stream, callback_list, class_weight=None,
                          run=None):
        fn = self._function(kind, indexed=False)
        needs_logs = callback_list.needs_batch_logs
        names = self._compiled_loss.output_names
        step_logs = None
        targets = self._state_targets() if kind == "train" else None
        try:
            for step, (bx, by, bsw) in enumerate(stream.epoch()):
                getattr(callback_list, f"on_{kind}_batch_begin")(step)
                xs = data_mod.structure_inputs(self, bx)
                ys = data_mod.structure_targets(names, by) if by is not None else None
                sws = self._structure_sample_weight(bsw, names) if bsw is not None else None
                if class_weight is not None:
                    sws = self._apply_class_weight(class_weight, ys, sws)
                state, self._rng, step_logs = fn(state, self._rng, xs, ys, sws)
                if run is not None:
                    run.advance(step + 1, state)
                if targets is not None and needs_logs:  # batch callbacks see the weights
                    self._write_back(state, targets)
                getattr(callback_list, f"on_{kind}_batch_end")(
                    step, self._lazy_logs(state, step_logs, kind) if needs_logs else {})
                if kind == "train" and self.stop_training:
                    break
        finally:
            if targets is not None:  # the calls donated the arrays the Variables held
                self._write_back(state, targets)
        return state, step_logs

    # -- evaluate -------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Returns the loss and metric values in test mode (a list, or a dict).

        A single-output model with no metrics returns a scalar loss, as Keras.
        """
        if kwargs:
            raise ValueError(f"Unrecognized arguments to evaluate: {sorted(kwargs)}.")
        self._require_compiled("evaluate")
        batch_size = check_positive_int(batch_size, "batch_size")
        steps = capped_steps(check_positive_int(steps, "steps"))
        verbose = verbose_level(verbose)
        self._build_compile_structures()
        data = self._prepare(x, y, sample_weight, None, "evaluate")
        if not isinstance(data, data_mod.ArrayData):
            data = self._stream(data, steps, batch_size, "evaluate")
        from lamina.callbacks import CallbackList

        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=steps)
        logs = self._evaluate_data(data, batch_size or 32, steps, callback_list)
        return self._format_logs(logs, return_dict)

    def _format_logs(self, logs: dict, return_dict: bool):
        """A dict, or Keras's list order: the names of ``self.metrics`` (the compiled
        metrics' own names in their place), then the remaining keys sorted; one value
        alone is a scalar."""
        if return_dict:
            return logs
        order = []
        for metric in self.metrics:
            if isinstance(metric, CompiledMetrics):
                order.extend(m.name for m in metric.metrics)
            else:
                order.append(metric.name)
        keys = [k for k in dict.fromkeys(order) if k in logs]
        keys += sorted(k for k in logs if k not in keys)
        values = [logs[k] for k in keys]
        return values[0] if len(values) == 1 else values

    def _evaluate_data(self, data, batch_size, steps, callback_list, in_fit=False) -> dict:
        """Runs the test loop over ``data`` with ``callback_list``'s test hooks. Inside
        ``fit`` (validation) the fit's callbacks get the hooks, as in Keras, and the
        metric results are not written back to ``model.metrics``."""
        if isinstance(data, data_mod.ArrayData):
            self._build_from_first_batch(*data.tree()[:2])
        elif not isinstance(data, data_mod.StreamData):
            data = self._stream(data, steps, None, "fit (validation_data)")
        callback_list.on_test_begin()
        # Read after on_test_begin: a callback may swap the weights (SwapEMAWeights).
        # Inside fit the Variables hold the train state (written back at epoch end).
        state = self._test_state()
        if isinstance(data, data_mod.ArrayData):
            n = data.num_samples
            total = -(-n // batch_size)
            state, step_logs = self._run_indexed_epoch(
                "test", state, jax.device_get(data.tree()), n, batch_size,
                min(total, steps or total), False, None, callback_list)
        else:
            state, step_logs = self._run_stream_epoch("test", state, data, callback_list)
        logs = self._logs(state, step_logs, "test")
        if not in_fit:
            self._write_back(state)
        callback_list.on_test_end(logs)
        return logs

    @property
    def _steps_per_execution_or1(self) -> int:
        return getattr(self, "_steps_per_execution", None) or 1

    # -- single batches -------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """Runs one gradient update on one batch; returns the batch's loss and metrics."""
        self._require_compiled("train_on_batch")
        self._build_compile_structures()
        data = self._prepare(x, y, sample_weight, class_weight, "train_on_batch")
        self._build_from_first_batch(*data.tree()[:2])
        state = self._train_state()
        state, self._rng, step_logs = self._function("train", indexed=False)(
            state, self._rng, *data.tree())
        logs = self._logs(state, step_logs, "train")
        self._write_back(state)
        return self._format_logs(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Evaluates one batch; returns its loss and metrics."""
        self._require_compiled("test_on_batch")
        self._build_compile_structures()
        data = self._prepare(x, y, sample_weight, None, "test_on_batch")
        self._build_from_first_batch(*data.tree()[:2])
        state, self._rng, step_logs = self._function("test", indexed=False)(
            self._test_state(), self._rng, *data.tree())
        logs = self._logs(state, step_logs, "test")
        self._write_back(state)
        return self._format_logs(logs, return_dict)

    # -- metrics --------------------------------------------------------------
    @property
    def metrics(self) -> list:
        """The metrics the steps update: the loss tracker, the compiled metrics (one
        ``compile_metrics`` entry, when ``compile`` was given metrics), the per-output
        loss trackers, then metrics the model holds as attributes."""
        out = []
        if getattr(self, "_loss_tracker", None) is not None:
            out.append(self._loss_tracker)
            if not self._compiled_metrics.empty:
                out.append(self._compiled_metrics)
            out.extend(self._reported_loss_trackers)
        for metric in self.__dict__.get("_tracked_metrics", []):
            if all(metric is not m for m in out):
                out.append(metric)
        return out

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Puts every metric of ``self.metrics`` back to its initial state."""
        for metric in self.metrics:
            metric.reset_state()


def _to_python(value):
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr
