"""``EarlyStopping`` (``keras.callbacks.EarlyStopping``) and the monitoring logic it
shares with ``ReduceLROnPlateau``."""

from __future__ import annotations

import operator
import warnings

from lamina.callbacks.callback import Callback
from lamina.utils.progbar import print_msg

# Whether larger is better, by metric name, for Keras's built-in metrics. Keras
# reads this from a ``_direction`` attribute of the model's metrics; this table
# answers for metrics that do not carry one.
_MAXIMIZED = frozenset({
    "accuracy", "acc", "auc", "binary_accuracy", "binary_io_u", "categorical_accuracy",
    "concordance_correlation", "cosine_similarity", "f1_score", "fbeta_score", "mean_io_u",
    "one_hot_io_u", "one_hot_mean_io_u", "io_u", "pearson_correlation", "precision",
    "r2_score", "recall", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
})
_MINIMIZED = frozenset({
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "categorical_hinge", "hinge", "squared_hinge", "kl_divergence", "logcosh", "poisson",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "root_mean_squared_error",
    "mae", "mape", "mse", "msle", "rmse",
})


def _model_metrics(model) -> list:
    """The model's metric objects, with containers (``.metrics`` lists) opened up."""
    try:
        found = list(getattr(model, "metrics", None) or [])
    except Exception:  # a model not compiled yet may fail to list its metrics
        return []
    out, seen = [], set()
    while found:
        m = found.pop(0)
        if id(m) in seen:
            continue
        seen.add(id(m))
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)) and m is not model:
            found.extend(inner)
        out.append(m)
    return out


class MonitorCallback(Callback):
    """Base of callbacks that watch one logged quantity for improvement.

    Args:
        monitor: the name of the logged quantity, e.g. ``"val_loss"``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (decided from the name: losses
            are minimized, other metrics per their kind). Unknown modes warn and
            fall back to ``"auto"``.
        baseline: the starting best value (None: the first value seen).
        min_delta: the least change that counts as an improvement (its sign is ignored).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline=None,
                 min_delta: float = 0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = operator.lt
            for m in _model_metrics(self._model):
                direction = getattr(m, "_direction", None)
                if getattr(m, "name", None) == name and direction in ("up", "down"):
                    self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None:
                if name in _MAXIMIZED:
                    self.monitor_op = operator.gt
                elif name in _MINIMIZED:
                    self.monitor_op = operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but it "
                    "cannot tell automatically whether that metric should be maximized or "
                    "minimized. Pass `mode='max'` to keep the highest value, or `mode='min'` "
                    "to keep the lowest.")
        if self.monitor_op is operator.lt:
            # Improving means dropping below the reference by more than min_delta.
            self.min_delta *= -1

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


class EarlyStopping(MonitorCallback):
    """Stops training when a monitored quantity has stopped improving.

    Args:
        monitor: the logged quantity to watch (default ``"val_loss"``).
        min_delta: the least change that counts as an improvement.
        patience: the number of epochs without improvement after which
            training stops.
        verbose: 1 prints a message when training is stopped (and when the best
            weights are restored); 0 is silent.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (decided from the monitored name).
        baseline: a value the quantity must improve on; while it has not, the
            patience count keeps running even if the quantity improves.
        restore_best_weights: whether the model gets the weights of the best
            epoch back when training ends (whether stopped early or not). The
            weights are captured at the end of an epoch; if no epoch improved
            on the first one watched, that first epoch's weights are restored.
        start_from_epoch: the number of epochs to wait before watching begins.

    Attributes:
        stopped_epoch: the (0-based) epoch at which training was stopped, 0 if not.
        best: the best value seen; ``best_epoch``: the epoch it was seen at.
        wait: epochs since the last improvement.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline=None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # The first epoch watched is the fallback if nothing ever improves.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only an improvement past the baseline resets the patience count.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg("Restoring model weights from the end of the best epoch: "
                          f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict | None):
        """The monitored value in ``logs``, or None (with a warning) when it is missing."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}",
                          stacklevel=2)
        return value
