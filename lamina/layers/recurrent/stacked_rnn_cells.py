"""StackedRNNCells: several cells run as one cell (each cell's output feeds the next)."""

from __future__ import annotations

from lamina.graph import KerasTensor
from lamina.layers.layer import Layer
from lamina.layers.recurrent.rnn import (
    _first_leaf,
    _is_nested,
    call_cell,
    map_shapes,
    prefix_weight_paths,
    shape_leaves,
    zero_states,
)
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return cell.state_size[0] if _is_nested(cell.state_size) else cell.state_size


class StackedRNNCells(Layer):
    """Wraps a list of RNN cells so that ``RNN`` runs them as a single cell.

    Args:
        cells: the cells, first to last; cell ``k + 1`` receives cell ``k``'s output.

    The states are a list with one entry per cell (that cell's states). The first
    cell may take nested inputs (a structure of tensors); later cells get the
    previous cell's output.
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError("All cells must have a `call` method. Received cell without a "
                                 f"`call` method: {cell!r}")
            if "state_size" not in dir(cell):
                raise ValueError("All cells must have a `state_size` attribute. Received cell "
                                 f"without a `state_size`: {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def _compute_key(self):
        """Hashable description of the stacked computation, None if a cell has none."""
        keys = [c._compute_key() if hasattr(c, "_compute_key") else None for c in self.cells]
        return None if any(k is None for k in keys) else (type(self), tuple(keys))

    def get_initial_state(self, batch_size=None):
        """One entry per cell: the cell's initial states (zeros unless the cell says)."""
        states = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                states.append(fn(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(zero_states(cell.state_size, batch_size, self.compute_dtype))
            else:
                states.append([zero_states(d, batch_size, self.compute_dtype)
                               for d in cell.state_size])
        return states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer):
                if not cell.built:
                    cell._maybe_build((map_shapes(KerasTensor, input_shape),), {})
                prefix_weight_paths(self.name, cell)
            input_shape = (shape_leaves(input_shape)[0][0], _output_size(cell))
        self.built = True

    def _make_dropout_masks(self, batch_size, input_dim, dtype, training):
        """Each built-in cell's dropout masks for one sequence (None for other cells)."""
        masks, width = [], input_dim
        for cell in self.cells:
            make = getattr(cell, "_make_dropout_masks", None)
            masks.append(None if make is None else make(batch_size, width, dtype, training))
            width = _output_size(cell)
        return masks

    def _step(self, inputs, states, masks, training=None):
        new_states = []
        for cell, cell_states, cell_masks in zip(self.cells, states, masks):
            was_list = _is_nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            if cell_masks is not None:
                inputs, cell_states = cell._step(inputs, cell_states, cell_masks, training)
            else:
                inputs, cell_states = call_cell(cell, inputs, cell_states, training)
            if _is_nested(cell_states) and len(cell_states) == 1 and not was_list:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        if len(new_states) == 1:
            new_states = new_states[0]
        return inputs, new_states

    def call(self, inputs, states, training=False):
        """One step through every cell; returns ``(last_output, [states of each cell])``."""
        first = _first_leaf(inputs)
        masks = self._make_dropout_masks(first.shape[0], first.shape[-1], first.dtype,
                                         training)
        return self._step(inputs, states, masks, training)

    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialize_keras_object(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize_keras_object(c, custom_objects=custom_objects)
                 for c in config.pop("cells")]
        return cls(cells, **config)
