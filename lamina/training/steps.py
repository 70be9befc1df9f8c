"""Pure step functions: ``(state, batch) -> state`` for training and evaluation.

``state`` is a dict pytree::

    {"trainable": [...], "non_trainable": [...], "optimizer": optax-style state,
     "metrics": {"loss": [...], "outputs": [[...], ...], "compiled": [[...], ...]},
     "rng": jax.random key}

Steps never mutate Python objects; the trainer writes values back to Variables
after the compiled call. In-memory data is gathered inside the step from a
device-resident permutation, optionally scanned over several batches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from lamina.graph import flatten


def _batch_size(x) -> int:
    return jax.tree_util.tree_leaves(x)[0].shape[0]


def flat_outputs(outputs) -> list:
    """Model outputs (tensor, list or dict) as a list in the model's output order."""
    return flatten(outputs) if isinstance(outputs, (list, tuple, dict)) else [outputs]


class StepBuilder:
    """Builds the pure train/test/predict steps of one compiled model."""

    def __init__(self, model):
        self.model = model

    # -- forward and loss ---------------------------------------------------
    def _forward(self, trainable, non_trainable, x, training, key):
        run = self.model._run_stateless(trainable, non_trainable, (x,), {"training": training},
                                        seed=key, with_masks=True)
        y_pred = flat_outputs(run.outputs)
        masks = flat_outputs(run.masks) if run.masks is not None else None
        if masks is None or len(masks) != len(y_pred):
            masks = [None] * len(y_pred)
        extra = run.activity_losses + run.regularization_losses
        return y_pred, masks, run.non_trainable, extra

    def _losses(self, y, y_pred, sw, masks, extra):
        total, per_output = self.model._compiled_loss(y, y_pred, sw, masks)
        for value in extra:
            total = total + jnp.asarray(value, "float32")
        return total, per_output

    def _update_metrics(self, metrics_state, total, per_output, y, y_pred, sw, masks, x):
        model = self.model
        batch = jnp.asarray(_batch_size(x), "float32")
        new = {
            "loss": model._loss_tracker.stateless_update_state(
                metrics_state["loss"], total, sample_weight=batch),
            "outputs": [tracker.stateless_update_state(s, value, sample_weight=batch)
                        for tracker, s, value in zip(model._output_loss_trackers,
                                                     metrics_state["outputs"], per_output)],
            "compiled": model._compiled_metrics.update(metrics_state["compiled"], y, y_pred, sw,
                                                       masks),
        }
        return new

    # -- steps ----------------------------------------------------------------
    def train_batch(self, state, x, y, sw):
        self.model._trace_counts["train"] += 1
        rng, key = jax.random.split(state["rng"])

        def loss_fn(trainable):
            y_pred, masks, new_nt, extra = self._forward(trainable, state["non_trainable"], x,
                                                         True, key)
            total, per_output = self._losses(y, y_pred, sw, masks, extra)
            # The optimizer divides the gradients by the same scale (loss scaling).
            scaled = optimizer.scale_loss(total, state["optimizer"])
            return scaled, (total, y_pred, masks, new_nt, per_output)

        optimizer = self.model.optimizer
        (_, (total, y_pred, masks, new_nt, per_output)), grads = jax.value_and_grad(
            loss_fn, has_aux=True)(state["trainable"])
        # apply() also projects the variables through their constraints, as Keras.
        new_trainable, new_opt = optimizer.apply(state["optimizer"], grads, state["trainable"])
        return {
            "trainable": list(new_trainable),
            "non_trainable": list(new_nt),
            "optimizer": new_opt,
            "metrics": self._update_metrics(state["metrics"], total, per_output, y, y_pred, sw,
                                            masks, x),
            "rng": rng,
        }

    def test_batch(self, state, x, y, sw):
        self.model._trace_counts["test"] += 1
        y_pred, masks, _, extra = self._forward(state["trainable"], state["non_trainable"], x,
                                                False, None)
        total, per_output = self._losses(y, y_pred, sw, masks, extra)
        return dict(state, metrics=self._update_metrics(state["metrics"], total, per_output, y,
                                                        y_pred, sw, masks, x))

    def predict_batch(self, state, x):
        self.model._trace_counts["predict"] += 1
        run = self.model._run_stateless(state["trainable"], state["non_trainable"], (x,),
                                        {"training": False}, seed=None)
        return run.outputs

    # -- batching over in-memory data ----------------------------------------
    @staticmethod
    def gather(data, perm, start, batch_size):
        idx = lax.dynamic_slice_in_dim(perm, start, batch_size)
        return jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), data)

    def indexed(self, step):
        """``step(state, x, y, sw)`` over ``n_steps`` batches gathered from device data."""

        def run(state, data, perm, start, batch_size, n_steps):
            def one(s, i):
                x, y, sw = self.gather(data, perm, start + i * batch_size, batch_size)
                return step(s, x, y, sw), None

            if n_steps == 1:
                return one(state, 0)[0]
            return lax.scan(one, state, jnp.arange(n_steps))[0]

        return run

    def indexed_predict(self):
        def run(state, data, perm, start, batch_size, n_steps):
            def one(i):
                (x,) = self.gather(data, perm, start + i * batch_size, batch_size)
                return self.predict_batch(state, x)

            if n_steps == 1:
                return one(0)
            stacked = lax.map(one, jnp.arange(n_steps))
            return jax.tree_util.tree_map(
                lambda a: a.reshape((n_steps * batch_size,) + a.shape[2:]), stacked)

        return run

    def results(self, metrics_state) -> list:
        """Log values from metric state, in the order of :meth:`log_names`."""
        model = self.model
        values = [model._loss_tracker.stateless_result(metrics_state["loss"])]
        values += [tracker.stateless_result(s) for tracker, s in zip(
            model._output_loss_trackers, metrics_state["outputs"])]
        values += list(model._compiled_metrics.results(metrics_state["compiled"]).values())
        return values

    def log_names(self) -> list[str]:
        model = self.model
        return ["loss", *model._compiled_loss.log_names, *model._compiled_metrics.log_names]
