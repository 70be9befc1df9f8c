"""Audio front ends: STFTSpectrogram (a trainable STFT as a strided convolution) and
MelSpectrogram (fixed STFT, mel filter bank and decibel scaling)."""

from __future__ import annotations

import math
import warnings

import jax.numpy as jnp
import numpy as np

from lamina import backend, initializers
from lamina.layers.convolutional import conv_args
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops.math import stft
from lamina.ops.nn_conv import conv

_STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """Spectrograms of ``(batch, time, channels)`` signals by convolution with STFT kernels.

    The kernels (weights ``real_kernel``/``imag_kernel``, from the ``STFT``
    initializer) are trainable like any convolution kernel. Each channel is
    transformed separately.

    Args:
        mode: ``"log"`` (log magnitude, default), ``"magnitude"``, ``"psd"`` (power
            spectral density), ``"real"``, ``"imag"``, ``"angle"`` or ``"stft"``
            (real and imaginary parts stacked along the frequency axis).
        frame_length: window length in samples.
        frame_step: hop between windows (default ``frame_length // 2``).
        fft_length: FFT size (default: the next power of two >= ``frame_length``).
        window: window name or values (see ``initializers.STFT``), or None.
        periodic: use periodic windows.
        scaling: ``"density"``, ``"spectrum"`` or None (window normalization).
        padding: ``"valid"`` or ``"same"``.
        expand_dims: output ``(batch, time, freq, channels)`` (channels_last)
            instead of merging channels and frequencies.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError("`frame_step` should be a positive integer not greater than "
                             f"`frame_length`. Received frame_step={frame_step}, "
                             f"frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError("`fft_length` should be not less than `frame_length`. Received "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"`fft_length` is recommended to be a power of two. Received "
                          f"fft_length={fft_length}")
        if mode not in _STFT_MODES:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(_STFT_MODES)}"
                             f". Received: mode={mode}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: "
                             f"padding={padding}")
        # Validates the window name and scaling.
        initializers.STFT("real", window, scaling, periodic)
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = conv_args.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != ("imag" if side == "real" else "real"):
                setattr(self, f"{side}_kernel", self.add_weight(
                    name=f"{side}_kernel", shape=shape,
                    initializer=initializers.STFT(side, self.window, self.scaling,
                                                  self.periodic)))
        self.built = True

    def _convolve(self, inputs, kernel):
        """``(batch, channels, freq, frames)`` responses of every channel to ``kernel``."""
        if self.data_format == "channels_last":
            inputs = jnp.swapaxes(inputs, 1, 2)
        channels, length = inputs.shape[1], inputs.shape[2]
        signals = inputs.reshape(-1, length, 1)
        out = conv(signals, kernel.value.astype(inputs.dtype), strides=self._frame_step,
                   padding=self.padding, data_format="channels_last")
        return jnp.swapaxes(out, 1, 2).reshape(-1, channels, out.shape[2], out.shape[1])

    def _arrange(self, x):
        """``(batch, channels, freq, frames)`` to the output layout."""
        batch, channels, freq, frames = x.shape
        if self.expand_dims:
            return jnp.transpose(x, (0, 3, 2, 1) if self.data_format == "channels_last"
                                 else (0, 1, 3, 2))
        x = x.reshape(batch, channels * freq, frames)
        return jnp.swapaxes(x, 1, 2) if self.data_format == "channels_last" else x

    def call(self, inputs):
        if str(inputs.dtype) not in ("float16", "float32", "float64"):
            raise TypeError("Invalid input type. Expected `float16`, `float32` or `float64`. "
                            f"Received: input type={inputs.dtype}")
        real = self._convolve(inputs, self.real_kernel) if self.mode != "imag" else None
        imag = self._convolve(inputs, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._arrange(real)
        if self.mode == "imag":
            return self._arrange(imag)
        if self.mode == "angle":
            return self._arrange(jnp.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(jnp.concatenate([real, imag], axis=2))
        power = jnp.square(real) + jnp.square(imag)
        if self.mode == "psd":
            # One-sided density: every bin but the first and last counts twice.
            doubled = jnp.pad(power[:, :, 1:-1, :], ((0, 0), (0, 0), (1, 1), (0, 0)))
            return self._arrange(power + doubled)
        magnitude = self._arrange(jnp.sqrt(jnp.maximum(power, backend.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return jnp.log(jnp.maximum(magnitude, backend.epsilon()))

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "frame_length": self.frame_length,
                       "frame_step": self.frame_step, "fft_length": self.fft_length,
                       "window": self.window, "periodic": self.periodic,
                       "scaling": self.scaling, "padding": self.padding,
                       "data_format": self.data_format, "expand_dims": self.expand_dims})
        return config


# The HTK mel scale: mel(f) = 1127 ln(1 + f / 700).
_MEL_BREAK_HZ = 700.0
_MEL_Q = 1127.0


def _hertz_to_mel(hz):
    return _MEL_Q * np.log(1.0 + hz / _MEL_BREAK_HZ)


def linear_to_mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sampling_rate,
                                lower_edge_hertz, upper_edge_hertz, dtype="float32"):
    """The ``(num_spectrogram_bins, num_mel_bins)`` matrix of triangular mel filters
    (peak 1) over linear frequency bins ``0..sampling_rate / 2``; the 0 Hz bin gets
    no weight."""
    f = np.dtype(dtype).type
    linear = np.linspace(f(0), f(sampling_rate) / f(2), num_spectrogram_bins, dtype=dtype)[1:]
    bins_mel = _hertz_to_mel(linear)[:, None]
    edges = np.linspace(_hertz_to_mel(f(lower_edge_hertz)), _hertz_to_mel(f(upper_edge_hertz)),
                        num_mel_bins + 2, dtype=dtype)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(f(0), np.minimum(rising, falling))
    return np.pad(weights, ((1, 0), (0, 0))).astype(dtype)


class MelSpectrogram(Layer):
    """Mel spectrograms of raw audio: ``(time,)`` or ``(batch, time)`` signals to
    ``(num_mel_bins, frames)`` or ``(batch, num_mel_bins, frames)``.

    STFT (centered, reflect-padded) magnitudes raised to ``mag_exp``, projected on
    ``num_mel_bins`` triangular mel filters between ``min_freq`` and ``max_freq``,
    then (``power_to_db``) ``10 log10(max(x, min_power) / ref_power)`` clipped to
    ``top_db`` below the maximum over the whole call (batch included, as Keras).

    Args:
        fft_length, sequence_stride, sequence_length, window: the STFT (window
            ``"hann"``, ``"hamming"`` or None; ``sequence_length`` defaults to
            ``fft_length``).
        sampling_rate: samples per second of the input.
        num_mel_bins, min_freq, max_freq: the filter bank (``max_freq`` defaults
            to ``sampling_rate / 2``).
        power_to_db, top_db, mag_exp, min_power, ref_power: the scaling above.
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if fft_length < self.sequence_length:
            raise ValueError("`fft_length` must be greater than or equal to `sequence_length`. "
                             f"Received: `sequence_length`={self.sequence_length}, "
                             f"`fft_length`={fft_length}.")
        super().__init__(**kwargs)
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        inputs = jnp.asarray(inputs, dtype)
        real, imag = stft(inputs, self.sequence_length, self.sequence_stride, self.fft_length,
                          window=self.window, center=True)
        spec = jnp.power(jnp.sqrt(jnp.square(real) + jnp.square(imag)), self.mag_exp)
        matrix = linear_to_mel_weight_matrix(self.num_mel_bins, spec.shape[-1],
                                             self.sampling_rate, self.min_freq, self.max_freq)
        out = jnp.tensordot(spec, jnp.asarray(matrix, spec.dtype), axes=1)
        if self.power_to_db:
            out = 10.0 * jnp.log10(jnp.maximum(out, self.min_power))
            out = out - 10.0 * jnp.log10(jnp.maximum(abs(self.ref_power), self.min_power))
            out = jnp.maximum(out, jnp.max(out) - self.top_db)
        return jnp.swapaxes(out, -1, -2).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape):
        *batch, length = input_shape
        frames = None if length is None else (length + self.sequence_stride + 1) // (
            self.sequence_stride)
        return (*batch, self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                       "sequence_length": self.sequence_length, "window": self.window,
                       "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                       "min_freq": self.min_freq, "max_freq": self.max_freq,
                       "power_to_db": self.power_to_db, "top_db": self.top_db,
                       "mag_exp": self.mag_exp, "min_power": self.min_power,
                       "ref_power": self.ref_power})
        return config
