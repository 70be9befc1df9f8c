"""The built-in Loss classes (``keras.losses.MeanSquaredError`` and friends).

Each wraps one loss function with fixed keyword arguments. ``get_config``
returns exactly the keys Keras 3 writes for the class, so configs move between
lamina and Keras unchanged (Keras omits ``delta`` for Huber and ``axis`` for
CosineSimilarity and SparseCategoricalCrossentropy; so do we).
"""

from __future__ import annotations

from typing import Any

from lamina.losses import functions as F
from lamina.losses.loss import Loss, LossFunctionWrapper

_RED = "sum_over_batch_size"


class _BuiltinLoss(LossFunctionWrapper):
    # A built-in wrapper whose config is just name and reduction (plus what subclasses add).
    _keras_module = "keras.losses"

    def get_config(self) -> dict:
        return Loss.get_config(self)


class MeanSquaredError(_BuiltinLoss):
    """Mean of squares of errors between labels and predictions (see ``mean_squared_error``)."""

    def __init__(self, reduction=_RED, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(F.mean_squared_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """Mean of absolute errors between labels and predictions (see ``mean_absolute_error``)."""

    def __init__(self, reduction=_RED, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(F.mean_absolute_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """Mean absolute percentage error (see ``mean_absolute_percentage_error``)."""

    def __init__(self, reduction=_RED, name: str = "mean_absolute_percentage_error",
                 dtype: Any = None):
        super().__init__(F.mean_absolute_percentage_error, name=name, reduction=reduction,
                         dtype=dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """Mean squared logarithmic error (see ``mean_squared_logarithmic_error``)."""

    def __init__(self, reduction=_RED, name: str = "mean_squared_logarithmic_error",
                 dtype: Any = None):
        super().__init__(F.mean_squared_logarithmic_error, name=name, reduction=reduction,
                         dtype=dtype)


class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity along ``axis`` (see ``cosine_similarity``)."""

    def __init__(self, axis: int = -1, reduction=_RED, name: str = "cosine_similarity",
                 dtype: Any = None):
        super().__init__(F.cosine_similarity, name=name, reduction=reduction, dtype=dtype,
                         axis=axis)


class Huber(_BuiltinLoss):
    """Huber loss with threshold ``delta`` (see ``huber``)."""

    def __init__(self, delta: float = 1.0, reduction=_RED, name: str = "huber_loss",
                 dtype: Any = None):
        super().__init__(F.huber, name=name, reduction=reduction, dtype=dtype, delta=delta)


class LogCosh(_BuiltinLoss):
    """Logarithm of the hyperbolic cosine of the error (see ``log_cosh``)."""

    def __init__(self, reduction=_RED, name: str = "log_cosh", dtype: Any = None):
        super().__init__(F.log_cosh, name=name, reduction=reduction, dtype=dtype)


class Hinge(_BuiltinLoss):
    """Hinge loss for ``{-1, 1}`` (or ``{0, 1}``) labels (see ``hinge``)."""

    def __init__(self, reduction=_RED, name: str = "hinge", dtype: Any = None):
        super().__init__(F.hinge, name=name, reduction=reduction, dtype=dtype)


class SquaredHinge(_BuiltinLoss):
    """Squared hinge loss (see ``squared_hinge``)."""

    def __init__(self, reduction=_RED, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(F.squared_hinge, name=name, reduction=reduction, dtype=dtype)


class CategoricalHinge(_BuiltinLoss):
    """Categorical hinge loss for one-hot labels (see ``categorical_hinge``)."""

    def __init__(self, reduction=_RED, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(F.categorical_hinge, name=name, reduction=reduction, dtype=dtype)


class KLDivergence(_BuiltinLoss):
    """Kullback-Leibler divergence (see ``kl_divergence``)."""

    def __init__(self, reduction=_RED, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(F.kl_divergence, name=name, reduction=reduction, dtype=dtype)


class Poisson(_BuiltinLoss):
    """Poisson loss (see ``poisson``)."""

    def __init__(self, reduction=_RED, name: str = "poisson", dtype: Any = None):
        super().__init__(F.poisson, name=name, reduction=reduction, dtype=dtype)


class BinaryCrossentropy(_BuiltinLoss):
    """Binary cross-entropy (see ``binary_crossentropy`` for the arguments)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction=_RED, name: str = "binary_crossentropy", dtype: Any = None):
        super().__init__(F.binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"from_logits": self.from_logits,
                       "label_smoothing": self.label_smoothing, "axis": self.axis})
        return config


class BinaryFocalCrossentropy(_BuiltinLoss):
    """Binary focal cross-entropy (see ``binary_focal_crossentropy`` for the arguments)."""

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction=_RED, name: str = "binary_focal_crossentropy",
                 dtype: Any = None):
        super().__init__(F.binary_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"from_logits": self.from_logits,
                       "label_smoothing": self.label_smoothing, "axis": self.axis,
                       "apply_class_balancing": self.apply_class_balancing,
                       "alpha": self.alpha, "gamma": self.gamma})
        return config


class CategoricalCrossentropy(_BuiltinLoss):
    """Categorical cross-entropy for one-hot labels (see ``categorical_crossentropy``)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction=_RED, name: str = "categorical_crossentropy", dtype: Any = None):
        super().__init__(F.categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"from_logits": self.from_logits,
                       "label_smoothing": self.label_smoothing, "axis": self.axis})
        return config


class CategoricalFocalCrossentropy(_BuiltinLoss):
    """Categorical focal cross-entropy (see ``categorical_focal_crossentropy``)."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction=_RED,
                 name: str = "categorical_focal_crossentropy", dtype: Any = None):
        super().__init__(F.categorical_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"from_logits": self.from_logits,
                       "label_smoothing": self.label_smoothing, "axis": self.axis,
                       "alpha": self.alpha, "gamma": self.gamma})
        return config


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """Cross-entropy with integer labels (see ``sparse_categorical_crossentropy``).

    Positions whose label equals ``ignore_class`` are masked: they add nothing and,
    for the mean-like reductions, are left out of the count averaged over.
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction=_RED, axis: int = -1, name: str = "sparse_categorical_crossentropy",
                 dtype: Any = None):
        super().__init__(F.sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"from_logits": self.from_logits, "ignore_class": self.ignore_class})
        return config


class CategoricalGeneralizedCrossEntropy(_BuiltinLoss):
    """Generalized cross-entropy with integer labels (see ``categorical_generalized_cross_entropy``).

    Args:
        q: in ``(0, 1)``; the interpolation between cross-entropy (near 0) and
            mean absolute error (at 1).
    """

    def __init__(self, q: float = 0.5, reduction=_RED,
                 name: str = "categorical_generalized_cross_entropy", dtype: Any = None):
        if not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1), received q={q!r}")
        super().__init__(F.categorical_generalized_cross_entropy, name=name,
                         reduction=reduction, dtype=dtype, q=q)
        self.q = q

    def get_config(self) -> dict:
        config = super().get_config()
        config["q"] = self.q
        return config


class Dice(_BuiltinLoss):
    """Dice loss summed over ``axis`` (see ``dice``)."""

    def __init__(self, reduction=_RED, name: str = "dice", axis=None, dtype: Any = None):
        super().__init__(F.dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Tversky(_BuiltinLoss):
    """Tversky loss with false-negative weight ``alpha`` and false-positive weight ``beta``."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction=_RED,
                 name: str = "tversky", axis=None, dtype: Any = None):
        super().__init__(F.tversky, name=name, reduction=reduction, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"alpha": self.alpha, "beta": self.beta, "axis": self.axis})
        return config


class Circle(_BuiltinLoss):
    """Circle loss between integer labels and unit-norm embeddings (see ``circle``)."""

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction=_RED, name: str = "circle", dtype: Any = None):
        super().__init__(F.circle, name=name, reduction=reduction, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"gamma": self.gamma, "margin": self.margin,
                       "remove_diagonal": self.remove_diagonal})
        return config


class CTC(_BuiltinLoss):
    """CTC loss between padded integer labels and per-frame logits (see ``ctc``)."""

    def __init__(self, reduction=_RED, name: str = "ctc", dtype: Any = None):
        super().__init__(F.ctc, name=name, reduction=reduction, dtype=dtype)
