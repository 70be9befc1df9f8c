"""How the trainer places a step state and batches under a distribution.

Without a distribution nothing here runs (``placement_for`` returns None) and the
compiled loops see the same arrays as before. With one:

- the step state's arrays take their variables' shardings (trainable and
  non-trainable variables by the distribution's layouts, each optimizer slot like
  the variable it belongs to, metric values and the RNG key replicated), both
  before each compiled call and as a constraint on the state it returns, so the
  shardings stay fixed and nothing recompiles;
- each batch (or block of batches) is split over the batch axis: from the global
  batch every process holds (``auto_shard_dataset=True``: each process places only
  its share), or from each process's own share (``auto_shard_dataset=False``).
  A batch whose size the batch axis does not divide is replicated instead (only
  possible from a global batch).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from lamina.distribution.context import distribution
from lamina.distribution.layouts import mesh_axes
from lamina.training.step_state import PredictState, TestState, TrainState

_STATES = (TrainState, TestState, PredictState)


def _is_global(x) -> bool:
    return isinstance(x, jax.Array) and not x.is_fully_addressable


def put(value, sharding):
    """``value`` (an array every process holds whole, or a global array) with
    ``sharding``; unchanged when it already has it."""
    if isinstance(value, jax.Array):
        if value.sharding.is_equivalent_to(sharding, value.ndim):
            return value
        if jax.process_count() == 1 or _is_global(value):
            return jax.device_put(value, sharding)
    elif jax.process_count() == 1:
        return jax.device_put(value, sharding)
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def gather_global(tree):
    """``tree`` with each global array (one spread over several processes) gathered
    into a NumPy array in every process; unchanged in a single process."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return jax.tree_util.tree_map(
        lambda a: multihost_utils.process_allgather(a, tiled=True) if _is_global(a) else a,
        tree)


def placement_for(model):
    """The :class:`Placement` of ``model`` under the current distribution, or None."""
    current = distribution()
    return None if current is None else Placement(current, model)


def optimizer_slot_owners(model) -> list:
    """For each of ``model.optimizer_variables``, the trainable variable it is a slot
    of, or None (iteration, learning rate, slots of another shape).

    A slot's path is Keras's ``<optimizer>/<variable path, '/' as '_'>_<slot>``; the
    longest variable prefix of the same shape wins.
    """
    by_prefix = {v.path.replace("/", "_").replace(":", "_"): v
                 for v in model.trainable_variables}
    owners = []
    for slot in model.optimizer_variables:
        name = slot.path.rsplit("/", 1)[-1]
        owner = None
        cut = len(name)
        while owner is None and cut > 0:
            cut = name.rfind("_", 0, cut)
            candidate = by_prefix.get(name[:cut]) if cut > 0 else None
            if candidate is not None and tuple(candidate.shape) == tuple(slot.shape):
                owner = candidate
        owners.append(owner)
    return owners


def state_shardings(model, state_type=TrainState):
    """The shardings of ``model``'s step state under the current distribution, as a
    ``state_type`` (TrainState, TestState or PredictState) of lists of
    ``jax.sharding.Sharding`` -- what a checkpoint restores the state onto.

    Without a distribution, the current shardings of the variables' values.
    """
    current = distribution()
    if current is None:
        def of(variables):
            return [v.value.sharding for v in variables]

        fields = {"trainable_variables": of(model.trainable_variables),
                  "non_trainable_variables": of(model.non_trainable_variables),
                  "optimizer_variables": of(model.optimizer_variables),
                  "metrics_variables": of(model.metrics_variables)}
    else:
        fields = Placement(current, model).field_shardings()
    return state_type(**{name: fields[name] for name in state_type._fields})


class Placement:
    """Places one model's step states and batches with a distribution.

    Args:
        distribution: the ``Distribution``.
        model: the compiled model whose states are placed.
    """

    def __init__(self, distribution, model):
        self.distribution = distribution
        self.model = model
        self.replicated = NamedSharding(distribution.device_mesh.backend_mesh, PartitionSpec())
        self._fields = None

    # -- the step state --------------------------------------------------------------
    def field_shardings(self) -> dict:
        """Shardings by state field name (lists aligned with the model's variables)."""
        if self._fields is None:
            dist, model = self.distribution, self.model
            variable = dist.variable_sharding
            self._fields = {
                "trainable_variables": [variable(v) for v in model.trainable_variables],
                "non_trainable_variables": [variable(v)
                                            for v in model.non_trainable_variables],
                "optimizer_variables": [self.replicated if owner is None else variable(owner)
                                        for owner in optimizer_slot_owners(model)],
                "metrics_variables": [self.replicated] * len(model.metrics_variables),
            }
        return self._fields

    def _state_shardings(self, state):
        fields = self.field_shardings()
        return type(state)(*(fields[name] for name in state._fields))

    def place_state(self, state):
        return jax.tree_util.tree_map(put, state, self._state_shardings(state))

    def constrain_outputs(self, out):
        """Inside the compiled call: the returned state and key keep their shardings."""
        constrain = jax.lax.with_sharding_constraint
        if isinstance(out[0], _STATES):
            state, rng, rest = out
            return constrain(state, self._state_shardings(state)), constrain(
                rng, self.replicated), rest
        rng, rest = out
        return constrain(rng, self.replicated), rest

    # -- batches -----------------------------------------------------------------------
    def place_batch(self, tree, axis: int):
        """``tree``'s arrays split over the batch axis along dimension ``axis``."""
        return jax.tree_util.tree_map(lambda a: self._place_rows(a, axis), tree)

    def place_rows(self, array):
        """One batch's ``array`` split over the batch axis along its first dimension
        (how a prefetching stream places what it reads ahead)."""
        return self._place_rows(array, 0)

    def _place_rows(self, array, axis: int):
        dist = self.distribution
        shape = tuple(array.shape)
        layout = dist.get_data_layout(shape[axis:])
        spec = (None,) * axis + tuple(layout.axes)
        sharding = NamedSharding(dist.device_mesh.backend_mesh, PartitionSpec(*spec))
        names = mesh_axes([spec[axis]])
        parts = int(np.prod([dist.device_mesh.axis_size(n) for n in names]))
        processes = jax.process_count()
        if processes > 1 and not dist.auto_shard_dataset and not _is_global(array):
            # Each process holds its own share: the global batch is their concatenation
            # (a global array was placed already, by a prefetching stream).
            local = max(1, parts // processes)
            if shape[axis] % local:
                raise ValueError(f"A batch of {shape[axis]} rows in process "
                                 f"{jax.process_index()} does not split over its {local} "
                                 f"shares of the batch axis {names}: give each process a "
                                 f"batch size divisible by {local}.")
            return jax.make_array_from_process_local_data(sharding, np.asarray(array))
        if shape[axis] % parts:
            sharding = self.replicated
        return put(array, sharding)

    # -- compiled calls ----------------------------------------------------------------
    def compile(self, fn, *, batch_axis: int, batch_args: int, donate: bool = False,
                static_argnames=(), jit: bool = True):
        """``fn(state, rng, *batches, *rest, **kw)`` compiled with its returned state
        constrained, called on a placed state, key and ``batch_args`` batch trees."""
        def constrained(state, rng, *args, **kwargs):
            return self.constrain_outputs(fn(state, rng, *args, **kwargs))

        run = fn
        if jit:
            run = jax.jit(constrained, donate_argnums=(0,) if donate else (),
                          static_argnames=static_argnames)

        def placed(state, rng, *args, **kwargs):
            batches = [self.place_batch(b, batch_axis) for b in args[:batch_args]]
            return run(self.place_state(state), put(rng, self.replicated), *batches,
                       *args[batch_args:], **kwargs)

        return placed
