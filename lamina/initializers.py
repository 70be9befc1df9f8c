"""Weight initializers, as ``keras.initializers``.

An initializer is called as ``initializer(shape, dtype=None)`` and returns a NumPy
array of that shape and dtype (``floatx()`` when ``dtype`` is None). Random
initializers draw on the HOST from ``lamina.random.numpy_rng``: creating weights
never compiles or runs anything on the device.

Seeding follows Keras 3: an initializer seeded with an int, or left unseeded,
gives the same values on every call (an unseeded one picks its seed from the
global seed stream when it is constructed, so ``set_random_seed`` makes it
reproducible); one seeded with a ``SeedGenerator`` gives new values each call.
Configs are the ones Keras 3 writes, so they move between lamina and Keras.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina import random as _random
from lamina.saving import serialization as _ser


def _np_dtype(dtype) -> np.dtype:
    # jnp.dtype knows bfloat16 (via ml_dtypes); np.dtype alone does not.
    return jnp.dtype(dtypes.standardize(dtype))


def _float_dtype(dtype, who: str) -> np.dtype:
    dt = _np_dtype(dtype)
    if not jnp.issubdtype(dt, jnp.floating):
        raise ValueError(f"{who} draws random floats: expected a float dtype, received "
                         f"dtype={dt.name}.")
    return dt


def _shape(shape) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in shape)
    except TypeError as e:
        raise TypeError(f"Initializer shape must be a tuple of ints, received {shape!r}.") from e


class Initializer:
    """Base class of all initializers.

    Subclasses implement ``__call__(shape, dtype=None)`` returning an array of that
    shape and dtype, and ``get_config()`` when they take arguments.
    """

    _keras_module = "keras.initializers"

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __call__(shape, dtype=None).")

    def get_config(self) -> dict:
        """The constructor arguments of this initializer, as a JSON-able dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        """Creates an initializer from the output of :meth:`get_config`."""
        return cls(**config)

    def clone(self) -> Initializer:
        """A new initializer with the same config."""
        return self.__class__.from_config(self.get_config())


# -- constant initializers ----------------------------------------------------

class Zeros(Initializer):
    """Fills the tensor with 0."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.zeros(_shape(shape), dtype=_np_dtype(dtype))


class Ones(Initializer):
    """Fills the tensor with 1."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.ones(_shape(shape), dtype=_np_dtype(dtype))


class Constant(Initializer):
    """Fills the tensor with ``value`` (a scalar, or an array broadcastable to the shape).

    Args:
        value: the fill value.
    """

    def __init__(self, value: Any = 0.0):
        self.value = value

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = _shape(shape)
        value = np.asarray(self.value)
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
            raise ValueError(f"Constant initializer: expected a numeric value, received "
                             f"{self.value!r}.")
        try:
            out = np.broadcast_to(value, shape)
        except ValueError as e:
            raise ValueError(f"Constant initializer: a value of shape {value.shape} cannot "
                             f"fill a tensor of shape {shape}.") from e
        return np.array(out, dtype=_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"value": self.value}

    @classmethod
    def from_config(cls, config: dict) -> Constant:
        config = dict(config)
        if isinstance(config.get("value"), dict):
            # An array value is saved as a serialized NumPy array.
            config["value"] = _ser.deserialize_keras_object(config["value"])
        return cls(**config)


class Identity(Initializer):
    """The identity matrix (scaled by ``gain``) for 2D shapes; non-square gives ones on the diagonal.

    Args:
        gain: multiplicative factor applied to the identity matrix.
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity initializer only initializes 2D matrices, received "
                             f"shape={shape} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        # Keras 3.15 writes an empty config for Identity (gain is not saved); matching it
        # keeps configs interchangeable.
        return {}


# -- random initializers ------------------------------------------------------

def _validate_seed(seed):
    if seed is None or isinstance(seed, _random.SeedGenerator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    raise ValueError("`seed` must be an int, None or a SeedGenerator, received "
                     f"seed={seed!r}.")


class RandomInitializer(Initializer):
    """Base of the initializers that draw random values.

    Args:
        seed: an int (same values on every call), None (a seed drawn from the global
            seed stream at construction; same values on every call) or a
            ``SeedGenerator`` (new values on every call).
    """

    def __init__(self, seed: int | _random.SeedGenerator | None = None):
        self.seed = _validate_seed(seed)
        if isinstance(self.seed, _random.SeedGenerator):
            base = self.seed.seed
            self._base_seed = base if base is not None else self._draw_seed()
            self._calls = 0
        elif self.seed is None:
            self._base_seed = self._draw_seed()
        else:
            self._base_seed = self.seed

    @staticmethod
    def _draw_seed() -> int:
        return int(_random.numpy_rng().integers(0, 2**31 - 1))

    def _rng(self) -> np.random.Generator:
        if isinstance(self.seed, _random.SeedGenerator):
            # A generator-seeded initializer advances on every call, as in Keras.
            self._calls += 1
            return np.random.default_rng([self._base_seed, self._calls])
        return np.random.default_rng(self._base_seed)

    def get_config(self) -> dict:
        seed = self.seed
        if isinstance(seed, _random.SeedGenerator):
            seed = _ser.serialize_keras_object(seed)
        return {"seed": seed}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        config = dict(config)
        if isinstance(config.get("seed"), dict):
            config["seed"] = _random.SeedGenerator(**config["seed"].get("config", {}))
        return cls(**config)


def _truncated_normal(rng: np.random.Generator, shape, mean, stddev) -> np.ndarray:
    """Normal draws restricted to two standard deviations of the mean (by redrawing)."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return mean + stddev * z


class RandomNormal(RandomInitializer):
    """Draws from a normal distribution.

    Args:
        mean: mean of the distribution.
        stddev: standard deviation of the distribution.
        seed: see :class:`RandomInitializer`.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dt = _float_dtype(dtype, type(self).__name__)
        return self._rng().normal(self.mean, self.stddev, _shape(shape)).astype(dt)

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Draws from a normal distribution, redrawing values more than 2 stddevs from the mean.

    Args:
        mean: mean of the (untruncated) distribution.
        stddev: standard deviation of the (untruncated) distribution.
        seed: see :class:`RandomInitializer`.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dt = _float_dtype(dtype, type(self).__name__)
        return _truncated_normal(self._rng(), _shape(shape), self.mean, self.stddev).astype(dt)

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Draws from a uniform distribution on ``[minval, maxval)``.

    Args:
        minval: lower bound of the range.
        maxval: upper bound of the range.
        seed: see :class:`RandomInitializer`.
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dt = _float_dtype(dtype, type(self).__name__)
        return self._rng().uniform(self.minval, self.maxval, _shape(shape)).astype(dt)

    def get_config(self) -> dict:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """The (fan_in, fan_out) of a weight of ``shape``, as Keras computes them.

    Scalars count as (1, 1), vectors as (n, n), matrices as (rows, cols). For
    higher ranks (convolution kernels ``(*spatial, in, out)``) both fans are
    multiplied by the receptive field size (the product of the leading dims).
    When both ``input_axes`` and ``output_axes`` are given, the fans are instead
    the products of the sizes along those axes.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(shape[a] for a in input_axes)
        fan_out = math.prod(shape[a] for a in output_axes)
        return int(fan_in), int(fan_out)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


# sqrt(scale / n) is the std of the untruncated normal; the truncated draw has a smaller
# std, so the scale is divided by the std of a unit normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")


def _axes(value, name):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be a tuple or list of ints, received {value!r}.")
    return value


class VarianceScaling(RandomInitializer):
    """Draws with a variance scaled to the weight's fans: ``scale / n``.

    ``n`` is fan_in, fan_out or their average (``mode``). With ``"uniform"`` values
    lie in ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``; with
    ``"truncated_normal"`` (or ``"normal"``) the std after truncation at 2 stddevs
    is ``sqrt(scale / n)``; with ``"untruncated_normal"`` the std is ``sqrt(scale / n)``.

    Args:
        scale: positive scaling factor.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``.
        seed: see :class:`RandomInitializer`.
        input_axes, output_axes: optional axes whose sizes define the fans
            (both must be given to take effect).
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if not isinstance(scale, (int, float, np.number)) or isinstance(scale, bool):
            raise TypeError(f"`scale` must be a positive float, received scale={scale!r}.")
        if scale <= 0.0:
            raise ValueError(f"`scale` must be a positive float, received scale={scale!r}.")
        if mode not in _MODES:
            raise ValueError(f"Invalid `mode` {mode!r}: expected one of {list(_MODES)}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` {distribution!r}: expected one of "
                             f"{list(_DISTRIBUTIONS)}.")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = _axes(input_axes, "input_axes")
        self.output_axes = _axes(output_axes, "output_axes")
        super().__init__(seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dt = _float_dtype(dtype, type(self).__name__)
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            out = _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / _TRUNCATED_STD)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            out = rng.uniform(-limit, limit, shape)
        return out.astype(dt)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution; its config holds only the seed and axes."""

    _scale = 1.0
    _mode = "fan_in"
    _distribution = "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution,
                         seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict:
        return {"seed": RandomInitializer.get_config(self)["seed"],
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``."""

    _mode, _distribution = "fan_avg", "uniform"


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with std ``sqrt(2 / (fan_in + fan_out))``."""

    _mode = "fan_avg"


class HeUniform(_FixedVarianceScaling):
    """He uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / fan_in)``."""

    _scale, _distribution = 2.0, "uniform"


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with std ``sqrt(2 / fan_in)``."""

    _scale = 2.0


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: ``U(-limit, limit)``, ``limit = sqrt(3 / fan_in)``."""

    _distribution = "uniform"


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with std ``sqrt(1 / fan_in)``."""


class Orthogonal(RandomInitializer):
    """A random orthogonal matrix (scaled by ``gain``).

    Shapes of rank > 2 are treated as a matrix ``(prod(shape[:-1]), shape[-1])``;
    its rows (or columns, whichever are fewer) are orthonormal.

    Args:
        gain: multiplicative factor applied to the orthogonal matrix.
        seed: see :class:`RandomInitializer`.
    """

    def __init__(self, gain: float = 1.0, seed=None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dt = _float_dtype(dtype, type(self).__name__)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError("Orthogonal initializer needs a shape of rank >= 2, received "
                             f"shape={shape} of rank {len(shape)}.")
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        # Fixing the signs by R's diagonal makes Q uniformly distributed (Haar measure).
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dt)

    def get_config(self) -> dict:
        return {**super().get_config(), "gain": self.gain}


# -- STFT kernels -----------------------------------------------------------------

def _window_values(window, length: int, periodic: bool) -> np.ndarray:
    """A window of ``length`` samples: ``"hann"``/``"hamming"`` computed here, any
    other name from ``scipy.signal.get_window`` (an optional dependency), or the
    given values."""
    if not isinstance(window, str):
        return np.asarray(window, dtype="float64")
    if window in ("hann", "hamming"):
        denominator = length if periodic else max(length - 1, 1)
        a = 0.5 if window == "hann" else 0.54
        return a - (1 - a) * np.cos(2 * np.pi * np.arange(length) / denominator)
    try:
        from scipy import signal  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise ImportError(f"The window {window!r} needs SciPy (pip install scipy); 'hann' "
                          "and 'hamming' do not.") from e
    return signal.get_window(window, length, fftbins=periodic)


class STFT(Initializer):
    """Convolution kernels computing one side of a short-time Fourier transform.

    For a kernel shape ``(frame_length, 1, fft_length // 2 + 1)`` the value at
    ``(t, 0, f)`` is ``cos`` (``side="real"``) or ``sin`` (``side="imag"``) of
    ``-2 pi t f / fft_length``, times the window and divided by its scaling.

    Args:
        side: ``"real"`` or ``"imag"``.
        window: a window name (``"hann"``, ``"hamming"``; others need SciPy),
            an array of ``frame_length`` values, or None.
        scaling: ``"density"`` (divide by the window's L2 norm), ``"spectrum"``
            (by its L1 norm) or None.
        periodic: use the periodic (DFT-even) form of a named window.
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            _window_values(window, 1, periodic)
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dt = _float_dtype(dtype, "STFT")
        frame_length, _, bins = _shape(shape)
        # Computed in the target dtype in Keras's order, so rounding matches.
        freq = np.arange(bins, dtype=dt).reshape(1, 1, bins) / dt.type((bins - 1) * 2)
        time = np.arange(frame_length, dtype=dt).reshape(frame_length, 1, 1)
        args = (dt.type(-2) * time) * freq * np.arccos(dt.type(-1))
        kernel = (np.cos(args) if self.side == "real" else np.sin(args)).astype(dt)
        if self.window is None:
            return kernel
        win = _window_values(self.window, frame_length, self.periodic).astype(dt)
        if win.shape != (frame_length,):
            raise ValueError("The shape of `window` must be equal to [frame_length]. "
                             f"Received: window shape={win.shape}")
        win = win.reshape(frame_length, 1, 1)
        scale = dt.type(1)
        if self.scaling == "density":
            scale = np.sqrt(np.sum(np.square(win)))
        elif self.scaling == "spectrum":
            scale = np.sum(np.abs(win))
        return (kernel * win / scale).astype(dt)

    def get_config(self) -> dict:
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}


# Keras's snake_case and long-form aliases name the same classes.
zeros = Zeros
ones = Ones
constant = Constant
identity = Identity
IdentityInitializer = Identity
random_normal = RandomNormal
truncated_normal = TruncatedNormal
random_uniform = RandomUniform
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
orthogonal = Orthogonal
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT
stft = STFT

_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, TruncatedNormal, RandomUniform,
            VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
            LecunNormal, Orthogonal, STFT)

# Name -> class for every name a config or a string identifier may use.
ALL_OBJECTS_DICT: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({
    "zeros": Zeros, "ones": Ones, "constant": Constant, "identity": Identity,
    "IdentityInitializer": Identity, "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "random_uniform": RandomUniform,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
    "OrthogonalInitializer": Orthogonal, "uniform": RandomUniform, "normal": RandomNormal,
    "STFTInitializer": STFT, "stft": STFT,
})


serialize, deserialize, get = _ser.object_accessors("initializer", ALL_OBJECTS_DICT)


__all__ = ["Initializer", "RandomInitializer", "compute_fans", *ALL_OBJECTS_DICT, "serialize",
           "deserialize", "get"]
