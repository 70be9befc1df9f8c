"""Discretization: bucket continuous values by boundaries (given or adapted from quantiles)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode_categorical, sparse_output

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


# -- approximate quantiles ---------------------------------------------------------
# A summary is a float32 array (2, k): sorted sample values and the number of
# original values each one stands for. Summaries of batches are merged and then
# compressed to about 1/epsilon points by interpolating the cumulative weights,
# which is the scheme Keras uses, so adapted boundaries are the same numbers.

def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Every ``step``-th sorted value (``step ~ size * epsilon``), each weighing ``step``."""
    ordered = np.sort(values.reshape(-1))
    step = max(ordered.size * epsilon, 1)
    picked = ordered[int(step - 1)::int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Resamples a summary at cumulative-weight fractions epsilon, 2*epsilon, ..., 1."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    position = cumulative / cumulative[-1]
    values = np.interp(fractions, position, summary[0])
    new_cumulative = np.interp(fractions, position, cumulative)
    weights = np.diff(new_cumulative, prepend=0.0)
    return np.stack((values, weights)).astype("float32")


def _merge(new: np.ndarray, old: np.ndarray, epsilon: float) -> np.ndarray:
    both = np.concatenate((new, old), axis=1)
    both = both[:, np.argsort(both[0])]
    return _compress(both, epsilon)


class Discretization(Layer):
    """Maps continuous values to the index of the bin they fall in.

    Bin ``i`` holds ``bin_boundaries[i-1] <= x < bin_boundaries[i]``; values below
    the first boundary go to bin 0 and values at or above the last one to bin
    ``len(bin_boundaries)``.

    Args:
        bin_boundaries: sorted list of boundaries; if None, call :meth:`adapt`.
        num_bins: the number of bins :meth:`adapt` computes (quantiles).
        epsilon: error tolerance of the approximate quantiles (default 0.01).
        output_mode: ``"int"`` (bin indices, int32), ``"one_hot"``, ``"multi_hot"``
            or ``"count"``.
        sparse: if True (not with ``"int"``), eager calls outside a model return a
            ``jax.experimental.sparse.BCOO``; inside a model the output is dense.
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        if sparse and output_mode == "int":
            raise ValueError("`sparse=True` may only be used if `output_mode` is `'one_hot'`, "
                             f"`'multi_hot'`, or `'count'`. Received: sparse={sparse} and "
                             f"output_mode={output_mode}")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"The `output_mode` argument value of Discretization should be one "
                             f"of {', '.join(_OUTPUT_MODES)}. Received: {output_mode}")
        if num_bins is not None and num_bins < 0:
            raise ValueError("`num_bins` must be greater than or equal to 0. Received: "
                             f"`num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self.summary = None if bin_boundaries else np.zeros((2, 0), "float32")

    @property
    def output_dtype(self) -> str:
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def adapt(self, data, steps=None) -> None:
        """Computes ``num_bins`` quantile boundaries of ``data``.

        Args:
            data: an array, or an iterable of batches (arrays).
            steps: with an iterable, the number of batches to use (default all).
        """
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.reset_state()
        if hasattr(data, "__iter__") and not isinstance(data, (np.ndarray, jax.Array)):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            self.update_state(data)
        self.finalize_state()

    def update_state(self, data) -> None:
        """Adds a batch of values to the quantile summary."""
        values = np.array(data).astype("float32")
        self.summary = _merge(_summarize(values, self.epsilon), self.summary, self.epsilon)

    def finalize_state(self) -> None:
        """Sets ``bin_boundaries`` from the summary."""
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is None:
            return
        self.summary = np.zeros((2, 0), "float32")

    def __call__(self, *args, **kwargs):
        return sparse_output(self, args, super().__call__(*args, **kwargs))

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can start "
                             "using the `Discretization` layer.")
        boundaries = jnp.asarray(self.bin_boundaries, self.compute_dtype)
        indices = jnp.digitize(inputs, boundaries).astype("int32")
        return encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1,
                                  self.output_dtype)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            # An adapted layer: both are saved, but the constructor accepts only one.
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)
