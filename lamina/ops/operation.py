"""Operations: what ``lamina.ops`` functions record when they meet symbolic tensors.

Every public op (``ops.mean``, ``ops.add``, ``x + y`` on KerasTensors) is a plain
function on arrays, made with :func:`keras_op`. On concrete values (NumPy or JAX
arrays, tracers under ``jax.jit``, lamina Variables, Python scalars) it computes with
jax.numpy and returns a ``jax.Array``. When any argument is a symbolic
:class:`~lamina.graph.KerasTensor` it instead instantiates the op's
:class:`Operation` class with the arguments Keras keeps in the op's config
(``Mean(axis=-1, keepdims=False)``) and calls it on the remaining ones (the
tensors, and constants such as the ``2.0`` of ``x * 2.0``, kept inline as in
Keras); that call records a :class:`~lamina.graph.Node` whose output KerasTensors
come from abstract evaluation (``jax.eval_shape``) of the same function.

How operations relate to layers. As in Keras, an Operation is not a Layer: it holds
no variables and has no build step, training flag or masks (Keras gives the outputs
of operations no ``_keras_mask``). A functional model runs operation nodes like layer
nodes, lists every node's operation in ``model.operations`` and only its Layers in
``model.layers`` (so weights, ``get_layer`` and training see only layers), shows
operations in ``summary()`` with 0 parameters, and writes one config entry per
operation in Keras 3's schema: ``{"module": "keras.src.ops.numpy", "class_name":
"Mean", "config": {"name": "mean", "axis": -1, "keepdims": false}, "registered_name":
"Mean", "name": "mean", "inbound_nodes": [...]}``.

Configs name operations by Keras module and class; they are resolved only through
:data:`OPERATIONS`, the fixed table of lamina's operation classes filled in as the
``lamina.ops`` modules define them. A config can never make lamina import a module.
"""

from __future__ import annotations

import functools
import inspect

import jax

from lamina import dtypes, user_frames
from lamina.graph import KerasTensor, Node, any_symbolic, flatten
from lamina.ops.eager import compiled
from lamina.state import Variable
from lamina.utils.naming import to_snake_case, uniquify

# Stand-in sizes for unknown (None) dimensions during abstract evaluation, as for
# layers (lamina.layers.layer): output dimensions that differ between them are unknown.
# A third, small size probes dimensions such as min(n, 3) (a diagonal's length), which
# the large sizes cannot tell from constants; it is ignored where the op rejects it.
_STAND_INS = (43, 71)
_SMALL_PROBE = 2

# (Keras module, class name) -> lamina Operation class. Filled when lamina.ops loads.
OPERATIONS: dict[tuple[str, str], type] = {}


def get_operation_class(module: str, class_name: str):
    """The lamina Operation class for a Keras module and class name, or None."""
    return OPERATIONS.get((module, class_name))


def _unwrap(value):
    """``value`` with lamina Variables replaced by their current values (also inside
    lists and tuples, e.g. ``ops.concatenate([v1, v2])``)."""
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, (list, tuple)) and any(
            isinstance(v, (Variable, list, tuple)) for v in value):
        return type(value)(_unwrap(v) for v in value)
    return value


def _has_symbolic(value) -> bool:
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_symbolic(v) for v in value)
    if isinstance(value, dict):
        return any(_has_symbolic(v) for v in value.values())
    return False


def abstract_evaluate(fn, args: tuple, kwargs: dict):
    """``fn(*args, **kwargs)`` with the KerasTensors among the arguments replaced by
    abstract arrays; returns the outputs as KerasTensors (same structure).

    Unknown (None) dimensions are evaluated at two stand-in sizes; output dimensions
    that differ between the two runs are unknown.
    """
    leaves, treedef = jax.tree_util.tree_flatten(
        (args, kwargs), is_leaf=lambda x: x is None or isinstance(x, (KerasTensor, Variable)))
    sym_index = [i for i, x in enumerate(leaves) if isinstance(x, KerasTensor)]

    def run(size):
        abstract = [jax.ShapeDtypeStruct(
            tuple(size if d is None else d for d in leaves[i].shape), leaves[i].dtype)
            for i in sym_index]

        def traced(*values):
            full = list(leaves)
            for i, v in zip(sym_index, values):
                full[i] = v
            a, k = jax.tree_util.tree_unflatten(treedef, full)
            return fn(*a, **k)

        return jax.eval_shape(traced, *abstract)

    has_unknown = any(d is None for i in sym_index for d in leaves[i].shape)
    first = run(_STAND_INS[0])
    if not has_unknown:
        return jax.tree_util.tree_map(
            lambda a: None if a is None else KerasTensor(a.shape, dtypes.standardize(a.dtype)),
            first, is_leaf=lambda x: x is None)
    second = run(_STAND_INS[1])
    try:
        probe = run(_SMALL_PROBE)
        same_structure = jax.tree_util.tree_structure(probe) == jax.tree_util.tree_structure(
            first) and all(a.ndim == b.ndim for a, b in zip(
                jax.tree_util.tree_leaves(probe), jax.tree_util.tree_leaves(first)))
    except Exception:  # noqa: BLE001 - the op needs larger sizes; the probe is optional
        same_structure = False
    if not same_structure:
        probe = first

    def combine(a, b, c):
        if a is None:
            return None
        shape = tuple(x if x == y == z else None for x, y, z in zip(a.shape, b.shape, c.shape))
        return KerasTensor(shape, dtypes.standardize(a.dtype))

    return jax.tree_util.tree_map(combine, first, second, probe, is_leaf=lambda x: x is None)


class Operation:
    """A computation that can be recorded in a functional graph.

    Subclasses set ``call`` (the computation on arrays). Calling an operation on
    symbolic tensors records a Node and returns KerasTensors; on concrete values it
    returns ``call``'s result.

    Args:
        name: the operation's name; a unique default from the class name.
    """

    _keras_module = "keras.src.ops.operation"

    def __init__(self, *, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"An operation's name must be a string, received {name!r}.")
        self.name = name or uniquify(to_snake_case(type(self).__name__))
        self._inbound_nodes: list[Node] = []

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Operation {type(self).__name__} does not implement call().")

    def __call__(self, *args, **kwargs):
        if any_symbolic((args, kwargs)):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def symbolic_call(self, *args, **kwargs):
        """Records a Node for this call on KerasTensors and returns its outputs."""
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        return outputs

    def compute_output_spec(self, *args, **kwargs):
        """The output KerasTensors for these (symbolic) arguments, by abstract evaluation."""
        try:
            return abstract_evaluate(self.call, args, kwargs)
        except Exception as e:
            shapes = [tuple(x.shape) for x in flatten((args, kwargs))
                      if isinstance(x, KerasTensor)]
            raise ValueError(f"Operation '{self.name}' ({type(self).__name__}) cannot be "
                             f"applied to symbolic inputs with shapes {shapes}: "
                             f"{type(e).__name__}: {e}") from e

    # -- graph accessors ----------------------------------------------------
    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Operation '{self.name}' has never been called.")
        return self._inbound_nodes[0].call_args[0]

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Operation '{self.name}' has never been called.")
        return self._inbound_nodes[0].outputs

    # -- config ---------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**{k: from_json(v) for k, v in config.items()})

    def __repr__(self):
        return f"<Operation name={self.name}>"


def from_json(value):
    """A config or argument value read back from JSON: lists become tuples (axes,
    shapes, paddings) and Keras's records of NumPy arrays, slices and Ellipsis become
    those objects."""
    if isinstance(value, dict):
        kind = value.get("class_name")
        inner = value.get("config")
        if kind == "__numpy__":
            from lamina.saving.serialization import numpy_from_record  # noqa: PLC0415

            return numpy_from_record(inner)
        if kind == "__slice__":
            return slice(from_json(inner["start"]), from_json(inner["stop"]),
                         from_json(inner["step"]))
        if kind == "__ellipsis__":
            return Ellipsis
        if kind == "__tuple__":
            return tuple(from_json(v) for v in inner["value"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(from_json(v) for v in value)
    return value


def to_json(value):
    """The JSON form of an operation's argument, as Keras writes it: slices and
    Ellipsis as ``__slice__``/``__ellipsis__`` records, arrays as ``__numpy__``."""
    from lamina.saving.serialization import serialize_keras_object  # noqa: PLC0415

    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {
            "start": to_json(value.start), "stop": to_json(value.stop),
            "step": to_json(value.step)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return serialize_keras_object(value)


class _FunctionOperation(Operation):
    """An Operation made by :func:`keras_op` from a function: the function's parameters
    in ``_init_signature`` are the config, the others the call."""

    _init_signature: inspect.Signature

    def __init__(self, *args, name: str | None = None, **kwargs):
        super().__init__(name=name)
        bound = self._init_signature.bind(*args, **kwargs)
        bound.apply_defaults()
        self._config = dict(bound.arguments)

    def __getattr__(self, item):
        config = self.__dict__.get("_config")
        if config is not None and item in config:
            return config[item]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {item!r}")

    def get_config(self) -> dict:
        config = {"name": self.name}
        config.update({k: to_json(v) for k, v in self._config.items()})
        return config


def keras_op(module: str, class_name: str | None = None, init: tuple = (), jit=True,
             resolve: dict | None = None):
    """Makes ``fn`` a Keras op: an eager function plus an Operation class for symbolic calls.

    Args:
        module: the Keras module that defines the op's class (``"keras.src.ops.numpy"``),
            written in configs.
        class_name: the op's Keras class name; default the CamelCase of the function's name.
        init: the names of ``fn``'s parameters Keras keeps in the op's config (passed to the
            class's constructor); the other parameters are passed when the op is called.
        jit: whether eager calls run compiled (:mod:`lamina.ops.eager`): False for ops
            whose output shapes depend on values (``unique``, ``nonzero``), or a predicate
            of the call's arguments (``where`` with one argument is such an op).
        resolve: for config arguments whose None Keras replaces by a current default
            when it records the op, ``{name: function giving the default}`` (e.g.
            ``data_format`` -> ``image_data_format``).

    Returns:
        A decorator. The decorated function has the Operation class as ``op_class``.
    """

    def decorate(fn):
        name = class_name or "".join(p.capitalize() for p in fn.__name__.split("_"))
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        unknown = set(init) - {p.name for p in params}
        if unknown:
            raise TypeError(f"keras_op {name}: {sorted(unknown)} are not parameters of "
                            f"{fn.__name__}.")
        init_params = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
                       for p in params if p.name in init]
        init_params.sort(key=lambda p: p.default is not inspect.Parameter.empty)
        cls = type(name, (_FunctionOperation,), {
            "__module__": fn.__module__,
            "__qualname__": name,
            "__doc__": f"The operation recorded by ``{fn.__name__}`` on symbolic tensors.",
            "_keras_module": module,
            "_init_signature": inspect.Signature(init_params),
            "call": _make_call(fn, sig, tuple(init)),
        })
        if (module, name) in OPERATIONS:
            raise ValueError(f"Operation {module}.{name} is defined twice.")
        OPERATIONS[(module, name)] = cls
        fast = compiled(fn) if jit else fn
        if callable(jit):
            def run(*args, **kwargs):
                return (fast if jit(*args, **kwargs) else fn)(*args, **kwargs)
        else:
            run = fast

        @functools.wraps(fn)
        def op(*args, **kwargs):
            if _has_symbolic(args) or _has_symbolic(kwargs):
                try:
                    return _symbolic(cls, sig, tuple(init), args, kwargs, resolve or {})
                except Exception as error:  # a graph-building error: point at the user's line
                    location = user_frames.user_location()
                    if location is not None:
                        user_frames.add_note_once(error, f"ops.{fn.__name__} was called at {location}.")
                    if not user_frames.filtering_enabled():
                        raise
                    raise user_frames.without_internal_frames(error) from None
            if any(isinstance(a, (Variable, list, tuple)) for a in args) or any(
                    isinstance(v, (Variable, list, tuple)) for v in kwargs.values()):
                args = tuple(_unwrap(a) for a in args)
                kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
            return run(*args, **kwargs)

        op.op_class = cls
        return op

    return decorate


def _make_call(fn, sig: inspect.Signature, init: tuple):
    params = list(sig.parameters.values())

    def call(self, *args, **kwargs):
        """Computes the op on arrays with this operation's config."""
        args = [_unwrap(a) for a in args]
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        positional, keywords = [], {}
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                positional.extend(args)
                args = []
            elif p.kind is p.VAR_KEYWORD:
                keywords.update(kwargs)
                kwargs = {}
            elif p.kind is p.KEYWORD_ONLY:
                if p.name in init:
                    keywords[p.name] = self._config[p.name]
                elif p.name in kwargs:
                    keywords[p.name] = kwargs.pop(p.name)
            elif p.name in init:
                positional.append(self._config[p.name])
            elif args:
                positional.append(args.pop(0))
            elif p.name in kwargs:
                positional.append(kwargs.pop(p.name))
            elif p.default is not p.empty:
                positional.append(p.default)
            else:
                raise TypeError(f"{type(self).__name__} is missing the argument {p.name!r}.")
        if args or kwargs:
            raise TypeError(f"{type(self).__name__} received unexpected arguments "
                            f"{args or ''}{kwargs or ''}.")
        return fn(*positional, **keywords)

    return call


def _symbolic(cls, sig: inspect.Signature, init: tuple, args: tuple, kwargs: dict,
              resolve: dict):
    """Instantiates the op's class with its config arguments and calls it on the others."""
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}: {e}") from None
    config, call_args, call_kwargs = {}, [], {}
    for p in sig.parameters.values():
        given = p.name in bound.arguments
        value = bound.arguments.get(p.name, p.default)
        if p.name in init:
            if value is None and p.name in resolve:
                value = resolve[p.name]()
            if p.name == "dtype" and value is not None:
                value = dtypes.standardize(value)
            if given or value is not p.empty:
                config[p.name] = value
        elif p.kind is p.VAR_POSITIONAL:
            call_args.extend(value if given else ())
        elif p.kind is p.VAR_KEYWORD:
            call_kwargs.update(value if given else {})
        elif p.kind is p.KEYWORD_ONLY:
            if given:
                call_kwargs[p.name] = value
        elif value is not p.empty:
            call_args.append(value)
    return cls(**config)(*call_args, **call_kwargs)
