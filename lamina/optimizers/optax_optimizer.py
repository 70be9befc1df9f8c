"""Any optax ``GradientTransformation`` as a lamina optimizer.

``model.compile(optimizer=optax.adamw(1e-3))`` wraps the transformation in an
:class:`OptaxOptimizer`. The transformation sees the trainable variables as a
list of arrays in ``model.trainable_variables`` order (so ``optax.masked`` and
``optax.multi_transform`` masks are lists, or callables on that list).

The state is a plain dict, like every lamina optimizer's::

    {"iteration": int32 scalar,   # calls to apply so far
     "opt_state": [...]}          # the leaves of the optax state, flattened

Holding the optax state flattened keeps the Keras stateful API of the base
class (``variables``, ``set_weights``, ``stateless_apply``, wrapping in
``LossScaleOptimizer``) working unchanged; :attr:`OptaxOptimizer.opt_state`
gives the optax state itself.

The learning rate is readable and settable (by ``LearningRateScheduler``,
``ReduceLROnPlateau`` or ``optimizer.learning_rate = x``) when the
transformation was made with ``optax.inject_hyperparams`` and has a numeric
``learning_rate`` hyperparameter; otherwise optax keeps the rate inside a
closure and lamina cannot reach it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.tree_util import DictKey, GetAttrKey, SequenceKey

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.stateful import StateVariable
from lamina.state import Variable

__all__ = ["OptaxOptimizer", "is_optax_transformation"]

_INJECT_STATES = (optax.InjectStatefulHyperparamsState, optax.InjectHyperparamsState)
_LR_HELP = ("Create the transformation with `optax.inject_hyperparams`, e.g. "
            "`optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3)`, to make its learning "
            "rate readable and settable.")


def is_optax_transformation(obj) -> bool:
    """Whether ``obj`` is an optax ``GradientTransformation`` (or ``...ExtraArgs``) or an
    ``optax.MultiSteps``."""
    return isinstance(obj, (optax.GradientTransformation, optax.MultiSteps))


def _child(node, key):
    """The child of ``node`` at one key of a ``tree_flatten_with_path`` path (None if unknown)."""
    if isinstance(key, SequenceKey):
        return node[key.idx]
    if isinstance(key, GetAttrKey):
        return getattr(node, key.name)
    if isinstance(key, DictKey):
        return node[key.key]
    return None


def _key_name(key) -> str:
    for attr in ("idx", "name", "key"):
        if hasattr(key, attr):
            return str(getattr(key, attr))
    return str(key).strip("[]. ")


class OptaxOptimizer(Optimizer):
    """Wraps an optax ``GradientTransformation`` in lamina's (Keras's) optimizer API.

    Each step computes ``updates, opt_state = transformation.update(grads,
    opt_state, params)`` and ``optax.apply_updates(params, updates)``, then
    projects variables that have a ``constraint`` through it, as Keras does.
    Variables created with ``overwrite_with_gradient=True`` are hidden from the
    transformation (None in its trees) and take their gradient as new value.

    ``optimizers.get(transformation)`` (what ``compile`` calls) returns one.

    Args:
        transformation: an ``optax.GradientTransformation``,
            ``GradientTransformationExtraArgs`` or ``optax.MultiSteps``.
        name: the optimizer's name (default ``"optax_optimizer"``, made unique).
    """

    def __init__(self, transformation, name: str | None = None):
        if not is_optax_transformation(transformation):
            raise TypeError("OptaxOptimizer expects an optax GradientTransformation, received "
                            f"{type(transformation).__name__}: {transformation!r}.")
        super().__init__(learning_rate=0.0, name=name)
        self.transformation = transformation
        if isinstance(transformation, optax.MultiSteps):
            transformation = transformation.gradient_transformation()
        # Extra keyword arguments of `apply` reach transformations that take them.
        self._tx = optax.with_extra_args_support(transformation)
        self._state = {"iteration": self._state["iteration"]}
        self._leaf_names: list[str] = []
        self._treedefs: dict = {}
        self._built_treedef = None
        self._pending_lr = None

    # -- the transformation's view of the parameters -------------------------------
    def _hide_overwritten(self, values: list) -> list:
        """``values`` with the entries of gradient-overwritten variables replaced by None."""
        overwrite = self._mask(self._overwrite_mask, len(values), False)
        return [None if skip else v for v, skip in zip(values, overwrite)]

    def _treedef(self, tx_params: list):
        """The structure of the transformation's state for parameters like ``tx_params``."""
        key = tuple(None if p is None else (tuple(p.shape), str(p.dtype)) for p in tx_params)
        if key not in self._treedefs:
            self._treedefs[key] = jax.tree.structure(jax.eval_shape(self._tx.init, tx_params))
        return self._treedefs[key]

    def _unflatten_opt_state(self, leaves: list, tx_params: list):
        treedef = self._treedef(tx_params)
        if treedef.num_leaves != len(leaves):
            raise ValueError(
                f"Optimizer '{self.name}': the state holds {len(leaves)} optax leaves but the "
                f"transformation's state for these parameters has {treedef.num_leaves}; was "
                "the state made by `init` on other parameters?")
        return jax.tree.unflatten(treedef, leaves)

    @property
    def opt_state(self):
        """The held optax state (None before the optimizer is built)."""
        if not self.built:
            return None
        return jax.tree.unflatten(self._built_treedef, self._state["opt_state"])

    # -- pure API --------------------------------------------------------------------
    def update_rule(self) -> optax.GradientTransformationExtraArgs:
        """The wrapped transformation (accepting extra keyword arguments)."""
        return self._tx

    def init(self, params) -> dict:
        """A fresh state for ``params`` (a list of arrays) at iteration 0."""
        tx_params = self._hide_overwritten([jnp.asarray(p) for p in params])
        return {"iteration": jnp.zeros((), jnp.int32),
                "opt_state": jax.tree.leaves(self._tx.init(tx_params))}

    def _apply_pure(self, state: dict, grads, params, **extra_args) -> tuple[list, dict]:
        """One optax step; ``extra_args`` (e.g. ``value=loss``) go to ``update``."""
        grads, params = list(grads), list(params)
        if len(grads) != len(params):
            raise ValueError(f"Optimizer '{self.name}': received {len(grads)} gradients for "
                             f"{len(params)} parameters; they must match one to one.")
        overwrite = self._mask(self._overwrite_mask, len(params), False)
        missing = [i for i, g in enumerate(grads) if g is None and not overwrite[i]]
        if missing:
            names = [str(getattr(self._trainable_variables[i], "path", i))
                     if i < len(self._trainable_variables) else str(i) for i in missing]
            raise ValueError(
                f"Optimizer '{self.name}' wraps an optax transformation, which needs a gradient "
                f"for every variable it was built with; none was given for {names}. Freeze "
                "variables with `optax.masked`/`optax.set_to_zero` instead.")
        tx_params = self._hide_overwritten(params)
        tx_grads = self._hide_overwritten([None if g is None else jnp.asarray(g) for g in grads])
        opt_state = self._unflatten_opt_state(list(state["opt_state"]), tx_params)
        updates, opt_state = self._tx.update(tx_grads, opt_state, tx_params, **extra_args)
        stepped = optax.apply_updates(tx_params, updates)
        constraints = self._mask(self._constraints, len(params), None)
        new_params = []
        for i, (p, g, new) in enumerate(zip(params, grads, stepped)):
            if overwrite[i]:
                new_params.append(p if g is None else jnp.asarray(g, p.dtype))
                continue
            if constraints[i] is not None:
                new = constraints[i](new)
            new_params.append(new)
        new_state = {**state, "iteration": state["iteration"] + 1,
                     "opt_state": jax.tree.leaves(opt_state)}
        return new_params, new_state

    # -- Keras stateful API ----------------------------------------------------------
    def build(self, variables) -> None:
        """Initializes the transformation's state for ``variables`` (a list of Variables)."""
        if self.built:
            return
        values = self._track_variables(variables)
        tx_params = self._hide_overwritten(values)
        opt_state = self._tx.init(tx_params)
        self._leaf_names = self._name_leaves(opt_state, len(values))
        self._built_treedef = jax.tree.structure(opt_state)
        self._state = {"iteration": self._state["iteration"],
                       "opt_state": jax.tree.leaves(opt_state)}
        self._variable_views = None
        self.built = True
        if self._pending_lr is not None:
            pending, self._pending_lr = self._pending_lr, None
            self.learning_rate = pending

    def _name_leaves(self, opt_state, num_params: int) -> list[str]:
        """Names for the optax state's leaves, e.g. ``dense_kernel_0_mu`` or ``0_count``:
        a leaf in a list of one entry per parameter is named after that parameter."""
        names = []
        for path, _ in jax.tree_util.tree_flatten_with_path(opt_state)[0]:
            parent = opt_state
            for key in path[:-1]:
                parent = None if parent is None else _child(parent, key)
            parts = [_key_name(k) for k in path]
            last = path[-1] if path else None
            if (isinstance(last, SequenceKey) and isinstance(parent, list)
                    and len(parent) == num_params and num_params == len(self._slot_prefixes)):
                names.append("_".join([self._slot_prefixes[last.idx], *parts[:-1]]))
            else:
                names.append("_".join(parts) or "opt_state")
        return names

    def _keras_keys(self, state: dict | None = None) -> list[tuple[tuple, str, str]]:
        """``(key, name, path)`` of every state leaf: the iteration, then the optax leaves."""
        state = self._state if state is None else state
        out = [(("iteration",), "iteration", f"{self.name}/iteration")]
        leaves = state.get("opt_state", [])
        names = (self._leaf_names if len(self._leaf_names) == len(leaves)
                 else [f"opt_state_{i}" for i in range(len(leaves))])
        for i, name in enumerate(names):
            out.append((("opt_state", i), name, f"{self.name}/{name}"))
        return out

    # -- learning rate ---------------------------------------------------------------
    def _find_learning_rate(self, opt_state):
        """``(leaf index, scheduled)`` of the ``learning_rate`` hyperparameter of the
        ``inject_hyperparams`` state in ``opt_state``; None when there is none."""
        def is_inject(x):
            return isinstance(x, _INJECT_STATES)

        nodes = [(path, node) for path, node
                 in jax.tree_util.tree_flatten_with_path(opt_state, is_leaf=is_inject)[0]
                 if is_inject(node) and "learning_rate" in node.hyperparams]
        if not nodes:
            return None
        if len(nodes) > 1:
            raise ValueError(
                f"Optimizer '{self.name}': the optax transformation has {len(nodes)} "
                "`inject_hyperparams` states with a `learning_rate`, so which learning rate to "
                "read or set is ambiguous. Set the rates in `optimizer.opt_state` directly "
                "(`optimizer.state = ...`).")
        path, node = nodes[0]
        target = (*path, GetAttrKey("hyperparams"), DictKey("learning_rate"))
        paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(opt_state)[0]]
        scheduled = "learning_rate" in (getattr(node, "hyperparams_states", None) or {})
        return paths.index(target), scheduled

    def _probe_learning_rate(self):
        """Before build: the learning rate of a state made for no parameters."""
        try:
            opt_state = self._tx.init([])
        except Exception:  # a transformation that needs the real parameters
            return None, None
        found = self._find_learning_rate(opt_state)
        if found is None:
            return None, None
        index, scheduled = found
        return jax.tree.leaves(opt_state)[index], scheduled

    def _no_learning_rate(self, exc_type):
        return exc_type(
            f"Optimizer '{self.name}' wraps an optax transformation whose learning rate is not "
            f"reachable: it has no `learning_rate` hyperparameter. {_LR_HELP}")

    @property
    def learning_rate(self):
        """The ``learning_rate`` hyperparameter of an ``optax.inject_hyperparams`` state.

        A Variable view of the state's leaf (assigning it sets the rate), or with
        a scheduled rate its current value.

        Raises:
            AttributeError: the transformation has no injected learning rate.
        """
        if not self.built:
            if self._pending_lr is not None:
                return self._pending_lr
            value, _ = self._probe_learning_rate()
            if value is None:
                raise self._no_learning_rate(AttributeError)
            return value
        found = self._find_learning_rate(self.opt_state)
        if found is None:
            raise self._no_learning_rate(AttributeError)
        index, scheduled = found
        if scheduled:
            return self._state["opt_state"][index]
        return StateVariable(self, ("opt_state", index), "learning_rate",
                             f"{self.name}/learning_rate")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        value = value.value if isinstance(value, Variable) else value
        if callable(value):
            raise TypeError(
                f"Optimizer '{self.name}' wraps an optax transformation: its learning rate "
                "cannot be replaced by a schedule. Pass the schedule to the transformation "
                "instead, e.g. `optax.adamw(learning_rate=optax.cosine_decay_schedule(...))`.")
        if not self.built:
            current, scheduled = self._probe_learning_rate()
            if current is None:
                raise self._no_learning_rate(TypeError)
            if scheduled:
                raise self._scheduled_error()
            self._pending_lr = jnp.asarray(value, current.dtype).reshape(())
            return
        found = self._find_learning_rate(self.opt_state)
        if found is None:
            raise self._no_learning_rate(TypeError)
        index, scheduled = found
        if scheduled:
            raise self._scheduled_error()
        current = self._state["opt_state"][index]
        self._write_leaf(("opt_state", index), jnp.asarray(value, current.dtype).reshape(()))

    def _scheduled_error(self) -> TypeError:
        return TypeError(
            f"Optimizer '{self.name}' wraps an optax transformation whose `learning_rate` is a "
            "schedule, hence its learning rate is not settable. To set it, pass a float "
            "`learning_rate` to the transformation inside `optax.inject_hyperparams`.")

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        raise NotImplementedError(
            f"Optimizer '{self.name}' wraps an optax transformation: choose the decayed "
            "variables with the transformation's `mask` argument (e.g. "
            "`optax.adamw(1e-3, mask=...)`) instead of `exclude_from_weight_decay`.")

    # -- config -----------------------------------------------------------------------
    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Optimizer '{self.name}' wraps an optax transformation, which cannot be serialized to a Keras config. Use a Keras optimizer (e.g. "
            "`keras.optimizers.AdamW`) to save a model with its optimizer, or recreate the "
            "transformation in code.")

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Any:
        raise NotImplementedError("OptaxOptimizer cannot be created from a config: an optax "
                                  "transformation has no Keras config.")

    def __repr__(self):
        return f"<OptaxOptimizer name={self.name}, built={self.built}>"
