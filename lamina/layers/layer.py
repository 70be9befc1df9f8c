"""The Layer base class.

A layer owns Variables (created in ``build`` with ``add_weight``) and computes
``call(inputs, training=None, mask=None)`` with jax.numpy. Calling a layer:

- on symbolic KerasTensors builds it, infers its output spec by abstract
  evaluation of ``call`` (two stand-in sizes for unknown dimensions), gives the
  outputs their symbolic masks (``_keras_mask``, by ``compute_mask``) and
  records a Node; a ``call`` taking ``mask`` receives the inputs' symbolic masks;
- on arrays inside a stateless scope (a model's forward pass, a train step)
  runs ``call`` directly, reading variables through the scope;
- on arrays at top level goes through ``stateless_call`` with the current
  variable values and writes new non-trainable values back (contract 1); masks
  travel on the arrays as ``_keras_mask`` attributes, as in Keras.
"""

from __future__ import annotations

import inspect
import warnings

import jax.numpy as jnp
import numpy as np

from lamina import dtype_policy as _policies
from lamina import dtypes, user_frames
from lamina import random as lrandom
from lamina.call_context import current_training, training_context
from lamina.graph import KerasTensor, Node, any_symbolic, flatten, map_structure
from lamina.layers.abstract_eval import eval_abstractly
from lamina.layers.input_spec import assert_input_compatibility
from lamina.layers.layer_execution import StatelessExecution, structure_changed
from lamina.layers.layer_masks import MaskRules
from lamina.layers.layer_utils import (  # noqa: F401 - _listify/_tuplify/_signature are shared
    _attached_mask,
    _is_tensor_argument,
    _listify,
    _mask_fits,
    _mask_structure,
    _shape_of,
    _signature,
    _StatelessRun,
    _to_array,
    _tuplify,
)
from lamina.saving.saveable import KerasSaveable
from lamina.saving.serialization import serialize_keras_object
from lamina.state import Variable, current_scope
from lamina.tree import map_shape_structure
from lamina.utils.naming import to_snake_case, uniquify


class Layer(StatelessExecution, MaskRules, KerasSaveable):
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name; unique default from the class name.
        dtype: a dtype name or DTypePolicy: the dtype of computations and weights.
        activity_regularizer: optional regularizer applied to the layer's output.
    """

    _keras_module = "keras.layers"
    # Whether train steps containing this layer may be fused into one loop (see
    # Trainer._fused_steps); False where that is measured to be slow on CPU.
    _fuses_into_loops = True
    # The user's line that created the layer (lamina.user_frames), named in errors.
    _created_at = None
    # Whether float inputs are cast to the compute dtype (a mixed policy's bfloat16);
    # a functional model leaves that to its layers, as Keras does.
    _convert_input_args = True

    def __init__(self, *, activity_regularizer=None, trainable: bool = True, dtype=None,
                 autocast: bool = True, name: str | None = None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Layer name must be a string, received {type(name).__name__}.")
        object.__setattr__(self, "_layers", [])
        self.name = name or uniquify(to_snake_case(type(self).__name__))
        self.dtype_policy = _policies.get(dtype)
        self._rng_id = lrandom.next_owner_id()
        self.autocast = autocast
        self._trainable = bool(trainable)
        self.built = False
        self._trainable_variables: list[Variable] = []
        self._non_trainable_variables: list[Variable] = []
        self._regularizers: list = []
        self._losses: list = []
        self._inbound_nodes: list[Node] = []
        self._build_shapes = None
        self.input_spec = None
        self._call_has_been_wrapped = False
        self._created_at = user_frames.user_location(constructing=self)
        from lamina import regularizers  # noqa: PLC0415 - regularizers import layers lazily

        self.activity_regularizer = regularizers.get(activity_regularizer)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, input_dim)
        else:
            self._batch_input_shape = None

    # -- attribute tracking -------------------------------------------------
    def __setattr__(self, name, value):
        layers = self.__dict__.get("_layers")
        if layers is not None and not name.startswith("_"):
            for item in _trackable_layers(value):
                if item is not self and not any(item is x for x in layers):
                    layers.append(item)
                    structure_changed()
            if isinstance(value, Variable) and "_trainable_variables" in self.__dict__:
                self._track_variable(value)
        object.__setattr__(self, name, value)

    def _track_variable(self, var: Variable) -> None:
        target = self._trainable_variables if var.trainable else self._non_trainable_variables
        if not any(var is v for v in self._trainable_variables + self._non_trainable_variables):
            target.append(var)
            structure_changed()

    # -- dtypes ---------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    # -- weights --------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable: bool = True,
                   autocast: bool = True, regularizer=None, constraint=None,
                   aggregation="none", overwrite_with_gradient=False,
                   name: str | None = None) -> Variable:
        """Creates a Variable owned by this layer and returns it.

        Args:
            shape: the weight's shape (default scalar).
            initializer: initializer name, instance or callable; default
                ``"glorot_uniform"`` for floats and ``"zeros"`` otherwise.
            dtype: default the layer's variable dtype.
            trainable: whether training updates it.
            regularizer, constraint: optional, applied during training.
            name: the weight's name, e.g. ``"kernel"``.
        """
        from lamina import constraints, initializers, regularizers

        shape = () if shape is None else tuple(shape)
        dtype = dtypes.standardize(dtype or self.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtypes.is_float(dtype) else "zeros"
        init = initializers.get(initializer)
        name = name or f"variable_{len(self._trainable_variables) + len(self._non_trainable_variables)}"
        var = Variable(init, shape=shape, dtype=dtype, trainable=trainable, name=name,
                       autocast=autocast, aggregation=aggregation,
                       path=f"{self.name}/{name}")
        var.regularizer = regularizers.get(regularizer)
        var.constraint = constraints.get(constraint)
        var.overwrite_with_gradient = overwrite_with_gradient
        if var.regularizer is not None:
            self._regularizers.append(var)
        self._track_variable(var)
        return var

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast, regularizer=regularizer,
                               constraint=constraint, name=name)

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True) -> list:
        """This layer (optionally) and its sub-layers, depth first, without repeats."""
        out, seen = [], set()

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            if layer is not self or include_self:
                out.append(layer)
            if layer is self or recursive:
                for sub in layer._layers:
                    visit(sub)

        visit(self)
        return out

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def weights(self) -> list[Variable]:
        """All weights: own trainable then non-trainable, then sub-layers', without repeats."""
        out, seen = [], set()
        for v in self._trainable_variables + self._non_trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._layers:
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [v for v in self._trainable_variables if v.trainable]
        out, seen = [], set()
        for v in own + [v for layer in self._layers for v in layer.trainable_weights]:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        structure_changed()
        for layer in self._layers:
            layer.trainable = value

    def get_weights(self) -> list[np.ndarray]:
        """The weights' values as NumPy arrays, in ``weights`` order."""
        return [np.asarray(v.value) for v in self.weights]

    def set_weights(self, weights) -> None:
        """Sets the weights from a list of arrays in ``weights`` order (shapes must match)."""
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(f"Layer '{self.name}' expects {len(params)} weights, but the "
                             f"provided list has {len(weights)} weights.")
        for var, value in zip(params, weights):
            value = np.asarray(value)
            if tuple(value.shape) != var.shape:
                raise ValueError(f"Layer '{self.name}' weight '{var.path}' has shape "
                                 f"{var.shape}, but the provided weight has shape "
                                 f"{tuple(value.shape)}.")
        for var, value in zip(params, weights):
            var.assign(np.asarray(value))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the "
                             "layer isn't built. Build it first (call it on data or on an "
                             "Input).")
        return int(sum(np.prod(v.shape, dtype=np.int64) for v in self.weights))

    # -- losses ---------------------------------------------------------------
    def add_loss(self, loss) -> None:
        """Adds a scalar loss term (e.g. an activity penalty) computed in ``call``."""
        scope = current_scope()
        if scope is not None:
            scope.losses.append(loss)
        else:
            self._losses.append(loss)

    def _regularization_losses(self) -> list:
        out = []
        for layer in self._flatten_layers():
            for var in layer._regularizers:
                if var.trainable and layer.trainable:
                    out.append(var.regularizer(var.value))
        return out

    @property
    def losses(self) -> list:
        """Losses added during the last call plus the weight regularization penalties."""
        collected = []
        for layer in self._flatten_layers():
            collected.extend(layer._losses)
        return collected + self._regularization_losses()

    # -- building -------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Creates the layer's weights for inputs of ``input_shape``."""
        self.built = True

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        if self.built:
            return
        first = args[0] if args else None
        shapes = map_structure(_shape_of, first)
        params = [p for p in inspect.signature(self.build).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(params) > 1 and all(p.name.endswith("_shape") for p in params):
            # build(query_shape, value_shape, ...) takes the shapes of the call's named args.
            call_params = _signature(self).names
            bound = dict(zip(call_params, args))
            bound.update(kwargs)
            build_kwargs = {p.name: map_structure(_shape_of, bound.get(p.name[:-6]))
                            for p in params if p.name[:-6] in bound}
            self._build_shapes = {"shapes_dict": build_kwargs}
            self.build(**build_kwargs)
        else:
            self._build_shapes = {"input_shape": shapes}
            self.build(shapes)
        self.built = True

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        return {k: _listify(v) for k, v in self._build_shapes.items()}

    def build_from_config(self, config) -> None:
        if not config or self.built:
            return
        if "input_shape" in config:
            shape = _tuplify(config["input_shape"])
            self._build_shapes = {"input_shape": shape}
            self.build(shape)
        elif "shapes_dict" in config:
            shapes = {k: _tuplify(v) for k, v in config["shapes_dict"].items()}
            self._build_shapes = {"shapes_dict": shapes}
            self.build(**shapes)
        self.built = True

    # -- calling --------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def __call__(self, *args, **kwargs):
        if not kwargs and len(args) == 1 and type(args[0]) is np.ndarray and (
                self._compiles_eager_calls):  # a repeated eager call of a model
            outputs = self._fast_eager_call(args[0])
            if outputs is not None:
                return outputs
        sig = _signature(self)
        if not args and sig.first and sig.first in kwargs:
            args = (kwargs.pop(sig.first),)
        if not args:
            raise ValueError(f"Layer '{self.name}' was called without inputs.")
        if any_symbolic((args, kwargs)):
            try:
                return self._symbolic_call(args, kwargs)
            except Exception as error:  # a graph-building error: point at the user's line
                note = user_frames.layer_call_note(self, user_frames.user_location())
                if note is not None:
                    user_frames.add_note_once(error, note)
                if not user_frames.filtering_enabled():
                    raise
                raise user_frames.without_internal_frames(error) from None
        return self._concrete_call(args, kwargs)

    def _resolve_training(self, kwargs: dict) -> dict:
        sig = _signature(self)
        if sig.training:
            training = kwargs.get("training")
            if training is None:
                training = current_training()
            if training is None:
                training = sig.training_default
            kwargs = dict(kwargs, training=training)
        return kwargs

    def _convert_inputs(self, args: tuple, kwargs: dict, keep_numpy: bool = False):
        """Inputs as arrays of the compute dtype; ``keep_numpy`` leaves NumPy inputs to
        a compiled call, which converts them itself (an eager conversion costs about as
        much as a small model's whole call)."""
        compute = self.compute_dtype

        def convert(x):
            if keep_numpy and isinstance(x, np.ndarray):
                return x
            x = _to_array(x, compute)
            if self.autocast and self._convert_input_args and hasattr(x, "dtype") and (
                    dtypes.is_float(x.dtype)) and dtypes.standardize(x.dtype) != compute:
                x = jnp.asarray(x, compute)
            return x

        first = args[0]
        leaves = flatten(first)
        if leaves and all(isinstance(v, (bool, int, float, str)) for v in leaves):
            # Plain Python data (e.g. layer([[1, 2], [3, 4]])) is one array, as in Keras.
            first = np.asarray(first)
        args = (map_structure(convert, first),) + tuple(
            map_structure(_to_array, a) for a in args[1:])
        kwargs = {k: (v if k in ("training", "mask") else map_structure(_to_array, v))
                  for k, v in kwargs.items()}
        if "mask" in kwargs and kwargs["mask"] is not None:
            kwargs["mask"] = map_structure(_to_array, kwargs["mask"])
        return args, kwargs

    def _call_in_scope(self, args: tuple, kwargs: dict):
        self._maybe_build(args, kwargs)
        assert_input_compatibility(self.input_spec, args[0], self.name)
        kwargs = self._resolve_training(kwargs)
        sig = _signature(self)
        if not sig.has_var_kwargs:
            # Like Keras, a layer whose call takes no mask/training ignores them.
            if "mask" in kwargs and not sig.mask:
                kwargs.pop("mask")
            if "training" in kwargs and not sig.training:
                kwargs.pop("training")
        if self.autocast and self._convert_input_args:  # symbolic inputs too, as Keras
            compute = self.compute_dtype
            args = (map_structure(lambda x: _policies.cast_float_array(x, compute), args[0]),
                    ) + tuple(args[1:])
        with training_context(kwargs.get("training", current_training())), (
                _policies.layer_autocast(self.dtype_policy, self.autocast)):
            outputs = self.call(*args, **kwargs)
        self._add_activity_loss(outputs)
        return outputs

    def _add_activity_loss(self, outputs) -> None:
        if self.activity_regularizer is not None:
            for out in flatten(outputs):
                if out is not None:
                    self.add_loss(self.activity_regularizer(out) / out.shape[0])

    def _build_by_tracing(self, args: tuple, kwargs: dict) -> None:
        """Builds the layer (and sub-layers created lazily in ``call``) abstractly."""
        spec_args = map_structure(
            lambda x: KerasTensor(x.shape, x.dtype) if hasattr(x, "shape") else x, args)
        self._maybe_build(spec_args, kwargs)
        self.compute_output_spec(*spec_args, **kwargs)

    def _symbolic_call(self, args: tuple, kwargs: dict):
        for x in flatten(args[0]):
            if x is not None and not isinstance(x, KerasTensor):
                raise ValueError(
                    f"Layer '{self.name}' was called on a mix of symbolic and concrete inputs "
                    f"(received {type(x).__name__}). When building a model, pass only "
                    "KerasTensors (from Input() or other layers).")
        try:
            self._maybe_build(args, kwargs)
        except ValueError:
            raise
        except Exception as e:  # build errors name the layer and the shape they saw
            shapes = map_structure(_shape_of, args[0])
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) could not be built "
                             f"on inputs with shape {shapes}: {e}") from e
        assert_input_compatibility(self.input_spec, args[0], self.name)
        # The call receives its inputs' symbolic masks, as it will receive their values
        # when the model runs (Functional._run_graph fills them in the same way).
        call_kwargs, previous_mask = self._masks_for_call(args, kwargs, _attached_mask)
        try:
            outputs = self.compute_output_spec(*args, **call_kwargs)
        except ValueError as error:
            if call_kwargs is kwargs:
                raise
            # A call that cannot take the masks at the stand-in sizes of unknown
            # dimensions (Softmax over (steps, steps) with a (batch, steps) mask only
            # broadcasts for some batch sizes): the output spec is inferred without them
            # (as Keras does for layers that declare their output shape); the call still
            # receives them when the model runs.
            try:
                outputs = self.compute_output_spec(*args, **kwargs)
            except Exception:
                raise error from None
            warnings.warn(
                f"Layer '{self.name}' ({type(self).__name__}) could not be called with its "
                f"inputs' masks while the model was built, so its output shape was inferred "
                f"without them; it receives them when the model runs. The error: {error}",
                stacklevel=3)
        masks = self._output_masks(args[0], outputs, previous_mask)
        Node(self, args, kwargs, outputs)
        for out, mask in zip(flatten(outputs), masks):
            if isinstance(out, KerasTensor) and mask is not None:
                out._keras_mask = mask
        return outputs

    def compute_output_spec(self, *args, **kwargs):
        """The output KerasTensors for symbolic inputs, by abstract evaluation of ``call``."""
        kwargs = self._resolve_training(kwargs)
        try:
            return eval_abstractly(lambda ak: self._call_in_scope(*ak), (args, kwargs))
        except ValueError as e:
            if self.name in str(e):
                raise
            raise self._call_error(args, e) from e
        except Exception as e:
            raise self._call_error(args, e) from e

    def _call_error(self, args, e) -> ValueError:
        shapes = map_structure(_shape_of, args[0])
        return ValueError(f"Exception encountered when calling {type(self).__name__} "
                          f"'{self.name}' on inputs with shape {shapes}: "
                          f"{type(e).__name__}: {e}")

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (by abstract evaluation by default)."""
        spec = map_shape_structure(lambda s: KerasTensor(tuple(s), self.compute_dtype),
                                   input_shape)
        out = self.compute_output_spec(spec)
        return map_structure(lambda t: t.shape, out)

    # -- graph accessors ------------------------------------------------------
    def _node_attr(self, attr: str):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called and thus has no "
                                 f"defined {attr}.")
        node = self._inbound_nodes[0]
        return node.call_args[0] if attr == "input" else node.outputs

    @property
    def input(self):
        return self._node_attr("input")

    @property
    def output(self):
        return self._node_attr("output")

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self.output)

    # -- config ---------------------------------------------------------------
    def get_config(self) -> dict:
        """The layer's constructor arguments as a JSON-able dict (Keras 3 keys)."""
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": serialize_keras_object(self.dtype_policy)}
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _trackable_layers(value) -> list:
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Layer)]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, Layer)]
    return []
