"""How a layer runs on concrete arrays outside a model's trace.

``StatelessExecution`` is the part of Layer that executes it as a pure function of
variable values (contract 1): ``stateless_call``; the eager top-level call, which
runs the layer statelessly with the Variables' current values and writes the new
non-trainable values back; and, for functional models, the compiled form of that
eager call (one jitted program per training flag).
"""

from __future__ import annotations

import jax
import numpy as np

from lamina import random as lrandom
from lamina.call_context import training_context
from lamina.distribution import context as distribution_context
from lamina.dtype_policy import get_autocast_scope
from lamina.graph import flatten
from lamina.jaxpr_utils import reads_last_input
from lamina.layers.input_spec import assert_input_compatibility
from lamina.layers.layer_masks import _attach_masks
from lamina.layers.layer_utils import _attached_mask, _StatelessRun
from lamina.state import StatelessScope, current_scope

# Counts changes to any layer's variable or sub-layer lists and trainable flags; a
# layer's kept variable lists (StatelessExecution._eager_variables) are valid while
# it is unchanged.
_generation = 0


def structure_changed() -> None:
    """Marks every layer's kept variable lists stale (a variable or sub-layer was
    added somewhere, or a layer's ``trainable`` flipped)."""
    global _generation
    _generation += 1


class StatelessExecution:
    """Mixin of Layer: stateless and eager (top-level) execution."""

    # Functional models (whose layers were all traced when the graph was built) run
    # eager calls as one compiled stateless_call, cached per training flag.
    _compiles_eager_calls = False

    def _eager_variables(self) -> tuple[list, list]:
        """``(trainable_variables, non_trainable_variables)``, kept between calls.

        Walking the layer tree costs as much as a small model's compiled call, so the
        lists are kept (with the eager-call programs, which Sequential drops when its
        stack changes) until a layer anywhere gains a variable or sub-layer or flips
        ``trainable`` (``structure_changed``), the layer's own sub-layer list changes
        length, or one of the variables flips ``trainable``.
        """
        kept = self._kept_structure(self.__dict__.setdefault("_eager_call_cache", {}))
        if kept is None:
            tvars, ntvars = self.trainable_variables, self.non_trainable_variables
            both = tvars + ntvars
            kept = ((_generation, len(self._layers)), tvars, ntvars, both,
                    [v.trainable for v in both], self._flatten_layers())
            self._eager_call_cache["variables"] = kept
        return kept[1], kept[2]

    def _kept_structure(self, cache: dict):
        """``(key, trainable, non_trainable, both, their trainable flags, all layers)``
        as :meth:`_eager_variables` kept them, or None when they must be recomputed."""
        kept = cache.get("variables")
        if (kept is None or kept[0] != (_generation, len(self._layers))
                or [v.trainable for v in kept[3]] != kept[4]):
            return None
        return kept

    def _fast_eager_call(self, x):
        """The outputs of ``self(x)`` for a NumPy ``x`` through the compiled call that an
        earlier call with the same shape and dtype recorded, or None (the full path then
        runs).

        Recorded only after a call that gave no masks and no layer losses, and used only
        while the structure and trainable flags are unchanged and no scope is active: the
        earlier call did the input checks and conversions, so a repeated one-sample call
        costs the compiled call and a few microseconds.
        """
        cache = self.__dict__.get("_eager_call_cache")
        entry = None if cache is None else cache.get(("fast", x.shape, x.dtype))
        if entry is None or current_scope() is not None or get_autocast_scope() is not None or (
                distribution_context.distribution() is not None):
            return None
        kept = self._kept_structure(cache)
        if kept is None:
            return None
        fn, seed = entry
        outputs, _, new_nt, _ = fn([v._value for v in kept[1]], [v._value for v in kept[2]],
                                   (x,), None, lrandom.next_key() if seed is None else seed)
        for var, value in zip(kept[2], new_nt):
            var.write(value)
        for layer in kept[5]:
            if layer._losses:
                layer._losses = []
        return outputs

    def _concrete_call(self, args: tuple, kwargs: dict):
        repeatable = not kwargs and len(args) == 1 and type(args[0]) is np.ndarray
        if current_scope() is not None:
            # Inside a model's forward pass its graph passes the masks (_run_graph).
            args, kwargs = self._convert_inputs(args, kwargs)
            return self._call_in_scope(args, kwargs)
        # Top level (eager): masks travel on the arrays as `_keras_mask`, as in Keras.
        kwargs, previous_mask = self._masks_for_call(args, kwargs, _attached_mask)
        args, kwargs = self._convert_inputs(args, kwargs,
                                            keep_numpy=self._compiles_eager_calls and self.built)
        if kwargs.get("mask") is not None:
            previous_mask = kwargs["mask"]
        # Go through the single execution path with current values.
        if not self.built:
            self._build_by_tracing(args, kwargs)
        assert_input_compatibility(self.input_spec, args[0], self.name)
        trainable_variables, non_trainable_variables = self._eager_variables()
        trainable = [v.value for v in trainable_variables]
        non_trainable = [v.value for v in non_trainable_variables]
        if self._compiles_eager_calls:
            run = self._compiled_call(trainable, non_trainable, args, kwargs)
            # The model's graph computed its outputs' masks along with them.
            masks = self._flat_masks(run.masks, flatten(run.outputs))
        else:
            run = self._run_stateless(trainable, non_trainable, args, kwargs, seed=None)
            masks = self._output_masks(args[0], run.outputs, previous_mask)
        for var, value in zip(non_trainable_variables, run.non_trainable):
            var.write(value)
        for layer in self._flatten_layers():
            layer._losses = []
        self._losses = run.activity_losses
        _attach_masks(run.outputs, masks)
        if (repeatable and self._compiles_eager_calls and not run.activity_losses
                and all(m is None for m in masks)):
            cache = self._eager_call_cache
            cache["fast", args[0].shape, args[0].dtype] = (cache[None], cache["fixed_seed", None])
        return run.outputs

    def _compiled_call(self, trainable, non_trainable, args, kwargs) -> _StatelessRun:
        if set(kwargs) - {"training", "mask"}:
            return self._run_stateless(trainable, non_trainable, args, kwargs, seed=None)
        training = kwargs.get("training")
        cache = self.__dict__.setdefault("_eager_call_cache", {})
        fn = cache.get(training)
        if fn is None:
            def pure(tv, ntv, args, mask, seed):
                kw = {} if training is None else {"training": training}
                if mask is not None:
                    kw["mask"] = mask
                run = self._run_stateless(tv, ntv, args, kw, seed, with_masks=True)
                return run.outputs, run.masks, run.non_trainable, run.activity_losses

            fn = jax.jit(pure)
            seed = lrandom.next_key()
            # Traced once here (jit reuses the trace): a graph that never reads its key
            # keeps this one, since making a key costs more than a small model's call.
            traced = fn.trace(trainable, non_trainable, args, kwargs.get("mask"), seed)
            cache[training] = fn
            cache["fixed_seed", training] = None if reads_last_input(traced.jaxpr.jaxpr) else seed
        # Otherwise a fresh key per call, so random layers draw new values, as eagerly.
        seed = cache["fixed_seed", training]
        outputs, masks, new_nt, losses = fn(trainable, non_trainable, args, kwargs.get("mask"),
                                            lrandom.next_key() if seed is None else seed)
        return _StatelessRun(outputs, masks, new_nt, losses, [])

    def stateless_call(self, trainable_variables, non_trainable_variables, *args,
                       return_losses: bool = False, seed=None, **kwargs):
        """Runs the layer as a pure function of the given variable values.

        Args:
            trainable_variables: values for ``self.trainable_variables``, in order.
            non_trainable_variables: values for ``self.non_trainable_variables``.
            *args, **kwargs: the call's inputs and options (``training=...``).
            return_losses: also return the list of losses added during the call.
            seed: an int or ``jax.random`` key that random layers derive keys from.

        Returns:
            ``(outputs, new_non_trainable_values)``, plus ``losses`` when asked.
        """
        tvars, ntvars = self.trainable_variables, self.non_trainable_variables
        if len(trainable_variables) != len(tvars) or len(non_trainable_variables) != len(ntvars):
            raise ValueError(
                f"stateless_call of '{self.name}' expects {len(tvars)} trainable and "
                f"{len(ntvars)} non-trainable values, received {len(trainable_variables)} and "
                f"{len(non_trainable_variables)}.")
        run = self._run_stateless(trainable_variables, non_trainable_variables, args, kwargs,
                                  seed)
        if return_losses:
            return run.outputs, run.non_trainable, run.activity_losses + run.regularization_losses
        return run.outputs, run.non_trainable

    def _run_stateless(self, trainable_values, non_trainable_values, args, kwargs, seed,
                       with_masks: bool = False) -> _StatelessRun:
        """Calls the layer in a scope mapping its variables to the given values.

        With ``with_masks``, a model also returns the Keras masks of its outputs
        (used by the train step to mask losses and metrics).
        """
        if isinstance(seed, int):
            seed = jax.random.PRNGKey(seed)
        tvars, ntvars = self.trainable_variables, self.non_trainable_variables
        mapping = list(zip(tvars, trainable_values)) + list(zip(ntvars, non_trainable_values))
        masks = None
        with StatelessScope(mapping, key=seed, collect_losses=True) as scope:
            args, kwargs = self._convert_inputs(args, kwargs)
            if with_masks and _call_runs_graph(self):
                kwargs = self._resolve_training(kwargs)
                with training_context(kwargs.get("training")):
                    outputs, masks = self._run_graph(*args, **kwargs)
                self._add_activity_loss(outputs)
            else:
                outputs = self._call_in_scope(args, kwargs)
            reg = self._regularization_losses()
        return _StatelessRun(outputs, masks, [scope.new_value(v) for v in ntvars],
                             list(scope.losses), reg)


def _call_runs_graph(layer) -> bool:
    """Whether the layer's ``call`` is the one defined next to its ``_run_graph`` (a
    functional or Sequential model whose ``call`` no subclass overrides): running the
    graph directly is then the same call, and also gives the outputs' masks."""
    owner = next(klass for klass in type(layer).__mro__ if "call" in vars(klass))
    return "_run_graph" in vars(owner)
