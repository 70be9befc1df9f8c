"""The public step methods of a model: what ``fit``/``evaluate``/``predict`` run per batch.

These are Keras's JAX-backend methods, with the same signatures, so code written
for Keras's "customizing fit with JAX" guide runs unchanged:

- ``train_step(state, data) -> (logs, state)`` with ``state`` a :class:`TrainState`;
- ``test_step(state, data) -> (logs, state)`` with a :class:`TestState`;
- ``predict_step(state, data) -> (outputs, non_trainable_variables)``;
- ``compute_loss_and_updates``, ``compute_loss``, ``compute_metrics``,
  ``get_metrics_result``, ``stateless_compute_loss``.

Every step is pure: it reads values from its state and returns new ones, and the
trainer writes them back to Variables after the compiled call. Random layers draw
from the key of the step's stateless scope, which the trainer derives from its
RNG key for every batch (``seed`` need not be passed to ``stateless_call``).

The default steps also carry the Keras masks of the outputs (e.g. from
``Embedding(mask_zero=True)``) to the losses and compiled metrics; an
overridden ``compute_loss`` or ``compute_metrics`` receives no masks (JAX arrays
cannot carry a ``_keras_mask`` attribute).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.graph import flatten
from lamina.state import StatelessScope
from lamina.training.compile_utils import flat_by_output
from lamina.training.step_state import TestState, TrainState, unpack_x_y_sample_weight


def flat_outputs(outputs) -> list:
    """Model outputs (tensor, list or dict) as a list in the model's output order."""
    return flatten(outputs) if isinstance(outputs, (list, tuple, dict)) else [outputs]


def _batch_size(x) -> int:
    return jax.tree_util.tree_leaves(x)[0].shape[0]


class StepMethods:
    """Keras's overridable step methods (mixed into ``Model`` through the Trainer)."""

    # -- what the state lists hold ---------------------------------------------
    @property
    def metrics_variables(self) -> list:
        """The variables of ``self.metrics``, in order: the ``metrics_variables`` of a step."""
        return [v for metric in self.metrics for v in metric.variables]

    @property
    def optimizer_variables(self) -> list:
        """The variables of ``self.optimizer`` then of any other optimizer the model holds
        as an attribute (e.g. a GAN's second optimizer), each in its ``variables`` order."""
        return [v for opt in self._optimizers() for v in opt.variables]

    def _optimizers(self) -> list:
        found = [self.optimizer] if getattr(self, "optimizer", None) is not None else []
        for opt in self.__dict__.get("_tracked_optimizers", []):
            if all(opt is not o for o in found):
                found.append(opt)
        return found

    def _overrides(self, name: str) -> bool:
        """Whether the model's class replaces the step method ``name``."""
        return getattr(type(self), name) is not getattr(StepMethods, name)

    # -- loss -----------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of a batch: the compiled losses plus the model's own losses.

        Args:
            x: the inputs (unused by the default).
            y, y_pred: targets and predictions, structured like the model's outputs.
            sample_weight: optional per-sample weights, structured like ``y``.
            training: whether the loss is computed for training.

        Returns:
            A scalar.
        """
        del x, training
        total = jnp.zeros((), "float32")
        if self._compiled_loss is not None and not self._compiled_loss.empty:
            names = self._compiled_loss.output_names
            total, _ = self._compiled_loss(flat_by_output(y, names),
                                           flat_by_output(y_pred, names),
                                           flat_by_output(sample_weight, names),
                                           [None] * len(names))
        override = self.__dict__.get("_losses_override")
        for value in (override if override is not None else self.losses):
            total = total + jnp.asarray(value, "float32")
        return total

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables,
                               metrics_variables, x=None, y=None, y_pred=None,
                               sample_weight=None, training=True):
        """``compute_loss`` as a pure function of variable values.

        Returns ``(loss, (trainable_variables, non_trainable_variables,
        metrics_variables))``.
        """
        variables = (list(self.trainable_variables) + list(self.non_trainable_variables)
                     + self.metrics_variables)
        values = (list(trainable_variables) + list(non_trainable_variables)
                  + list(metrics_variables))
        with StatelessScope(zip(variables, values)) as scope:
            loss = self.compute_loss(x, y, y_pred, sample_weight, training)
        new = [scope.new_value(v) for v in variables]
        n_t, n_nt = len(trainable_variables), len(non_trainable_variables)
        return loss, (new[:n_t], new[n_t:n_t + n_nt], new[n_t + n_nt:])

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables,
                                 metrics_variables, x, y, sample_weight, training=False,
                                 optimizer_variables=None):
        """The forward pass and loss of a batch, as a function to differentiate.

        Returns ``(loss, (unscaled_loss, y_pred, non_trainable_variables,
        metrics_variables))``: ``loss`` is scaled for the optimizer when it scales
        losses (``loss_scale_factor``, ``LossScaleOptimizer``).
        """
        loss, (unscaled, y_pred, _, new_nt, new_mv) = self._loss_and_updates(
            trainable_variables, non_trainable_variables, metrics_variables, x, y,
            sample_weight, training, optimizer_variables)
        return loss, (unscaled, y_pred, new_nt, new_mv)

    def _loss_and_updates(self, trainable_variables, non_trainable_variables,
                          metrics_variables, x, y, sample_weight, training,
                          optimizer_variables):
        """``compute_loss_and_updates`` that also returns the outputs' masks."""
        run = self._run_stateless(trainable_variables, non_trainable_variables, (x,),
                                  {"training": training}, seed=None, with_masks=True)
        y_pred = run.outputs
        masks = flat_outputs(run.masks) if run.masks is not None else None
        n_out = len(flat_outputs(y_pred))
        if masks is None or len(masks) != n_out:
            masks = [None] * n_out
        own_losses = run.activity_losses + run.regularization_losses
        metrics_variables = list(metrics_variables)
        if self._overrides("compute_loss"):
            self._losses_override = own_losses
            try:
                loss, (_, _, metrics_variables) = self.stateless_compute_loss(
                    trainable_variables, run.non_trainable, metrics_variables, x=x, y=y,
                    y_pred=y_pred, sample_weight=sample_weight, training=training)
            finally:
                self._losses_override = None
        else:
            loss, metrics_variables = self._compiled_loss_and_trackers(
                metrics_variables, y, y_pred, sample_weight, masks, own_losses)
        scaled = loss
        if optimizer_variables is not None and self.optimizer is not None:
            scaled = self.optimizer.scale_loss(loss, self._main_optimizer_state(
                optimizer_variables))
        return scaled, (loss, y_pred, masks, run.non_trainable, metrics_variables)

    def _compiled_loss_and_trackers(self, metrics_variables, y, y_pred, sample_weight, masks,
                                    own_losses):
        """The compiled loss with masks; updates the per-output loss trackers."""
        total = jnp.zeros((), "float32")
        if self._compiled_loss is not None:
            names = self._compiled_loss.output_names
            total, per_output = self._compiled_loss(
                flat_by_output(y, names), flat_outputs(y_pred),
                flat_by_output(sample_weight, names), masks)
            if per_output:
                batch = jnp.asarray(_batch_size(y_pred), "float32")
                with StatelessScope(zip(self.metrics_variables, metrics_variables)) as scope:
                    for tracker, value in zip(self._output_loss_trackers, per_output):
                        tracker.update_state(value, sample_weight=batch)
                metrics_variables = [scope.new_value(v) for v in self.metrics_variables]
        for value in own_losses:
            total = total + jnp.asarray(value, "float32")
        return total, metrics_variables

    def _main_optimizer_state(self, optimizer_variables):
        n = len(self.optimizer.variables)
        return self.optimizer.unflatten_state(list(optimizer_variables)[:n])

    # -- metrics --------------------------------------------------------------
    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics with a batch; returns ``get_metrics_result()``.

        Runs inside the step's stateless scope: metric ``update_state`` calls here
        update the step's ``metrics_variables``.
        """
        del x
        if self._compiled_metrics is not None:
            self._compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """The results of ``self.metrics`` as one dict (dict results are merged in)."""
        out = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                out.update(result)
            else:
                out[metric.name] = result
        return out

    def _update_metrics_variables(self, metrics_variables, loss, x, y, y_pred, sample_weight,
                                  masks):
        variables = self.metrics_variables
        with StatelessScope(zip(variables, metrics_variables)) as scope:
            if self._loss_tracker is not None:
                self._loss_tracker.update_state(
                    loss, sample_weight=jnp.asarray(_batch_size(y_pred), "float32"))
            if self._overrides("compute_metrics"):
                logs = self.compute_metrics(x, y, y_pred, sample_weight)
            else:
                if self._compiled_metrics is not None:
                    self._compiled_metrics.update_state(y, y_pred, sample_weight, masks)
                logs = self.get_metrics_result()
        return logs, [scope.new_value(v) for v in variables]

    # -- steps ----------------------------------------------------------------
    def train_step(self, state, data):
        """One gradient update on one batch: ``(logs, new TrainState)``."""
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        if self._overrides("compute_loss_and_updates"):
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (_, (loss, y_pred, non_trainable, metrics_vars)), grads = grad_fn(
                trainable, non_trainable, metrics_vars, x, y, sample_weight, training=True,
                optimizer_variables=optimizer_vars)
            masks = None
        else:
            grad_fn = jax.value_and_grad(self._loss_and_updates, has_aux=True)
            (_, (loss, y_pred, masks, non_trainable, metrics_vars)), grads = grad_fn(
                trainable, non_trainable, metrics_vars, x, y, sample_weight, True,
                optimizer_vars)
        if len(trainable):  # a fully frozen model takes no optimizer step, as in Keras
            n = len(self.optimizer.variables)
            trainable, main = self.optimizer.stateless_apply(list(optimizer_vars)[:n], grads,
                                                             trainable)
            optimizer_vars = list(main) + list(optimizer_vars)[n:]
        logs, metrics_vars = self._update_metrics_variables(metrics_vars, loss, x, y, y_pred,
                                                            sample_weight, masks)
        return logs, TrainState(list(trainable), list(non_trainable), list(optimizer_vars),
                                metrics_vars)

    def test_step(self, state, data):
        """Loss and metrics of one batch in inference mode: ``(logs, new TestState)``."""
        trainable, non_trainable, metrics_vars = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        if self._overrides("compute_loss_and_updates"):
            _, (loss, y_pred, non_trainable, metrics_vars) = self.compute_loss_and_updates(
                trainable, non_trainable, metrics_vars, x, y, sample_weight, training=False)
            masks = None
        else:
            _, (loss, y_pred, masks, non_trainable, metrics_vars) = self._loss_and_updates(
                trainable, non_trainable, metrics_vars, x, y, sample_weight, False, None)
        logs, metrics_vars = self._update_metrics_variables(metrics_vars, loss, x, y, y_pred,
                                                            sample_weight, masks)
        return logs, TestState(list(trainable), list(non_trainable), metrics_vars)

    def predict_step(self, state, data):
        """The outputs for one batch: ``(outputs, non_trainable_variables)``."""
        trainable, non_trainable = state
        x, _, _ = unpack_x_y_sample_weight(data)
        return self.stateless_call(trainable, non_trainable, x, training=False)
