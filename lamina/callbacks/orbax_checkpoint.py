"""``OrbaxCheckpoint`` (``keras.callbacks.OrbaxCheckpoint``): sharded checkpoints of
a running ``fit`` on ``orbax-checkpoint`` (an optional extra, imported lazily).

Each checkpoint is one Orbax step folder (the epoch index, or the number of batches
run for ``save_freq=n``, as Keras numbers them) holding three items:

- ``pytree``: the arrays of the fit's position (``lamina.training.fit_position``):
  ``trainable_variables``, ``non_trainable_variables``, ``optimizer_variables`` and
  ``metrics_variables`` as lists in the step state's order, the trainer's
  ``rng_key`` and, inside a shuffled epoch, the sample ``order``. Arrays are written
  as they lie on their devices: every process writes the shards it holds (Orbax's
  tensorstore format), nothing is gathered;
- ``fit_position``: the position's counters as JSON (epoch, step, the generator
  that draws sample orders, history, plan), the ones ``BackupAndRestore`` keeps;
- ``model_config``: the model's config and compile config (not with
  ``save_weights_only``).

Restoring reads each array straight into the sharding the restoring run gives it
(the model's current arrays), so a checkpoint written on 4 devices restores onto 2.
With ``resume=True`` (lamina's addition) a ``fit`` started again with the same call
continues from the newest checkpoint as it would from ``BackupAndRestore``; a
checkpoint taken between batches needs in-memory data, like a backup.
"""

from __future__ import annotations

import os
import warnings

import jax
import numpy as np

from lamina.callbacks.backup_file import check_counters, position_counters
from lamina.callbacks.early_stopping import MonitorCallback
from lamina.training.fit_position import FitPosition
from lamina.training.step_state import TrainState

_ITEMS = ("pytree", "fit_position", "model_config")


def _orbax():
    try:
        import orbax.checkpoint as ocp  # noqa: PLC0415 - optional extra
    except ImportError as e:
        raise ImportError("OrbaxCheckpoint requires the 'orbax-checkpoint' package: "
                          "pip install 'lamina[orbax]' (or orbax-checkpoint).") from e
    return ocp


def _arrays_of(position: FitPosition) -> dict:
    tree = {field: list(getattr(position.train_state, field)) for field in TrainState._fields}
    tree["rng_key"] = position.rng_key
    if position.order is not None:
        tree["order"] = np.asarray(position.order)
    return tree


def _abstract(array, sharding=None):
    """What Orbax restores ``array``'s counterpart into: its shape, dtype and
    ``sharding`` when that spans several devices; a NumPy array otherwise (placed
    like the arrays the fit makes itself, where the computation needs it)."""
    if sharding is not None and len(sharding.device_set) > 1:
        return jax.ShapeDtypeStruct(array.shape, array.dtype, sharding=sharding)
    return np.zeros(np.shape(array), np.dtype(array.dtype))


def _restore_target(position: FitPosition, shardings: TrainState, with_order: bool) -> dict:
    """The abstract tree a position like ``position`` restores into, its step state
    sharded by ``shardings`` (the distribution's, or the variables' own)."""
    target = {field: [_abstract(a, s) for a, s in zip(getattr(position.train_state, field),
                                                      getattr(shardings, field))]
              for field in TrainState._fields}
    target["rng_key"] = _abstract(position.rng_key)
    if with_order:
        target["order"] = np.zeros((position.plan["num_samples"],), np.int32)
    return target


class OrbaxCheckpoint(MonitorCallback):
    """Saves the model's weights, optimizer state and training position with Orbax.

    Args:
        directory: the folder of the checkpoints (one sub-folder per saved step).
        monitor: the logged quantity ``save_best_only`` watches (e.g. ``"val_loss"``).
        verbose: 1 to print a line per save.
        save_best_only: save only when ``monitor`` improved.
        mode: ``"auto"``, ``"min"`` or ``"max"``, for ``save_best_only``.
        save_freq: ``"epoch"``, or an integer number of training batches.
        initial_value_threshold: the starting best value for ``save_best_only``.
        max_to_keep: how many of the newest checkpoints to keep (None: all).
        save_on_background: write asynchronously (arrays reach the host before
            training continues; files are written while it runs).
        save_weights_only: save only the model's variables (no optimizer or
            metric state, no config): such checkpoints cannot resume a ``fit``.
        resume: lamina's addition: when ``fit`` begins and ``directory`` holds a
            checkpoint, continue from the newest one (same call, same data).
    """

    def __init__(self, directory, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, max_to_keep=1,
                 save_on_background=True, save_weights_only=False, resume=False):
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(
                save_freq, int) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or a "
                             "positive integer number of batches.")
        if max_to_keep is not None and (not isinstance(max_to_keep, int) or max_to_keep < 1):
            raise ValueError(f"max_to_keep must be a positive int or None, received "
                             f"{max_to_keep!r}.")
        if resume and save_weights_only:
            raise ValueError("OrbaxCheckpoint cannot resume a fit from weights-only "
                             "checkpoints: use save_weights_only=False with resume=True.")
        self._ocp = _orbax()
        self.directory = os.path.abspath(os.fspath(directory))
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_freq = save_freq
        self.max_to_keep = max_to_keep
        self.save_on_background = save_on_background
        self.save_weights_only = save_weights_only
        self.resume = resume
        self._batches_since_save = 0
        self._last_batch_seen = None
        self._total_batches_seen = 0
        self._manager = None

    # -- the Orbax manager --------------------------------------------------------
    @property
    def manager(self):
        """The ``orbax.checkpoint.CheckpointManager`` over ``directory``."""
        if self._manager is None:
            ocp = self._ocp
            options = ocp.CheckpointManagerOptions(
                max_to_keep=self.max_to_keep, create=True,
                enable_async_checkpointing=self.save_on_background)
            self._manager = ocp.CheckpointManager(self.directory, options=options,
                                                  item_names=_ITEMS)
        return self._manager

    def wait_until_finished(self) -> None:
        """Blocks until every checkpoint started so far is written (all processes)."""
        if self._manager is not None:
            self._manager.wait_until_finished()

    def is_multihost_enabled(self) -> bool:
        """Whether several processes train together (``jax.distributed``)."""
        return jax.process_count() > 1

    def is_primary_host(self) -> bool:
        """Whether this process is process 0 (always True with one process)."""
        return jax.process_index() == 0

    # -- saving -------------------------------------------------------------------
    def _needs_batch_hooks(self, mode: str) -> bool:
        # Epoch-end saving lets the loop fuse batches into one compiled call.
        return mode == "train" and self.save_freq != "epoch"

    def set_model(self, model):
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer.built:
            # A reloaded or resumed model continues Keras's batch-numbered steps.
            self._total_batches_seen = int(np.asarray(optimizer.iterations))

    def on_train_begin(self, logs=None):
        self._batches_since_save = 0
        self._last_batch_seen = None
        if self.resume:
            position = self.restore_position()
            if position is not None:
                self.model.resume_fit(position)
                self._last_batch_seen = position.step - 1 if position.step else None
                self._total_batches_seen = int(np.asarray(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # Fused calls report every few batches: count them all.
        added = batch + 1 if self._last_batch_seen is None or batch <= self._last_batch_seen \
            else batch - self._last_batch_seen
        self._last_batch_seen = batch
        self._total_batches_seen += added
        self._batches_since_save += added
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            if self._improved(logs, f"batch {batch}"):
                self._save(self._total_batches_seen, None)

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch_seen = None
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch" and self._improved(logs, f"epoch {epoch}"):
            self._save(epoch, logs)

    def _improved(self, logs, when: str) -> bool:
        if not self.save_best_only:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, "
                          f"skipping save at {when}.", stacklevel=3)
            return False
        if not self._is_improvement(current, self.best):
            return False
        self.best = current
        return True

    def _save(self, step: int, epoch_logs) -> None:
        ocp = self._ocp
        position = self.model.fit_position(epoch_logs, on_device=True)
        arrays = _arrays_of(position)
        if self.save_weights_only:
            arrays = {k: arrays[k] for k in ("trainable_variables", "non_trainable_variables")}
        items = {"pytree": ocp.args.StandardSave(arrays),
                 "fit_position": ocp.args.JsonSave(position_counters(position))}
        if not self.save_weights_only:
            from lamina.saving.serialization import serialize_keras_object  # noqa: PLC0415

            config = serialize_keras_object(self.model)
            config["compile_config"] = self.model._compile_config_for_saving()
            items["model_config"] = ocp.args.JsonSave(config)
        # The arrays reach the host before save returns (Orbax's blocking part), so
        # the loop may donate them at its next call.
        self.manager.save(step, args=ocp.args.Composite(**items), force=True)
        if self.verbose and self.is_primary_host():
            print(f"OrbaxCheckpoint: saved step {step} to {self.directory}")

    def on_train_end(self, logs=None):
        if self._manager is not None:
            self._manager.wait_until_finished()
            self._manager.close()
            self._manager = None

    # -- restoring ----------------------------------------------------------------
    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or None when there is none."""
        return self.manager.latest_step()

    def restore_position(self, step: int | None = None) -> FitPosition | None:
        """The fit position saved at ``step`` (default the newest; None when the
        directory holds no checkpoint), its arrays read into the shardings of the
        running fit's arrays. Call from ``on_train_begin`` (``resume`` does)."""
        ocp = self._ocp
        step = self.latest_step() if step is None else step
        if step is None:
            return None
        where = os.path.join(self.directory, str(step))
        counters = self.manager.restore(step, args=ocp.args.Composite(
            fit_position=ocp.args.JsonRestore()))["fit_position"]
        counters = check_counters(counters, where)
        from lamina.distribution.placement import state_shardings  # noqa: PLC0415

        current = self.model.fit_position(on_device=True)
        with_order = (counters["step"] > 0 and current.plan.get("shuffle") is not False
                      and current.plan.get("num_samples") is not None)
        target = _restore_target(current, state_shardings(self.model, TrainState), with_order)
        try:
            arrays = self.manager.restore(step, args=ocp.args.Composite(
                pytree=ocp.args.StandardRestore(target)))
        except (ValueError, KeyError) as e:
            raise ValueError(f"OrbaxCheckpoint: the checkpoint {where} does not fit this "
                             f"model and fit (weights-only checkpoints cannot resume): "
                             f"{e}") from None
        arrays = arrays["pytree"]
        return FitPosition(
            epoch=counters["epoch"], step=counters["step"],
            train_state=TrainState(*(list(arrays[f]) for f in TrainState._fields)),
            rng_key=arrays["rng_key"], order=arrays.get("order"),
            order_rng_state=counters["order_rng_state"], history=counters["history"],
            history_epochs=counters["history_epochs"], plan=counters["plan"])
