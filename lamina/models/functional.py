"""Functional models: a graph of layer calls between Input tensors and output tensors."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lamina import dtypes, user_frames
from lamina.graph import KerasTensor, flatten, map_structure
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer, _signature
from lamina.models.model import Model
from lamina.utils.naming import uniquify


def _check_tensors(structure, what: str) -> None:
    for x in flatten(structure):
        if not isinstance(x, KerasTensor):
            raise TypeError(f"All {what} of a functional Model must be KerasTensors (from "
                            f"Input() or layer calls), received {type(x).__name__}: {x!r}.")


def _at(location, verb: str) -> str:
    """" (created at f.py:12)" for a user-code location, or "" when none is known."""
    return "" if location is None else f" ({verb} at {location})"


def _sort_graph(inputs: list, outputs: list) -> list:
    """The nodes between ``inputs`` and ``outputs``, each after the nodes it reads from.

    Raises ValueError when an output depends on an Input that is not among ``inputs``.
    """
    input_ids = {id(t) for t in inputs}
    order, done, in_progress = [], set(), set()

    def visit_tensor(t, consumer=None):
        layer, node_index, _ = t._keras_history
        node = layer._inbound_nodes[node_index]
        if id(t) in input_ids:
            if id(node) not in done:
                done.add(id(node))
                order.append(node)
            return
        if node.is_input:
            read_by = "" if consumer is None else (
                f" and is read by layer '{consumer.operation.name}'"
                f"{_at(consumer.called_at, 'called')}")
            raise ValueError(
                f"Graph disconnected: cannot find parent for {t!r}: it comes from Input "
                f"'{layer.name}'{_at(layer._created_at, 'created')}, which is not among the "
                f"model's inputs {[x.name for x in inputs]}{read_by}. Add it to the model's "
                "inputs, or build the outputs from the given inputs only.")
        visit_node(node)

    def visit_node(node):
        if id(node) in done:
            return
        if id(node) in in_progress:
            raise ValueError(f"The graph has a cycle at layer '{node.operation.name}'.")
        in_progress.add(id(node))
        for t in node.input_tensors:
            visit_tensor(t, node)
        in_progress.discard(id(node))
        done.add(id(node))
        order.append(node)

    for t in outputs:
        visit_tensor(t)
    for t in inputs:  # inputs that no output uses still belong to the model
        visit_tensor(t)
    # Depth = longest distance to an output; deeper nodes run first, ties keep the
    # depth-first finishing order. This is also the order Keras lists layers in.
    depth = {}
    for node in reversed(order):
        d = depth.setdefault(id(node), 0)
        for parent in node.parent_nodes:
            depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)
    # An Input no output uses sits with the deepest nodes (the other inputs), as Keras.
    deepest = max(depth.values(), default=0)
    for t in inputs:
        node = t._keras_history[0]._inbound_nodes[t._keras_history[1]]
        if not any(node is parent for n in order for parent in n.parent_nodes):
            depth[id(node)] = deepest
    return sorted(order, key=lambda n: -depth[id(n)]), depth


def _layers_by_depth(nodes: list, depth: dict) -> list:
    layer_depth, first = {}, {}
    for i, node in enumerate(nodes):
        key = id(node.operation)
        layer_depth[key] = max(layer_depth.get(key, 0), depth[id(node)])
        first.setdefault(key, (i, node.operation))
    ranked = sorted(first.values(), key=lambda item: (-layer_depth[id(item[1])], item[0]))
    return [layer for _, layer in ranked]


def _unpack_singleton(structure):
    """A list of one element as that element: a one-output model returns one tensor."""
    if isinstance(structure, list) and len(structure) == 1:
        return structure[0]
    return structure


def _overrides_compute_mask(layer) -> bool:
    """Whether the layer may give its outputs a mask when its inputs have none."""
    return isinstance(layer, Layer) and layer.supports_masking and (
        type(layer).compute_mask is not Layer.compute_mask)


class Functional(Model):
    """A model defined by the graph between ``inputs`` and ``outputs``.

    Args:
        inputs: a KerasTensor from ``Input()``, or a list or dict of them.
        outputs: a KerasTensor, or a list or dict of them.
        name: the model's name.
    """

    _keras_module = "keras.src.models.functional"
    _compiles_eager_calls = True
    # Inputs keep the dtype of their Input; each layer casts for itself (Keras).
    _convert_input_args = False

    # Mistakes in the inputs/outputs are the user's: they leave with the user's frames.
    @user_frames.reported_from_user_code
    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name or uniquify("functional"), trainable=trainable,
                       **kwargs)
        self._init_model_state()
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        _check_tensors(inputs, "inputs")
        _check_tensors(outputs, "outputs")
        flat_inputs = flatten(inputs)
        for t in flat_inputs:
            layer, node_index, _ = t._keras_history
            if not isinstance(layer, InputLayer):
                called_at = layer._inbound_nodes[node_index].called_at
                raise ValueError(
                    f"Model inputs must come from `Input()`; {t!r} is the output of layer "
                    f"'{layer.name}'{_at(called_at, 'called')}. Pass the Input tensors it "
                    f"is computed from, or start a new model at "
                    f"`Input(shape={t.shape[1:]})`.")
        if len({id(t) for t in flat_inputs}) != len(flat_inputs):
            raise ValueError("The same Input was passed twice in the model's inputs.")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flat_inputs
        self.outputs = flatten(outputs)
        nodes, depth = _sort_graph(self.inputs, self.outputs)
        self._nodes = nodes
        operations = _layers_by_depth(nodes, depth)
        names = [op.name for op in operations]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            lines = [str(n.called_at) for n in nodes
                     if n.operation.name == duplicates[0] and n.called_at is not None]
            where = f" (called at {', '.join(dict.fromkeys(lines))})" if lines else ""
            raise ValueError(f"The name {duplicates[0]!r} is used {names.count(duplicates[0])} "
                             f"times in the model{where}. All layer names should be unique.")
        # Every node's operation, in Keras's order; `layers` are the Layers among them
        # (operations such as ops.mean or `x + y` hold no weights; see lamina.ops.operation).
        self._operations = operations
        self._layers = [op for op in operations if isinstance(op, Layer)]
        self._node_set = {id(n) for n in self._nodes}
        self.built = True

    # -- structure ------------------------------------------------------------
    @property
    def operations(self) -> list:
        """The layers and operations (``ops.*`` calls, tensor arithmetic) of the graph."""
        return list(self._operations)

    @property
    def input_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that produce the outputs, in flattened output order
        (for dict outputs, sorted by key), as Keras."""
        return [t._keras_history[0].name for t in self.outputs]

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        return _unpack_singleton(map_structure(lambda t: t.shape, self._inputs_struct))

    @property
    def output_shape(self):
        return _unpack_singleton(map_structure(lambda t: t.shape, self._outputs_struct))

    @property
    def input_spec(self):
        """An InputSpec (or list of them) set by the user, checked when the model is
        called; None by default (the Input shapes are checked anyway)."""
        return self.__dict__.get("_manual_input_spec")

    @input_spec.setter
    def input_spec(self, value):
        self.__dict__["_manual_input_spec"] = value

    # -- running --------------------------------------------------------------
    def _flatten_call_inputs(self, inputs) -> list:
        n = len(self.inputs)
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                keys = list(self._inputs_struct.keys())
            else:
                keys = self.input_names
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' is missing input {missing[0]!r}: expected "
                                 f"inputs named {keys}, received keys {list(inputs.keys())}.")
            return [inputs[k] for k in keys]
        if isinstance(inputs, (list, tuple)):
            flat = list(inputs)
        else:
            flat = [inputs]
        if len(flat) != n:
            raise ValueError(f"Model '{self.name}' expects {n} input(s), but it received "
                             f"{len(flat)} input tensors. Expected inputs: "
                             f"{[(name, t.shape) for name, t in zip(self.input_names, self.inputs)]}.")
        return flat

    def _standardize_input(self, spec: KerasTensor, name: str, x):
        if isinstance(x, KerasTensor):
            return x
        if not hasattr(x, "shape"):
            x = np.asarray(x)
        shape = tuple(x.shape)
        want = spec.shape
        if len(shape) == len(want) - 1 and want[-1] == 1:
            x = x[..., None]
            shape = tuple(x.shape)
        elif len(shape) == len(want) + 1 and shape[-1] == 1:
            x = x[..., 0]
            shape = tuple(x.shape)
        if len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape)):
            raise ValueError(f"Input '{name}' of model '{self.name}' is incompatible: expected "
                             f"shape {want}, received shape {shape}.")
        got = dtypes.standardize(x.dtype)
        if got != spec.dtype:
            ok = (dtypes.is_float(spec.dtype) and (
                dtypes.is_float(got) or dtypes.is_int(got) or got == "bool")) or (
                dtypes.is_int(spec.dtype) and (dtypes.is_int(got) or got == "bool"))
            if not ok:
                raise ValueError(f"Input '{name}' of model '{self.name}' expects dtype "
                                 f"{spec.dtype}, received dtype {got} (shape {shape}).")
            x = jnp.asarray(x, spec.dtype)
        return x

    def call(self, inputs, training=None, mask=None):
        outputs, _ = self._run_graph(inputs, training=training, mask=mask)
        return outputs

    def _run_graph(self, inputs, training=None, mask=None):
        """Runs the graph; returns the outputs and their masks (same structure)."""
        flat = self._flatten_call_inputs(inputs)
        flat = [self._standardize_input(t, name, x)
                for t, name, x in zip(self.inputs, self.input_names, flat)]
        values = {id(t): x for t, x in zip(self.inputs, flat)}
        masks = {}
        if mask is not None:
            for t, m in zip(self.inputs, self._flatten_call_inputs(mask)):
                masks[id(t)] = m

        def mask_of(t):
            return masks.get(id(t)) if isinstance(t, KerasTensor) else None

        for node in self._nodes:
            layer = node.operation
            if node.is_input:
                continue
            args, kwargs = map_structure(
                lambda v: values[id(v)] if isinstance(v, KerasTensor) else v,
                (node.call_args, node.call_kwargs))
            if not isinstance(layer, Layer):
                # An operation (lamina.ops): no masks, no training flag, as in Keras.
                out = layer(*args, **kwargs)
                for t, v in zip(node.output_tensors, flatten(out)):
                    values[id(t)] = v
                continue
            # The same mask rules as when the graph was built (Layer._symbolic_call).
            kwargs, previous_mask = layer._masks_for_call(node.call_args, node.call_kwargs,
                                                          mask_of, values=kwargs)
            # As in Keras, a training flag given to the model overrides the one the
            # node recorded (e.g. the `training=True` default Keras records for image
            # augmentation layers).
            if training is not None and _signature(layer).training:
                kwargs = dict(kwargs, training=training)
            if isinstance(layer, Functional):
                out, out_mask = layer._run_graph(*args, training=kwargs.get("training"),
                                                 mask=kwargs.get("mask"))
                flat_masks = layer._flat_masks(out_mask, flatten(out))
            else:
                out = layer(*args, **kwargs)
                flat_masks = layer._output_masks(args[0], out, previous_mask)
            for t, v, m in zip(node.output_tensors, flatten(out), flat_masks):
                values[id(t)] = v
                if m is not None:
                    masks[id(t)] = m
        outputs = map_structure(lambda t: values[id(t)], self._outputs_struct)
        out_masks = map_structure(lambda t: masks.get(id(t)), self._outputs_struct)
        return _unpack_singleton(outputs), _unpack_singleton(out_masks)

    def compute_mask(self, inputs, previous_mask=None):
        """The masks the graph gives its outputs (same structure; None where unmasked),
        for ``inputs`` with masks ``previous_mask``. Used when the model is called on
        KerasTensors, to give its outputs their symbolic masks.

        The graph runs in an isolated scope: state updates and losses of this extra run
        are dropped.
        """
        import jax  # noqa: PLC0415

        from lamina.state import StatelessScope  # noqa: PLC0415

        if all(m is None for m in flatten(previous_mask)) and not any(
                _overrides_compute_mask(node.operation) for node in self._nodes):
            return None
        with StatelessScope(key=jax.random.PRNGKey(0), isolated=True):
            _, masks = self._run_graph(inputs, mask=previous_mask)
        return masks

    # -- config ---------------------------------------------------------------
    def get_config(self) -> dict:
        from lamina.models.functional_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.models.functional_config import functional_from_config

        return functional_from_config(cls, config, custom_objects)
