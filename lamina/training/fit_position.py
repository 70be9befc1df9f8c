"""Where a running ``fit`` stands, as explicit state it can stop and restart at.

A :class:`FitPosition` is everything the training loop needs to continue at epoch
``epoch`` having run ``step`` batches of it: the step state's arrays (weights,
optimizer and metric values), the trainer's RNG key, the sample order of the epoch
in progress, the state of the NumPy generator that draws the next epochs' orders,
and the History so far. Given the same data and arguments, a ``fit`` started from a
position runs exactly the batches, keys and orders the interrupted one would have
run, so it ends with bitwise the same weights.

``fit`` keeps its live position in a :class:`FitRun`; callbacks read it with
``model.fit_position()`` at step boundaries and hand one back with
``model.resume_fit(position)`` from ``on_train_begin`` (``BackupAndRestore``).
"""

from __future__ import annotations

import copy
import dataclasses

import jax
import numpy as np

from lamina.training.step_state import TrainState


@dataclasses.dataclass(frozen=True)
class FitPosition:
    """A point of a ``fit`` between two batches, held in host memory.

    Attributes:
        epoch: the 0-based epoch to run (or to finish).
        step: how many batches of ``epoch`` have already run (0 at an epoch start).
        train_state: the ``TrainState`` after those batches, as NumPy arrays.
        rng_key: the trainer's RNG key for the next batch.
        order: the sample order of ``epoch`` (int32, a permutation of the samples)
            when it is shuffled and under way; None otherwise.
        order_rng_state: the ``bit_generator.state`` of the generator that draws the
            coming epochs' orders (``{}`` when nothing is shuffled).
        history: the History's ``history`` dict up to the last finished epoch.
        history_epochs: the History's ``epoch`` list up to the last finished epoch.
        plan: what the position is valid for: sample count, batch size, batches per
            epoch, shuffle mode; a ``fit`` with another plan refuses it.
    """

    epoch: int
    step: int
    train_state: TrainState
    rng_key: np.ndarray
    order: np.ndarray | None
    order_rng_state: dict
    history: dict
    history_epochs: list
    plan: dict


def _host(tree):
    """Host copies of a tree of arrays (the loop donates its buffers afterwards)."""
    return jax.tree_util.tree_map(lambda a: np.array(a, copy=True), jax.device_get(tree))


def _check_arrays(kind: str, received: list, expected: list) -> None:
    if len(received) != len(expected):
        raise ValueError(f"The resume position holds {len(received)} {kind} arrays; this fit "
                         f"has {len(expected)}.")
    for i, (got, want) in enumerate(zip(received, expected)):
        got_dtype, want_dtype = np.dtype(got.dtype), np.dtype(want.dtype)
        if tuple(got.shape) != tuple(want.shape) or got_dtype != want_dtype:
            raise ValueError(f"The resume position's {kind} array {i} is {got_dtype}"
                             f"{tuple(got.shape)}; this fit expects {want_dtype}"
                             f"{tuple(want.shape)}.")


class FitRun:
    """The live position of one ``fit`` call, updated by its loop.

    Args:
        model: the model being trained (its ``_rng`` is the loop's key).
        state: the step state the first epoch starts from.
        epoch: the first epoch (``initial_epoch``).
        plan: sample count, batch size, batches per epoch and shuffle mode.
        order_rng: the NumPy generator drawing epoch orders, or None.
        in_memory: whether batches are gathered from arrays (only then can an epoch
            be resumed between its batches).
    """

    def __init__(self, model, state: TrainState, epoch: int, plan: dict, order_rng,
                 in_memory: bool):
        self.model = model
        self.state = state
        self.epoch = epoch
        self.step = 0
        self.order = None
        self.plan = plan
        self.order_rng = order_rng
        self.in_memory = in_memory
        self.started = False
        self.history = None  # (history, epochs) of a resumed position, for fit to apply

    def position(self, epoch_logs: dict | None = None, on_device: bool = False) -> FitPosition:
        """A host copy of where the loop stands now.

        Args:
            epoch_logs: at an epoch end, that epoch's logs: they join the history
                unless the History callback has already recorded them.
            on_device: keep the step state and key as the loop's own device arrays
                (sharded as they are) instead of host copies; the loop donates them
                at its next call, so read them before returning (OrbaxCheckpoint).
        """
        if self.step and not self.in_memory:
            raise NotImplementedError(
                "Resuming fit between the batches of an epoch is only implemented for "
                "in-memory (array) data; with generators or datasets back up at epoch ends "
                "(save_freq='epoch').")
        history = self.model.history
        logs, epochs = ({}, []) if history is None else (
            copy.deepcopy(history.history), list(history.epoch))
        finished = self.epoch - 1
        if epoch_logs is not None and self.step == 0 and (not epochs or epochs[-1] != finished):
            epochs.append(finished)
            for key, value in epoch_logs.items():
                logs.setdefault(key, []).append(value)
        return FitPosition(
            epoch=self.epoch, step=self.step,
            train_state=self.state if on_device else _host(self.state),
            rng_key=self.model._rng if on_device else _host(self.model._rng),
            order=None if self.order is None else (
                np.array(self.order, copy=True)),
            order_rng_state={} if self.order_rng is None else copy.deepcopy(
                self.order_rng.bit_generator.state),
            history=logs, history_epochs=epochs, plan=dict(self.plan))

    def resume(self, position: FitPosition) -> None:
        """Makes the loop start from ``position`` (before its first batch only)."""
        if not isinstance(position, FitPosition):
            raise TypeError(f"resume_fit expects a FitPosition, received "
                            f"{type(position).__name__}.")
        if self.started:
            raise ValueError("resume_fit must be called before fit's first batch "
                             "(from a callback's on_train_begin).")
        if position.plan != self.plan:
            raise ValueError(f"The resume position was made by a fit with {position.plan}; "
                             f"this fit has {self.plan}. Resume with the same data and "
                             "arguments.")
        if not (isinstance(position.epoch, int) and position.epoch >= 0):
            raise ValueError(f"The resume position's epoch must be an int >= 0, received "
                             f"{position.epoch!r}.")
        steps = self.plan["steps"]
        if not (isinstance(position.step, int) and 0 <= position.step <= (steps or 0)):
            raise ValueError(f"The resume position's step must be an int in [0, {steps}], "
                             f"received {position.step!r}.")
        if position.step and not self.in_memory:
            raise NotImplementedError("Resuming fit between the batches of an epoch is only "
                                      "implemented for in-memory (array) data.")
        for field in TrainState._fields:
            _check_arrays(field, list(getattr(position.train_state, field)),
                          list(getattr(self.state, field)))
        _check_arrays("rng_key", [position.rng_key], [self.model._rng])
        self._check_order(position)
        rng_state = self._checked_rng_state(position.order_rng_state)
        if not isinstance(position.history, dict) or not isinstance(
                position.history_epochs, list):
            raise TypeError("The resume position's history must be a dict and its "
                            "history_epochs a list.")
        if self.order_rng is not None:
            self.order_rng.bit_generator.state = rng_state
        self.epoch, self.step = position.epoch, position.step
        self.order = None if position.order is None else np.asarray(position.order)
        self.state = jax.tree_util.tree_map(jax.numpy.asarray, position.train_state)
        self.model._rng = jax.numpy.asarray(position.rng_key)
        self.history = (copy.deepcopy(position.history), list(position.history_epochs))

    def _check_order(self, position: FitPosition) -> None:
        order = position.order
        if order is None:
            if position.step and self.plan["shuffle"] is not False:
                raise ValueError("The resume position is inside a shuffled epoch but holds "
                                 "no sample order.")
            return
        n = self.plan["num_samples"]
        order = np.asarray(order)
        if order.dtype != np.int32 or order.shape != (n,) or not np.array_equal(
                np.sort(order), np.arange(n)):
            raise ValueError(f"The resume position's sample order must be a permutation of "
                             f"{n} samples (int32), received {order.dtype}{order.shape}.")

    def _checked_rng_state(self, state) -> dict:
        if self.order_rng is None:
            if state:
                raise ValueError("The resume position holds a shuffling generator state, "
                                 "but this fit does not shuffle.")
            return {}
        current = self.order_rng.bit_generator.state
        if not isinstance(state, dict) or set(state) != set(current) or state.get(
                "bit_generator") != current["bit_generator"]:
            raise ValueError(f"The resume position's generator state does not fit a "
                             f"{current['bit_generator']} generator: {state!r}.")
        probe = type(self.order_rng.bit_generator)()
        try:
            probe.state = state
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"The resume position's generator state is invalid: {e}") from None
        return state

    @property
    def resumed(self) -> bool:
        """Whether ``resume`` replaced the starting position."""
        return self.history is not None

    def apply_history(self, history) -> None:
        """Puts a resumed position's history into the History callback ``history``."""
        if self.history is None or history is None:
            return
        history.history, history.epoch = self.history

    def advance(self, step: int, state: TrainState) -> None:
        """Records that ``step`` batches of the current epoch have run, giving ``state``."""
        self.started = True
        self.step, self.state = step, state

    def end_epoch(self, state: TrainState) -> None:
        """Records the end of the current epoch: the next starts at its first batch."""
        self.started = True
        self.epoch, self.step, self.order, self.state = self.epoch + 1, 0, None, state


def skip_batches(plan: list, done: int) -> list:
    """The calls of ``plan`` (``(start, batch_size, n_steps)``) left after its first
    ``done`` batches; a call cut in two keeps its remaining batches together."""
    out = []
    for start, size, count in plan:
        if done >= count:
            done -= count
            continue
        out.append((start + done * size, size, count - done))
        done = 0
    return out


class ResumableFit:
    """The ``fit_position``/``resume_fit`` methods of ``Model`` (mixed into the trainer)."""

    def fit_position(self, epoch_logs: dict | None = None, on_device: bool = False
                     ) -> FitPosition:
        """Where the running ``fit`` stands: a host copy of its state, key, sample order
        and history (lamina's; see ``BackupAndRestore``). Call it from a callback's
        ``on_train_batch_end`` or ``on_epoch_end``; at an epoch end pass that epoch's
        ``logs`` so the position's history includes them. ``on_device`` keeps the
        arrays on their devices (see ``FitRun.position``)."""
        return self._running_fit("fit_position").position(epoch_logs, on_device)

    def resume_fit(self, position: FitPosition) -> None:
        """Makes the running ``fit`` continue from ``position`` (one ``fit_position``
        returned in a ``fit`` with the same data and arguments). Call it from a
        callback's ``on_train_begin``."""
        self._running_fit("resume_fit").resume(position)

    def _running_fit(self, what: str) -> FitRun:
        run = getattr(self, "_fit_run", None)
        if run is None:
            raise ValueError(f"`{what}` is only available while `fit` runs (from a "
                             "callback).")
        return run
