"""RNN: runs a recurrent cell over the time axis of a sequence with ``jax.lax.scan``.

The cell protocol (as in Keras): a cell is a Layer with a ``state_size``
attribute (an int, or a list with one size per state) and
``call(inputs, states, training=None) -> (output, new_states)``, where
``inputs`` is one timestep ``(batch, features)`` and ``states`` the list of
previous states. Optional: ``output_size`` and ``get_initial_state(batch_size)``.

Masking follows Keras's JAX backend: at a masked step the states keep their
previous values; the step's output is the previous first state
(``zero_output_for_mask=False``) or zeros (``True``). ``unroll=True`` fully
unrolls the same scan (``lax.scan(unroll=True)``) and, like Keras's unrolled
loop, a masked step's output is then the previous step's output (zeros before
the first step), whatever ``zero_output_for_mask`` says.

Nested inputs, states and outputs (as in the classic Keras RNN guide's "nested
inputs" example, which Keras 3's own ``RNN`` no longer runs):

- ``sequences`` may be a tuple/list/dict of sequences ``(batch, time, ...)``
  sharing their batch and time dimensions; the cell then receives the same
  structure of one-timestep slices ``(batch, ...)`` (and is built with the same
  structure of step shapes).
- ``state_size`` is an int or a list/tuple with one entry per state; an entry is
  an int (a ``(batch, size)`` state), a tuple of ints (the shape of one
  higher-rank state, ``(batch, *shape)``; TensorShape-like objects with
  ``as_list()`` count as shapes too) or a list (a group of states, as
  ``StackedRNNCells`` has). A top-level tuple of ints is one size per state.
- The cell may return a structure of outputs; outputs and states keep their
  structure. At a masked step every output leaf is masked alike. Keras's rule
  (output the previous first state) needs a single output with the first state's
  shape; otherwise the previous step's output (zeros before the first step) is
  used, as the unrolled loop does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.graph import KerasTensor
from lamina.layers.layer import Layer, _listify, _signature
from lamina.layers.recurrent.cell_base import RecurrentCell
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object
from lamina.state import StatelessScope


def _is_nested(x) -> bool:
    return isinstance(x, (list, tuple))


def _leaves(x) -> list:
    return jax.tree_util.tree_leaves(x)


def _is_shape(value) -> bool:
    """True for one shape (a list/tuple of ints and None), False for a structure of shapes.
    A dimension may also be symbolic (``jax.export`` traces with a symbolic batch size)."""
    return isinstance(value, (list, tuple)) and all(
        d is None or isinstance(d, (int, np.integer)) or jax.export.is_symbolic_dim(d)
        for d in value)


def map_shapes(fn, shapes):
    """Applies ``fn`` to every shape in a (possibly nested) structure of shapes."""
    if _is_shape(shapes):
        return fn(tuple(shapes))
    if isinstance(shapes, dict):
        return {k: map_shapes(fn, v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(map_shapes(fn, v) for v in shapes)
    raise ValueError(f"Expected a shape or a list/tuple/dict of shapes, received {shapes!r}.")


def shape_leaves(shapes) -> list:
    """The shapes of a (possibly nested) structure of shapes, in flattening order."""
    found = []
    map_shapes(found.append, shapes)
    return found


def check_sequence_shapes(layer, shapes, rank=None) -> tuple:
    """Validates (a structure of) sequence shapes; returns the first one.

    Every shape needs rank >= 3 (or exactly ``rank``) and, in a structure, all of
    them the same batch and time dimensions (where known).
    """
    try:
        leaves = shape_leaves(shapes)
    except ValueError:
        leaves = []
    nested = not _is_shape(shapes)
    bad_rank = [s for s in leaves if (len(s) < 3 if rank is None else len(s) != rank)]
    if not leaves or bad_rank:
        want = "rank >= 3 (batch, timesteps, features)" if rank is None else f"rank {rank}"
        extra = (" Nested inputs (a tuple/list/dict of sequences sharing batch and time "
                 "dimensions) are supported; initial states go in the `initial_state=` "
                 "argument.") if nested else ""
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) expects a sequence "
                         f"input of {want}, received shape {shapes}.{extra}")
    for axis, what in ((0, "batch size"), (1, "number of timesteps")):
        sizes = {s[axis] for s in leaves if s[axis] is not None}
        if len(sizes) > 1:
            raise ValueError(f"Layer '{layer.name}': all nested input sequences must have the "
                             f"same {what}, received shapes {shapes}. (Initial states go in "
                             "the `initial_state=` argument.)")
    return leaves[0]


def _first_leaf(x):
    """The first array of a (possibly nested) structure of arrays."""
    return _leaves(x)[0]


def _state_shape(size):
    """The shape (without batch) of one state entry of ``state_size``; None for a group."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return (int(size),)
    as_list = getattr(size, "as_list", None)
    if callable(as_list) and not isinstance(size, (list, tuple)):
        return tuple(as_list())
    if isinstance(size, tuple) and size and all(isinstance(d, (int, np.integer)) for d in size):
        return tuple(int(d) for d in size)
    return None


def zero_states(size, batch_size, dtype):
    """Zeros for one entry of ``state_size``: an array, or a list for a group of states."""
    shape = _state_shape(size)
    if shape is not None:
        return jnp.zeros((batch_size,) + shape, dtype)
    if isinstance(size, (list, tuple)):
        return [zero_states(s, batch_size, dtype) for s in size]
    raise ValueError(f"Invalid entry {size!r} in a cell's `state_size`: expected an int, a "
                     "tuple of ints (the shape of one state) or a list (a group of states).")


def _where_kept(keep, new, old):
    """``new`` where the batch entry is kept (``keep``: bool ``(batch,)``), else ``old``."""
    keep = keep.reshape(keep.shape + (1,) * (new.ndim - 1))
    return jnp.where(keep, new, old)


def prefix_weight_paths(prefix: str, layer) -> None:
    """Prefixes the paths of ``layer``'s weights with ``prefix/`` (Keras's nested paths).

    Idempotent per prefix, so sub-layers built earlier (e.g. from a config) are prefixed
    exactly once.
    """
    for var in layer.weights:
        done = var.__dict__.setdefault("_path_prefixes", set())
        if prefix not in done:
            done.add(prefix)
            var.path = f"{prefix}/{var.path}"


def rnn_build_config(layer):
    """Keras's build config for a sequence layer: ``input_shape`` unless an initial state was given."""
    shapes = layer._build_shapes
    if shapes is None:
        return None
    if "shapes_dict" in shapes:
        d = shapes["shapes_dict"]
        if d.get("initial_state_shape") is None and "sequences_shape" in d:
            return {"input_shape": _listify(d["sequences_shape"])}
    return {k: _listify(v) for k, v in shapes.items()}


def call_cell(cell, inputs, states, training):
    """Calls a (possibly user-written) cell on one step; returns ``(output, new_states)``."""
    kwargs = {}
    if isinstance(cell, Layer):
        if _signature(cell).training:
            kwargs["training"] = training
        return cell(inputs, states, **kwargs)
    fn = cell if callable(cell) else cell.call
    return fn(inputs, states)


def _cell_state_size(cell) -> list:
    size = cell.state_size
    return list(size) if _is_nested(size) else [size]


_COMPILED_SCANS: dict = {}


def _compiled_scan(layer, key):
    """A jitted ``(values, sequences, states, mask, masks, flags) -> _scan(...)`` for ``key``.

    The function is traced with the first layer seen for ``key`` as a template: the
    template cell's variables are mapped to the given values, so any layer whose
    cell has the same key (same types, sizes, activations) can reuse it.
    """
    fn = _COMPILED_SCANS.get(key)
    if fn is None:
        if len(_COMPILED_SCANS) >= 256:
            _COMPILED_SCANS.clear()
        cell_vars = list(layer.cell.weights)

        def run(values, sequences, states, mask, masks, flags):
            with StatelessScope(list(zip(cell_vars, values)), isolated=True):
                return layer._scan(sequences, states, mask, masks, False, flags)

        fn = _COMPILED_SCANS[key] = jax.jit(run, static_argnums=5)
    return fn


class RNN(Layer):
    """Base class for recurrent layers: applies ``cell`` along the time axis.

    Args:
        cell: an RNN cell (see the module docstring), or a list of cells, which
            are stacked with ``StackedRNNCells``.
        return_sequences: return the output of every timestep ``(batch, time, units)``
            instead of only the last one ``(batch, units)``.
        return_state: also return the final states: the call returns
            ``(output, *states)``.
        go_backwards: process the sequence backwards; with ``return_sequences`` the
            outputs are in processing order (reversed time).
        stateful: keep the final states of each batch as the initial states of the
            next call (the batch size must be fixed); see ``reset_states()``. The
            states are non-trainable variables named ``rnn_state``, listed after the
            cell's weights in ``weights`` (Keras does not list them: ``set_weights``
            also accepts Keras's list without them).
        unroll: unroll the time loop (``lax.scan(unroll=True)``): faster for short
            sequences, more memory and compile time.
        zero_output_for_mask: output zeros (instead of the previous state) at masked
            timesteps.

    Call arguments: ``sequences (batch, time, ...)`` or a tuple/list/dict of such
    sequences sharing batch and time (the cell gets the same structure per step),
    ``initial_state`` (list of arrays, one per state), ``mask`` (bool
    ``(batch, time)``; for nested inputs, the first mask given is used), ``training``.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            from lamina.layers.recurrent.stacked_rnn_cells import StackedRNNCells

            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: "
                             f"cell={cell!r}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (single "
                             "integer or list of integers, one integer per RNN state). "
                             f"Received: cell={cell!r}")
        super().__init__(**kwargs)
        state_size = getattr(cell, "state_size", None)
        if state_size is None or not isinstance(state_size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one "
                             f"for each state tensor); received {state_size!r}.")
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True
        self.states = None
        self._state_vars: list = []
        self._expected_batch_size = None

    @property
    def state_size(self) -> list:
        return _cell_state_size(self.cell)

    # -- weights: stateful states go last, after the cell's (Keras's) weights --------
    @property
    def weights(self):
        ws = Layer.weights.fget(self)
        if not self._state_vars:
            return ws
        ids = {id(v) for v in self._state_vars}
        return [w for w in ws if id(w) not in ids] + list(self._state_vars)

    variables = weights

    def set_weights(self, weights) -> None:
        """Sets the weights; a stateful layer also accepts Keras's list without its states."""
        n = len(self._state_vars)
        if n and len(weights) == len(self.weights) - n:
            weights = list(weights) + [np.asarray(v.value) for v in self._state_vars]
        super().set_weights(weights)

    # -- building ---------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        first = check_sequence_shapes(self, sequences_shape)
        if self.unroll and first[1] is None:
            raise ValueError(f"Layer '{self.name}': cannot unroll a RNN if the time dimension is "
                             f"undefined (received shape {sequences_shape}). Pass a `shape` "
                             "with a fixed number of timesteps to Input().")
        # One timestep of each sequence, in the inputs' structure.
        step_specs = map_shapes(lambda shape: KerasTensor((shape[0],) + shape[2:]),
                                sequences_shape)
        if isinstance(self.cell, Layer):
            if not self.cell.built:
                self.cell._maybe_build((step_specs,), {})
            prefix_weight_paths(self.name, self.cell)
        if self.stateful:
            self._create_state_variables(first)
        self.built = True

    def _create_state_variables(self, sequences_shape) -> None:
        batch = sequences_shape[0]
        if batch is None:
            raise ValueError(f"Layer '{self.name}': when using `stateful=True` in a RNN, the "
                             "batch size must be static (pass `batch_size=` to Input() or "
                             f"`batch_shape=`). Found dynamic batch size: sequence.shape="
                             f"{sequences_shape}")
        with jax.ensure_compile_time_eval():
            initial = self.get_initial_state(batch)
        leaves, treedef = jax.tree_util.tree_flatten(initial)
        variables = []
        for value in leaves:
            value = np.asarray(value)
            variables.append(self.add_weight(
                shape=value.shape, initializer=lambda shape, dtype=None, v=value: v.astype(
                    dtype or v.dtype), dtype=self.variable_dtype, trainable=False,
                name="rnn_state"))
        self._state_vars = variables
        self.states = jax.tree_util.tree_unflatten(treedef, variables)
        self._expected_batch_size = batch

    def get_build_config(self):
        return rnn_build_config(self)

    def _saveable_variables(self) -> list:
        # A stateful RNN's carried state is lamina's own: weight files do not hold it.
        carried = {id(v) for v in self._state_vars}
        return [v for v in super()._saveable_variables() if id(v) not in carried]

    def get_initial_state(self, batch_size):
        """The states at the start of a sequence: the cell's, or zeros for each state size."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            init = fn(batch_size=batch_size)
            return list(init) if _is_nested(init) else [init]
        dtype = getattr(self.cell, "compute_dtype", self.compute_dtype)
        return [zero_states(d, batch_size, dtype) for d in self.state_size]

    def reset_states(self) -> None:
        """Resets the states of a stateful layer to zeros."""
        self.reset_state()

    def reset_state(self) -> None:
        for var in self._state_vars:
            var.assign(jnp.zeros(var.shape, var.dtype))

    # -- running ----------------------------------------------------------------
    def _initial_states(self, sequences, initial_state):
        batch = _first_leaf(sequences).shape[0]
        if self.stateful and self._expected_batch_size is not None and (
                batch != self._expected_batch_size):
            raise ValueError(f"Layer '{self.name}': if an RNN is stateful, the batch size of the "
                             "input sequences must be the same as the batch size of the "
                             f"initial state.\n- Expected batch size: "
                             f"{self._expected_batch_size}\n- Received batch size: {batch}")
        template = self.get_initial_state(batch)
        if initial_state is None:
            if self.stateful and self._state_vars:
                values = [v.value for v in self._state_vars]
                return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template),
                                                    values)
            states = template
        else:
            given = _leaves(initial_state)
            treedef = jax.tree_util.tree_structure(template)
            if len(given) != treedef.num_leaves:
                raise ValueError(f"Layer '{self.name}' expects {treedef.num_leaves} initial "
                                 f"state tensor(s) (state_size={self.state_size}), received "
                                 f"{len(given)}.")
            for g, t in zip(given, _leaves(template)):
                if tuple(g.shape) != tuple(t.shape):
                    raise ValueError(f"Layer '{self.name}': an initial state has shape "
                                     f"{tuple(g.shape)}, expected {tuple(t.shape)}.")
            states = jax.tree_util.tree_unflatten(treedef, given)
        dtype = self.compute_dtype
        return jax.tree_util.tree_map(lambda s: jnp.asarray(s).astype(dtype), states)

    def _dropout_masks(self, sequences, training):
        """This call's dropout masks for a built-in cell (None for other cells)."""
        make_masks = getattr(self.cell, "_make_dropout_masks", None)
        if make_masks is None:
            return None
        first = _first_leaf(sequences)
        return make_masks(first.shape[0], first.shape[-1], first.dtype, training)

    def _step_fn(self, sequences_tm, masks, training):
        """``(xs, step)``: the scanned inputs and ``step(x_t, states) -> (out, states)``."""
        cell = self.cell
        if masks is not None and isinstance(cell, RecurrentCell) and cell._hoists_projection(
                sequences_tm.shape[-1], masks):
            # The whole sequence projected at once (time-major, so per-sequence masks
            # broadcast); the loop keeps only the recurrent part.
            return (cell._input_projection(sequences_tm, masks),
                    lambda p, s: cell._recurrent_step(p, s, masks))
        if masks is not None and hasattr(cell, "_step"):
            return sequences_tm, lambda x, s: cell._step(x, s, masks, training)
        return sequences_tm, lambda x, s: call_cell(cell, x, s, training)

    def _scan(self, sequences, states, mask, masks, training, flags):
        """Runs the cell over time; returns ``(last_output, outputs or None, final_states)``."""
        return_sequences, go_backwards, unroll, zero_output_for_mask = flags
        seq_tm = jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), sequences)
        xs, cell_step = self._step_fn(seq_tm, masks, training)
        treedef = jax.tree_util.tree_structure(states)

        def step(x, s):
            out, new = cell_step(x, s)
            new_leaves = _leaves(new)
            if len(new_leaves) != treedef.num_leaves:
                raise ValueError(f"The cell of layer '{self.name}' returned {len(new_leaves)} "
                                 f"state tensor(s), expected {treedef.num_leaves}.")
            return out, jax.tree_util.tree_unflatten(treedef, new_leaves)

        tree_map = jax.tree_util.tree_map
        first_x = tree_map(lambda a: a[0], xs)
        out_spec = jax.eval_shape(lambda x, s: step(x, s)[0], first_x, states)
        zero_out = tree_map(lambda o: jnp.zeros(o.shape, o.dtype), out_spec)

        def first_state(s):
            # Keras's JAX loop: a masked step outputs the previous first state (of the
            # last cell for stacked cells).
            prev = s[0] if _is_nested(s) else s
            return _leaves(s[-1])[0] if _is_nested(prev) else prev

        keras_rule = (isinstance(out_spec, jax.ShapeDtypeStruct) and bool(_leaves(states))
                      and tuple(first_state(states).shape) == tuple(out_spec.shape))
        # Otherwise (and in Keras's unrolled loop) a masked step repeats the previous output.
        repeat_output = mask is not None and (
            bool(unroll) or (not zero_output_for_mask and not keras_rule))
        # The previous output rides in the carry when it is needed: for the last output
        # (no return_sequences) and for repeating it at masked steps.
        carry_last = (not return_sequences) or repeat_output
        mask_tm = None if mask is None else jnp.swapaxes(mask.astype(bool), 0, 1)

        def body(carry, inp):
            s, last = carry
            x, m = inp if mask_tm is not None else (inp, None)
            out, new = step(x, s)
            if m is not None:
                def keep(n, o):
                    return _where_kept(m, n, o)

                if repeat_output:
                    out = tree_map(keep, out, last)
                elif zero_output_for_mask:
                    out = tree_map(lambda o: keep(o, jnp.zeros_like(o)), out)
                else:
                    out = keep(out, first_state(s))
                new = tree_map(keep, new, s)
            return (new, out if carry_last else last), (out if return_sequences else None)

        scan_xs = xs if mask_tm is None else (xs, mask_tm)
        (final, last), outs = jax.lax.scan(body, (states, zero_out), scan_xs,
                                           reverse=go_backwards, unroll=bool(unroll) or 1)
        if outs is not None:
            if go_backwards:
                outs = tree_map(lambda o: jnp.flip(o, axis=0), outs)
            last = tree_map(lambda o: o[-1], outs)
            outs = tree_map(lambda o: jnp.swapaxes(o, 0, 1), outs)
        return last, outs, final

    def _run_scan(self, sequences, states, mask, training):
        flags = (bool(self.return_sequences), bool(self.go_backwards), bool(self.unroll),
                 bool(self.zero_output_for_mask))
        masks = self._dropout_masks(sequences, training)
        values = [v.value for v in self.cell.weights] if isinstance(self.cell, Layer) else []
        key_fn = getattr(self.cell, "_compute_key", None)
        cell_key = None if key_fn is None else key_fn()
        # No key (e.g. a stack holding a user-written cell): no sharing, since the traced
        # loop would run the template layer's cells.
        key = None if cell_key is None else (type(self), cell_key)
        try:
            hash(key)
        except TypeError:  # e.g. an unhashable callable activation: no sharing
            key = None
        concrete = not any(isinstance(a, jax.core.Tracer)
                           for a in _leaves((sequences, states, mask, masks, values)))
        if key is None or not concrete:
            return self._scan(sequences, states, mask, masks, training, flags)
        # Eager use on concrete arrays: run the loop as one compiled function, shared by
        # all layers with the same computation, weights passed as arguments.
        return _compiled_scan(self, key)(values, sequences, states, mask, masks, flags)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        check_sequence_shapes(self, jax.tree_util.tree_map(lambda a: tuple(a.shape),
                                                           sequences))
        lead = tuple(_first_leaf(sequences).shape[:2])
        if mask is not None and (_is_nested(mask) or isinstance(mask, dict)):
            mask = _leaves(mask)[0] if _leaves(mask) else None
        if mask is not None and tuple(mask.shape) != lead:
            raise ValueError(f"Layer '{self.name}': the mask must have shape (batch, timesteps)"
                             f" = {lead}, received {tuple(mask.shape)}.")
        states = self._initial_states(sequences, initial_state)
        last, outputs, final = self._run_scan(sequences, states, mask, training)
        dtype = self.compute_dtype
        final = jax.tree_util.tree_map(lambda s: s.astype(dtype), final)
        if self.stateful:
            for var, value in zip(self._state_vars, _leaves(final)):
                var.assign(value)
        output = jax.tree_util.tree_map(lambda o: o.astype(dtype),
                                        outputs if self.return_sequences else last)
        # compute_mask (called after the call) gives masks in the same structure.
        self._returned_structure = (jax.tree_util.tree_structure(output),
                                    [jax.tree_util.tree_structure(s) for s in final])
        if self.return_state:
            return (output, *final)
        return output

    def compute_mask(self, inputs, previous_mask=None):
        mask = previous_mask
        if _is_nested(mask) or isinstance(mask, dict):
            mask = _leaves(mask)[0] if _leaves(mask) else None
        output_mask = mask if self.return_sequences else None
        structure = getattr(self, "_returned_structure", None)
        if structure is None:  # not called yet: one output, states from state_size
            state_masks = [jax.tree_util.tree_map(lambda _: None, s) if _is_nested(s) else None
                           for s in self.state_size]
        else:
            # A nested output gets the mask on each of its tensors; states get None.
            out_def, state_defs = structure
            if out_def.num_leaves != 1 or not jax.tree_util.treedef_is_leaf(out_def):
                output_mask = jax.tree_util.tree_unflatten(
                    out_def, [output_mask] * out_def.num_leaves)
            state_masks = [None if jax.tree_util.treedef_is_leaf(d) else
                           jax.tree_util.tree_unflatten(d, [None] * d.num_leaves)
                           for d in state_defs]
        if self.return_state:
            return [output_mask] + state_masks
        return output_mask

    # -- config -----------------------------------------------------------------
    def _rnn_config(self) -> dict:
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_config(self):
        config = super().get_config()
        config.update(self._rnn_config())
        config["cell"] = serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = deserialize_keras_object(config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)
