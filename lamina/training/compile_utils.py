"""What ``compile`` resolves: one loss, weight and metric list per model output.

A single loss on a multi-output model applies to every output (the seed's
headline example does this with ``loss_weights=[1., .2]``; Keras 3 raises there,
lamina follows the seed). Losses and metrics may also be lists (by position) or
dicts (by output name).
"""

from __future__ import annotations

import jax.numpy as jnp

from lamina import losses as losses_mod
from lamina import metrics as metrics_mod
from lamina.metrics.metric import Metric


def _per_output(value, names: list[str], what: str, allow_broadcast: bool):
    """Spreads a compile argument over outputs: a list aligned with ``names``."""
    n = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"`{what}` names output {unknown[0]!r}, but the model's outputs are "
                             f"{names}.")
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)) and not (allow_broadcast and what == "metrics"
                                                  and n == 1):
        if len(value) != n:
            raise ValueError(f"`{what}` is a list of {len(value)} entries but the model has {n} "
                             f"output(s) {names}: pass one entry per output or a dict keyed by "
                             "output name.")
        return list(value)
    if value is None:
        return [None] * n
    if not allow_broadcast and n > 1:
        raise ValueError(f"`{what}` must be a list or a dict for a model with {n} outputs, "
                         f"received {value!r}.")
    return [value] * n


def _loss_object(identifier):
    if identifier is None:
        return None
    obj = losses_mod.get(identifier)
    if obj is None:
        return None
    if isinstance(obj, losses_mod.Loss):
        return obj
    if not callable(obj):
        raise TypeError(f"Could not interpret loss {identifier!r}: expected a name, a Loss or a "
                        "callable (y_true, y_pred).")
    return losses_mod.LossFunctionWrapper(obj, name=getattr(obj, "__name__", "loss"))


def _loss_name(identifier, obj) -> str:
    fn = getattr(obj, "fn", None)
    return getattr(fn, "__name__", None) or getattr(obj, "name", "loss")


class CompiledLoss:
    """Per-output loss objects and weights; computes the total and per-output losses."""

    def __init__(self, loss, loss_weights, output_names: list[str]):
        self.output_names = output_names
        specs = _per_output(loss, output_names, "loss", allow_broadcast=True)
        self.losses = [_loss_object(s) for s in specs]
        if loss_weights is None:
            weights = [1.0] * len(output_names)
        elif isinstance(loss_weights, (int, float)):
            weights = [float(loss_weights)] * len(output_names)
        else:
            weights = [1.0 if w is None else float(w) for w in _per_output(
                loss_weights, output_names, "loss_weights", allow_broadcast=False)]
        self.weights = weights
        # Names of the per-output loss logs (multi-output models only), as Keras.
        self.log_names = [f"{name}_loss" for name, fn in zip(output_names, self.losses)
                          if fn is not None] if len(output_names) > 1 else []

    @property
    def empty(self) -> bool:
        return all(fn is None for fn in self.losses)

    def __call__(self, y_true: list, y_pred: list, sample_weight: list | None, masks: list):
        """Returns ``(total, [unweighted loss of each output that has a loss])``."""
        total = jnp.zeros((), "float32")
        per_output = []
        for i, fn in enumerate(self.losses):
            if fn is None:
                continue
            if y_true is None or y_true[i] is None:
                raise ValueError(f"No target data was given for output "
                                 f"'{self.output_names[i]}', which has a loss.")
            sw = None if sample_weight is None else sample_weight[i]
            value = fn(y_true[i], y_pred[i], sample_weight=sw, mask=masks[i])
            value = jnp.asarray(value, "float32")
            per_output.append(value)
            total = total + self.weights[i] * value
        return total, per_output


def _metric_specs(value, names: list[str], what: str) -> list[list]:
    """One list of metrics per output: a flat list applies to every output, a list of
    lists or a dict gives each output its own."""
    def as_list(v):
        return [] if v is None else list(v) if isinstance(v, (list, tuple)) else [v]

    if value is None:
        return [[] for _ in names]
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"`{what}` names output {unknown[0]!r}, but the model's outputs "
                             f"are {names}.")
        return [as_list(value.get(k)) for k in names]
    if isinstance(value, (list, tuple)) and value and all(
            v is None or isinstance(v, (list, tuple, dict)) for v in value):
        if len(value) != len(names):
            raise ValueError(f"`{what}` is a list of {len(value)} lists but the model has "
                             f"{len(names)} output(s) {names}.")
        return [as_list(v) for v in value]
    return [as_list(value) for _ in names]


def _resolve_metric(identifier, y_true_shape, y_pred_shape):
    """A metric object. 'accuracy'/'acc' and 'crossentropy'/'ce' pick the binary, sparse
    or categorical variant from the target and prediction shapes, as Keras 3 does."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc",
                                                              "crossentropy", "ce"):
        is_binary = y_pred_shape[-1] == 1
        is_sparse = y_true_shape is not None and (
            len(y_true_shape) < len(y_pred_shape) or (
                y_true_shape[-1] == 1 and y_pred_shape[-1] > 1))
        if identifier.lower() in ("accuracy", "acc"):
            cls = (metrics_mod.BinaryAccuracy if is_binary else
                   metrics_mod.SparseCategoricalAccuracy if is_sparse else
                   metrics_mod.CategoricalAccuracy)
        else:
            cls = (metrics_mod.BinaryCrossentropy if is_binary else
                   metrics_mod.SparseCategoricalCrossentropy if is_sparse else
                   metrics_mod.CategoricalCrossentropy)
        return cls(name=identifier)
    metric = metrics_mod.get(identifier)
    if metric is None:
        raise ValueError(f"Could not interpret metric {identifier!r}.")
    if isinstance(identifier, str):
        # A metric named by a string ("mae", "AUC") logs under that string, as Keras.
        metric.name = identifier
    return metric


def flat_by_output(value, names: list[str]):
    """A per-output structure (one array, a list, or a dict by output name) as a list
    aligned with ``names``; None stays None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)) and (len(names) > 1 or len(value) == 1):
        return list(value)
    return [value]


class CompiledMetrics(Metric):
    """The metrics given to ``compile``, as one metric named ``"compile_metrics"``.

    Its variables are those of every per-output metric (unweighted and weighted), so
    the step state holds them as one slice; ``result()`` is a dict by log name. The
    metrics are created on the first batch, when target and output shapes are known.
    """

    def __init__(self, metrics, weighted_metrics, output_names: list[str]):
        super().__init__(name="compile_metrics")
        self.output_names = output_names
        self._specs = _metric_specs(metrics, output_names, "metrics")
        self._weighted_specs = _metric_specs(weighted_metrics, output_names, "weighted_metrics")
        self.entries: list = []  # (output index, metric, weighted, log name)
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    @property
    def empty(self) -> bool:
        return not any(self._specs) and not any(self._weighted_specs)

    def build(self, y_true: list | None, y_pred: list) -> None:
        multi = len(self.output_names) > 1
        names, unweighted = set(), set()
        for weighted, specs in ((False, self._specs), (True, self._weighted_specs)):
            for i, spec in enumerate(specs):
                for ident in spec or []:
                    yt = None if y_true is None or y_true[i] is None else tuple(y_true[i].shape)
                    metric = _resolve_metric(ident, yt, tuple(y_pred[i].shape))
                    if y_true is not None and y_true[i] is not None:
                        metric.ensure_built(y_true[i], y_pred[i])
                    name = metric.name
                    if weighted and (i, name) in unweighted:
                        name = f"weighted_{name}"
                    elif not weighted:
                        unweighted.add((i, name))
                    log = f"{self.output_names[i]}_{name}" if multi else name
                    if log in names:
                        raise ValueError(f"Two metrics are logged under the same name {log!r}.")
                    names.add(log)
                    self.entries.append((i, metric, weighted, log))
                    self._tracked_metrics.append(metric)
        self._built = True

    @property
    def log_names(self) -> list[str]:
        return [e[3] for e in self.entries]

    @property
    def metrics(self) -> list:
        """The per-output metric objects, in log order."""
        return [e[1] for e in self.entries]

    def update_state(self, y_true, y_pred, sample_weight=None, masks=None) -> None:
        """Updates every metric with its output's targets, predictions and weights.

        ``y_true``, ``y_pred`` and ``sample_weight`` are per-output structures (one
        array, a list, or a dict by output name); ``masks`` a list of output masks.
        """
        names = self.output_names
        y_true, y_pred = flat_by_output(y_true, names), flat_by_output(y_pred, names)
        sample_weight = flat_by_output(sample_weight, names)
        for i, metric, weighted, _ in self.entries:
            sw = sample_weight[i] if (weighted and sample_weight is not None) else None
            if masks is not None and masks[i] is not None:
                m = masks[i].astype("float32")
                sw = m if sw is None else sw * m
            metric.update_state(y_true[i], y_pred[i], sample_weight=sw)

    def result(self) -> dict:
        return {log: metric.result() for _, metric, _, log in self.entries}
