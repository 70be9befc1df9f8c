"""Math ops (``keras.ops`` math): segment reductions, top-k, log-sum-exp, special
functions, FFTs and short-time Fourier transforms, framing and pairwise distances.

FFT ops take and return complex tensors as ``(real, imag)`` pairs, as in Keras."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from lamina.ops.op_utils import MATH, axis_arg, tensor, to_float
from lamina.ops.operation import keras_op


# -- segments ---------------------------------------------------------------------------
def _segments_known(data, segment_ids, num_segments=None, sorted=False) -> bool:  # noqa: A002
    """Whether a segment op has a static output size (else it runs uncompiled)."""
    return num_segments is not None


def _segment(reducer, data, segment_ids, num_segments, sorted):  # noqa: A002
    data, segment_ids = tensor(data), tensor(segment_ids)
    return reducer(data, segment_ids.astype("int32"), num_segments=num_segments,
                   indices_are_sorted=sorted)


@keras_op(MATH, init=("num_segments", "sorted"), jit=_segments_known)
def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums of the rows of ``data`` that share a segment id."""
    return _segment(jax.ops.segment_sum, data, segment_ids, num_segments, sorted)


@keras_op(MATH, init=("num_segments", "sorted"), jit=_segments_known)
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Maxima of the rows of ``data`` that share a segment id."""
    return _segment(jax.ops.segment_max, data, segment_ids, num_segments, sorted)


@keras_op(MATH, init=("num_segments", "sorted"), jit=_segments_known)
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Minima of the rows of ``data`` that share a segment id."""
    return _segment(jax.ops.segment_min, data, segment_ids, num_segments, sorted)


@keras_op(MATH, init=("num_segments", "sorted"), jit=_segments_known)
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Products of the rows of ``data`` that share a segment id."""
    return _segment(jax.ops.segment_prod, data, segment_ids, num_segments, sorted)


# -- ranking ----------------------------------------------------------------------------
@keras_op(MATH, class_name="TopK", init=("k", "sorted"))
def top_k(x, k, sorted=True):  # noqa: A002
    """The ``k`` largest values along the last axis and their indices (int32)."""
    values, indices = jax.lax.top_k(tensor(x), k)
    return values, indices.astype("int32")


@keras_op(MATH, class_name="InTopK", init=("k",))
def in_top_k(targets, predictions, k):
    """Whether each target class is among the ``k`` highest predictions of its row."""
    predictions = tensor(predictions)
    targets = tensor(targets).astype("int32")
    kth = jax.lax.top_k(predictions, k)[0][..., -1:]
    target_values = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    return target_values[..., 0] >= kth[..., 0]


@keras_op(MATH, init=("axis", "keepdims"))
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    return jax.nn.logsumexp(to_float(x), axis=axis_arg(axis), keepdims=keepdims)


# -- special functions ------------------------------------------------------------------
@keras_op(MATH)
def erf(x):
    """The error function."""
    return jsp.erf(to_float(x))


@keras_op(MATH)
def erfc(x):
    """The complementary error function ``1 - erf(x)``."""
    return jsp.erfc(to_float(x))


@keras_op(MATH)
def erfinv(x):
    """The inverse error function."""
    return jsp.erfinv(to_float(x))


@keras_op(MATH)
def rsqrt(x):
    """Element-wise ``1 / sqrt(x)``."""
    return jax.lax.rsqrt(to_float(x))


@keras_op(MATH)
def logdet(x):
    """``log(det(x))`` of Hermitian positive-definite matrices."""
    return jnp.linalg.slogdet(to_float(x))[1]


# -- complex views ----------------------------------------------------------------------
@keras_op(MATH)
def view_as_complex(x):
    """A complex tensor from the real tensor ``x`` whose last axis (size 2) holds the
    real and imaginary parts."""
    x = to_float(x)
    if x.shape[-1] != 2:
        raise ValueError(f"view_as_complex expects a last axis of size 2, received shape "
                         f"{tuple(x.shape)}.")
    return jax.lax.complex(x[..., 0], x[..., 1])


@keras_op(MATH)
def view_as_real(x):
    """The real and imaginary parts of a complex tensor, stacked on a new last axis."""
    x = tensor(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


# -- Fourier transforms -----------------------------------------------------------------
def _complex(x):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError("Expected the input as a tuple (real, imag) of two float tensors.")
    real, imag = to_float(x[0]), to_float(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"The real and imaginary parts must have the same shape, received "
                         f"{tuple(real.shape)} and {tuple(imag.shape)}.")
    return jax.lax.complex(real, imag)


def _parts(z):
    return jnp.real(z), jnp.imag(z)


@keras_op(MATH, class_name="FFT")
def fft(x):
    """The FFT along the last axis of the complex ``x = (real, imag)``."""
    return _parts(jnp.fft.fft(_complex(x)))


@keras_op(MATH, class_name="FFT2")
def fft2(x):
    """The 2-D FFT over the last two axes of ``x = (real, imag)``."""
    return _parts(jnp.fft.fft2(_complex(x)))


@keras_op(MATH, class_name="IFFT2")
def ifft2(x):
    """The inverse 2-D FFT over the last two axes of ``x = (real, imag)``."""
    return _parts(jnp.fft.ifft2(_complex(x)))


@keras_op(MATH, class_name="RFFT", init=("fft_length",))
def rfft(x, fft_length=None):
    """The FFT of the real ``x`` along its last axis (``fft_length`` points);
    returns ``(real, imag)`` of the ``fft_length // 2 + 1`` non-negative frequencies."""
    return _parts(jnp.fft.rfft(to_float(x), n=fft_length))


@keras_op(MATH, class_name="IRFFT", init=("fft_length",))
def irfft(x, fft_length=None):
    """The real inverse of ``rfft``: ``x = (real, imag)`` to ``fft_length`` samples."""
    return jnp.fft.irfft(_complex(x), n=fft_length)


@keras_op(MATH, init=("sequence_length", "sequence_stride"))
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last
    axis: shape ``(..., num_frames, sequence_length)``."""
    x = tensor(x)
    count = 1 + (x.shape[-1] - sequence_length) // sequence_stride
    index = (jnp.arange(count)[:, None] * sequence_stride
             + jnp.arange(sequence_length)[None, :])
    return x[..., index]


def _window(window, sequence_length: int, fft_length: int, dtype):
    """The analysis window, centered in ``fft_length`` samples (or None)."""
    if window is None:
        return None
    if isinstance(window, str):
        n = jnp.arange(sequence_length, dtype="float32")
        # Periodic windows, as used for spectral analysis.
        if window == "hann":
            win = 0.5 - 0.5 * jnp.cos(2 * jnp.pi * n / sequence_length)
        elif window == "hamming":
            win = 0.54 - 0.46 * jnp.cos(2 * jnp.pi * n / sequence_length)
        else:
            raise ValueError(f"Unknown window {window!r}: expected 'hann', 'hamming', a "
                             "tensor or None.")
    else:
        win = to_float(window)
        if win.shape != (sequence_length,):
            raise ValueError(f"The window must have shape ({sequence_length},), received "
                             f"{tuple(win.shape)}.")
    left = (fft_length - sequence_length) // 2
    return jnp.pad(win, (left, fft_length - sequence_length - left)).astype(dtype)


@keras_op(MATH, class_name="STFT", init=("sequence_length", "sequence_stride", "fft_length",
                                         "window", "center"))
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform along the last axis of the real ``x``; returns
    ``(real, imag)`` of shape ``(..., num_frames, fft_length // 2 + 1)``."""
    x = to_float(x)
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pad, mode="reflect")
    frames = extract_sequences.__wrapped__(x, fft_length, sequence_stride)
    win = _window(window, sequence_length, fft_length, x.dtype)
    if win is not None:
        frames = frames * win
    return _parts(jnp.fft.rfft(frames, n=fft_length))


@keras_op(MATH, class_name="ISTFT", init=("sequence_length", "sequence_stride", "fft_length",
                                          "length", "window", "center"))
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """The inverse of ``stft`` by windowed overlap-add; ``length`` cuts or pads the
    result."""
    frames = jnp.fft.irfft(_complex(x), n=fft_length)
    num_frames = frames.shape[-2]
    win = _window(window, sequence_length, fft_length, frames.dtype)
    if win is None:
        left = (fft_length - sequence_length) // 2
        win = jnp.pad(jnp.ones((sequence_length,), frames.dtype),
                      (left, fft_length - sequence_length - left))
        frames = frames * win
    else:
        frames = frames * win
    total = fft_length + sequence_stride * (num_frames - 1)
    starts = jnp.arange(num_frames) * sequence_stride
    index = (starts[:, None] + jnp.arange(fft_length)[None, :]).reshape(-1)
    batch = frames.shape[:-2]
    out = jnp.zeros(batch + (total,), frames.dtype).at[..., index].add(
        frames.reshape(batch + (-1,)))
    norm = jnp.zeros((total,), frames.dtype).at[index].add(
        jnp.tile(jnp.square(win), num_frames))
    out = out / jnp.where(norm > 1e-10, norm, 1.0)
    if center:
        out = out[..., fft_length // 2: total - fft_length // 2]
    if length is not None:
        if out.shape[-1] >= length:
            out = out[..., :length]
        else:
            out = jnp.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
    return out


# -- distances --------------------------------------------------------------------------
@keras_op(MATH, class_name="CDist")
def cdist(x, y):
    """Euclidean distances between the rows of ``x`` ``(..., m, d)`` and of ``y``
    ``(..., n, d)``: shape ``(..., m, n)``."""
    x, y = to_float(x), to_float(y)
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(jnp.square(diff), axis=-1))

