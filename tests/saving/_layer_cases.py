"""One tiny model per public layer class, for the save/load interop sweep
(tests/saving/test_layer_interop.py).

A case says how to make the layer with either library (``make(K)``, K being
``lamina`` or ``keras``), the inputs of the model around it (shape without the batch
dimension, dtype, value range) and, where the layer is not called on a single
tensor, how to call it. Cases are keyed by the class's ``__name__``; aliases
(``Conv1D``/``Convolution1D``) are the same class and need one case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Inp:
    """A model input: shape without the batch dimension, dtype and value range."""

    shape: tuple
    dtype: str = "float32"
    low: float = -1.0
    high: float = 1.0

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        shape = (batch, *self.shape)
        if self.dtype.startswith("int"):
            return rng.integers(int(self.low), int(self.high), shape).astype(self.dtype)
        return rng.uniform(self.low, self.high, shape).astype(self.dtype)


def _single(layer, inputs):
    return layer(inputs[0])


def _listed(layer, inputs):
    return layer(list(inputs))


def _query_value(layer, inputs):
    return layer(inputs[0], inputs[1])


@dataclass(frozen=True)
class Case:
    """How to make a layer with library ``K`` and the model inputs it is called on."""

    make: Callable
    inputs: tuple
    call: Callable = _single
    rtol: float = 1e-5
    atol: float = 1e-5
    # Why Keras 3.15.1 cannot build a functional model around the layer, if it cannot
    # (the layer is then checked on its own, outside a model).
    keras_cannot_build: str = ""
    # Why Keras 3.15.1 cannot load a file holding the layer, if it cannot.
    keras_cannot_load: str = ""
    # How lamina's config of the layer differs from Keras's, if it does (Keras then
    # cannot load lamina's file, and a loaded Keras file's config differs).
    lamina_config_differs: str = ""

    def to_keras_failure(self) -> str:
        """Why a lamina file holding the layer does not load in Keras ("" if it does)."""
        if self.keras_cannot_build or self.keras_cannot_load:
            return f"Keras 3.15.1: {self.keras_cannot_build or self.keras_cannot_load}"
        return self.to_lamina_failure()

    def to_lamina_failure(self) -> str:
        """Why a Keras file holding the layer does not load in lamina to the same
        predictions, weights and config ("" if it does)."""
        if self.keras_cannot_build:
            return f"Keras 3.15.1: {self.keras_cannot_build}"
        return f"lamina: {self.lamina_config_differs}" if self.lamina_config_differs else ""


V = Inp((4,))            # a vector per sample
SEQ = Inp((3, 4))        # (steps, features)
IMG = Inp((4, 4, 2))     # (height, width, channels)
VOL = Inp((4, 4, 4, 1))  # (depth, height, width, channels)
PIX = Inp((6, 6, 3), low=0.0, high=255.0)  # an RGB image in [0, 255]
SEQ2 = (SEQ, Inp((2, 4)))  # query (3 steps) and value (2 steps)


def case(make, *inputs, **kwargs) -> Case:
    return Case(make=make, inputs=inputs, **kwargs)


def _cases() -> dict:
    c = {
        # core
        "Activation": case(lambda K: K.layers.Activation("tanh"), V),
        "ActivityRegularization": case(lambda K: K.layers.ActivityRegularization(l1=0.01), V),
        "Dense": case(lambda K: K.layers.Dense(3, activation="relu"), V),
        "Dropout": case(lambda K: K.layers.Dropout(0.5, seed=3), V),
        "Embedding": case(lambda K: K.layers.Embedding(10, 3, mask_zero=True),
                          Inp((5,), "int32", 0, 10)),
        "Identity": case(lambda K: K.layers.Identity(), V),
        # a named function (lambda bytecode: tests/saving/test_loader_safety.py)
        "Lambda": case(lambda K: K.layers.Lambda(K.activations.relu), V),
        "Masking": case(lambda K: K.layers.Masking(0.5), SEQ),
        "ReversibleEmbedding": case(lambda K: K.layers.ReversibleEmbedding(10, 3),
                                    Inp((5,), "int32", 0, 10)),
        "EinsumDense": case(lambda K: K.layers.EinsumDense("ab,bc->ac", output_shape=3,
                                                           bias_axes="c"), V),
        # merging
        "Add": case(lambda K: K.layers.Add(), V, V, call=_listed),
        "Average": case(lambda K: K.layers.Average(), V, V, call=_listed),
        "Maximum": case(lambda K: K.layers.Maximum(), V, V, call=_listed),
        "Minimum": case(lambda K: K.layers.Minimum(), V, V, call=_listed),
        "Multiply": case(lambda K: K.layers.Multiply(), V, V, call=_listed),
        "Subtract": case(lambda K: K.layers.Subtract(), V, V, call=_listed),
        "Concatenate": case(lambda K: K.layers.Concatenate(axis=1), SEQ, Inp((2, 4)),
                            call=_listed),
        "Dot": case(lambda K: K.layers.Dot(axes=1, normalize=True), V, V, call=_listed),
        # reshaping
        "Flatten": case(lambda K: K.layers.Flatten(), SEQ),
        "Permute": case(lambda K: K.layers.Permute((2, 1)), SEQ),
        "RepeatVector": case(lambda K: K.layers.RepeatVector(2), V),
        "Reshape": case(lambda K: K.layers.Reshape((2, 6)), SEQ),
        "Cropping1D": case(lambda K: K.layers.Cropping1D((1, 0)), SEQ),
        "Cropping2D": case(lambda K: K.layers.Cropping2D(((1, 0), (0, 1))), IMG),
        "Cropping3D": case(lambda K: K.layers.Cropping3D(1), VOL),
        "ZeroPadding1D": case(lambda K: K.layers.ZeroPadding1D((1, 2)), SEQ),
        "ZeroPadding2D": case(lambda K: K.layers.ZeroPadding2D(((1, 0), (0, 1))), IMG),
        "ZeroPadding3D": case(lambda K: K.layers.ZeroPadding3D(1), VOL),
        "UpSampling1D": case(lambda K: K.layers.UpSampling1D(2), SEQ),
        "UpSampling2D": case(lambda K: K.layers.UpSampling2D(2, interpolation="bilinear"),
                             IMG),
        "UpSampling3D": case(lambda K: K.layers.UpSampling3D(2), VOL),
        # activations
        "ELU": case(lambda K: K.layers.ELU(alpha=0.5), V),
        "LeakyReLU": case(lambda K: K.layers.LeakyReLU(negative_slope=0.2), V),
        "PReLU": case(lambda K: K.layers.PReLU(shared_axes=[1]), SEQ),
        "ReLU": case(lambda K: K.layers.ReLU(max_value=0.5, threshold=0.1), V),
        "Softmax": case(lambda K: K.layers.Softmax(axis=1), SEQ),
        # convolution
        "Conv1D": case(lambda K: K.layers.Conv1D(2, 2), SEQ),
        "Conv2D": case(lambda K: K.layers.Conv2D(2, 2, padding="same"), IMG),
        "Conv3D": case(lambda K: K.layers.Conv3D(2, 2), VOL),
        "Conv1DTranspose": case(lambda K: K.layers.Conv1DTranspose(2, 2, strides=2), SEQ),
        "Conv2DTranspose": case(lambda K: K.layers.Conv2DTranspose(2, 2), IMG),
        "Conv3DTranspose": case(lambda K: K.layers.Conv3DTranspose(2, 2), VOL),
        "DepthwiseConv1D": case(lambda K: K.layers.DepthwiseConv1D(2, depth_multiplier=2),
                                SEQ),
        "DepthwiseConv2D": case(lambda K: K.layers.DepthwiseConv2D(2), IMG),
        "SeparableConv1D": case(lambda K: K.layers.SeparableConv1D(2, 2), SEQ),
        "SeparableConv2D": case(lambda K: K.layers.SeparableConv2D(2, 2), IMG),
        # pooling
        "AveragePooling1D": case(lambda K: K.layers.AveragePooling1D(2, padding="same"), SEQ),
        "AveragePooling2D": case(lambda K: K.layers.AveragePooling2D(2), IMG),
        "AveragePooling3D": case(lambda K: K.layers.AveragePooling3D(2), VOL),
        "MaxPooling1D": case(lambda K: K.layers.MaxPooling1D(2), SEQ),
        "MaxPooling2D": case(lambda K: K.layers.MaxPooling2D(2, strides=1), IMG),
        "MaxPooling3D": case(lambda K: K.layers.MaxPooling3D(2), VOL),
        "GlobalAveragePooling1D": case(lambda K: K.layers.GlobalAveragePooling1D(), SEQ),
        "GlobalAveragePooling2D": case(
            lambda K: K.layers.GlobalAveragePooling2D(keepdims=True), IMG),
        "GlobalAveragePooling3D": case(lambda K: K.layers.GlobalAveragePooling3D(), VOL),
        "GlobalMaxPooling1D": case(lambda K: K.layers.GlobalMaxPooling1D(), SEQ),
        "GlobalMaxPooling2D": case(lambda K: K.layers.GlobalMaxPooling2D(), IMG),
        "GlobalMaxPooling3D": case(lambda K: K.layers.GlobalMaxPooling3D(), VOL),
        "AdaptiveAveragePooling1D": case(lambda K: K.layers.AdaptiveAveragePooling1D(2), SEQ),
        "AdaptiveAveragePooling2D": case(lambda K: K.layers.AdaptiveAveragePooling2D(2), IMG),
        "AdaptiveAveragePooling3D": case(lambda K: K.layers.AdaptiveAveragePooling3D(2), VOL),
        "AdaptiveMaxPooling1D": case(lambda K: K.layers.AdaptiveMaxPooling1D(2), SEQ),
        "AdaptiveMaxPooling2D": case(lambda K: K.layers.AdaptiveMaxPooling2D(2), IMG),
        "AdaptiveMaxPooling3D": case(lambda K: K.layers.AdaptiveMaxPooling3D(2), VOL),
        # regularization (compared at inference)
        "AlphaDropout": case(lambda K: K.layers.AlphaDropout(0.2), V),
        "GaussianDropout": case(lambda K: K.layers.GaussianDropout(0.2), V),
        "GaussianNoise": case(lambda K: K.layers.GaussianNoise(0.2), V),
        "SpatialDropout1D": case(lambda K: K.layers.SpatialDropout1D(0.2), SEQ),
        "SpatialDropout2D": case(lambda K: K.layers.SpatialDropout2D(0.2), IMG),
        "SpatialDropout3D": case(lambda K: K.layers.SpatialDropout3D(0.2), VOL),
        # normalization
        "BatchNormalization": case(lambda K: K.layers.BatchNormalization(), V),
        "GroupNormalization": case(lambda K: K.layers.GroupNormalization(groups=2), SEQ),
        "LayerNormalization": case(lambda K: K.layers.LayerNormalization(), V),
        "RMSNormalization": case(lambda K: K.layers.RMSNormalization(), V),
        "UnitNormalization": case(lambda K: K.layers.UnitNormalization(), V),
        "SpectralNormalization": case(
            lambda K: K.layers.SpectralNormalization(K.layers.Dense(3)), V),
        # attention
        "Attention": case(lambda K: K.layers.Attention(use_scale=True), *SEQ2, call=_listed),
        "AdditiveAttention": case(lambda K: K.layers.AdditiveAttention(), *SEQ2,
                                  call=_listed),
        "MultiHeadAttention": case(lambda K: K.layers.MultiHeadAttention(2, 2), *SEQ2,
                                   call=_query_value),
        "GroupedQueryAttention": case(
            lambda K: K.layers.GroupQueryAttention(2, 2, 1), *SEQ2, call=_query_value),
        # recurrent (cells are checked inside the RNN layer that runs them)
        "SimpleRNN": case(lambda K: K.layers.SimpleRNN(3), SEQ),
        "GRU": case(lambda K: K.layers.GRU(3, return_sequences=True), SEQ),
        "LSTM": case(lambda K: K.layers.LSTM(3, return_state=True), SEQ),
        "SimpleRNNCell": case(lambda K: K.layers.RNN(K.layers.SimpleRNNCell(2)), SEQ),
        "GRUCell": case(lambda K: K.layers.RNN(K.layers.GRUCell(2)), SEQ),
        "LSTMCell": case(lambda K: K.layers.RNN(K.layers.LSTMCell(2)), SEQ),
        "StackedRNNCells": case(lambda K: K.layers.RNN(K.layers.StackedRNNCells(
            [K.layers.GRUCell(2), K.layers.LSTMCell(3)])), SEQ),
        "RNN": case(lambda K: K.layers.RNN(K.layers.SimpleRNNCell(2), go_backwards=True,
                                           return_sequences=True), SEQ),
        "Bidirectional": case(lambda K: K.layers.Bidirectional(K.layers.LSTM(2)), SEQ),
        "ConvLSTM1D": case(lambda K: K.layers.ConvLSTM1D(2, 2), Inp((2, 4, 1))),
        "ConvLSTM2D": case(lambda K: K.layers.ConvLSTM2D(2, 2), Inp((2, 3, 3, 1))),
        "ConvLSTM3D": case(lambda K: K.layers.ConvLSTM3D(1, 2), Inp((2, 3, 3, 3, 1))),
        "TimeDistributed": case(lambda K: K.layers.TimeDistributed(K.layers.Dense(2)), SEQ),
        # preprocessing
        "CategoryEncoding": case(lambda K: K.layers.CategoryEncoding(5, output_mode="count"),
                                 Inp((3,), "int32", 0, 5)),
        "Discretization": case(lambda K: K.layers.Discretization(bin_boundaries=[-0.5, 0.5]),
                               V),
        "Normalization": case(lambda K: K.layers.Normalization(), V),
        "Rescaling": case(lambda K: K.layers.Rescaling(0.5, offset=0.25), V),
        "STFTSpectrogram": case(lambda K: K.layers.STFTSpectrogram(
            frame_length=8, frame_step=4, fft_length=8), Inp((32, 1)), atol=1e-4),
        "MelSpectrogram": case(lambda K: K.layers.MelSpectrogram(
            fft_length=16, sequence_stride=8, num_mel_bins=4, sampling_rate=800),
            Inp((64,)), atol=1e-4),
        # image preprocessing and augmentation (random ones compared at inference)
        "AugMix": case(lambda K: K.layers.AugMix(seed=1), PIX),
        "AutoContrast": case(lambda K: K.layers.AutoContrast(), PIX, atol=1e-4),
        "CenterCrop": case(lambda K: K.layers.CenterCrop(4, 4), PIX, atol=1e-4),
        "ContrastLimitedAdaptiveHistogramEqualization": case(
            lambda K: K.layers.ContrastLimitedAdaptiveHistogramEqualization(
                tile_grid_size=(2, 2)), PIX, atol=1e-3),
        "CutMix": case(lambda K: K.layers.CutMix(seed=1), PIX),
        "Equalization": case(
            lambda K: K.layers.Equalization(), PIX, atol=1e-3,
            keras_cannot_build="Keras's Equalization called on a KerasTensor returns a "
                               "tensor Keras finds 'part of a cycle'"),
        "MaxNumBoundingBoxes": case(lambda K: K.layers.MaxNumBoundingBoxes(2), PIX),
        "MixUp": case(lambda K: K.layers.MixUp(seed=1), PIX),
        "Pipeline": case(lambda K: K.layers.Pipeline(
            [K.layers.RandomFlip(seed=1), K.layers.Rescaling(0.5)]), PIX),
        "RandAugment": case(lambda K: K.layers.RandAugment(seed=1), PIX),
        "RandomBrightness": case(lambda K: K.layers.RandomBrightness(0.2, seed=1), PIX),
        "RandomColorDegeneration": case(
            lambda K: K.layers.RandomColorDegeneration(0.2, seed=1), PIX),
        "RandomColorJitter": case(lambda K: K.layers.RandomColorJitter(
            brightness_factor=0.2, hue_factor=0.1, seed=1), PIX),
        "RandomContrast": case(lambda K: K.layers.RandomContrast(0.2, seed=1), PIX),
        "RandomCrop": case(lambda K: K.layers.RandomCrop(4, 4, seed=1), PIX, atol=1e-4),
        "RandomElasticTransform": case(lambda K: K.layers.RandomElasticTransform(seed=1), PIX),
        "RandomErasing": case(lambda K: K.layers.RandomErasing(seed=1), PIX),
        "RandomFlip": case(lambda K: K.layers.RandomFlip("horizontal", seed=1), PIX),
        "RandomGaussianBlur": case(lambda K: K.layers.RandomGaussianBlur(seed=1), PIX),
        "RandomGrayscale": case(lambda K: K.layers.RandomGrayscale(seed=1), PIX),
        "RandomHue": case(lambda K: K.layers.RandomHue(0.2, seed=1), PIX),
        "RandomInvert": case(lambda K: K.layers.RandomInvert(seed=1), PIX),
        "RandomPerspective": case(lambda K: K.layers.RandomPerspective(seed=1), PIX),
        "RandomPosterization": case(lambda K: K.layers.RandomPosterization(4, seed=1), PIX),
        "RandomRotation": case(lambda K: K.layers.RandomRotation(0.1, seed=1), PIX),
        "RandomSaturation": case(lambda K: K.layers.RandomSaturation(0.2, seed=1), PIX),
        "RandomSharpness": case(lambda K: K.layers.RandomSharpness(0.2, seed=1), PIX),
        "RandomShear": case(
            lambda K: K.layers.RandomShear(0.1, 0.1, seed=1), PIX,
            keras_cannot_load="Keras writes x_factor/y_factor as (-f, f) pairs its "
                              "constructor refuses (values must lie in [0, 1])"),
        "RandomTranslation": case(lambda K: K.layers.RandomTranslation(0.1, 0.1, seed=1),
                                  PIX),
        "RandomZoom": case(lambda K: K.layers.RandomZoom(0.1, seed=1), PIX),
        "Resizing": case(lambda K: K.layers.Resizing(3, 5, crop_to_aspect_ratio=True), PIX,
                         atol=1e-3),
        "Solarization": case(lambda K: K.layers.Solarization(0.2, 0.2, seed=1), PIX),
    }
    return c


CASES = _cases()

# More arguments of the same classes, for the slow exhaustive run: "<class>-<what>".
VARIANTS = {
    "Conv1D-groups-causal": case(lambda K: K.layers.Conv1D(4, 2, groups=2, padding="causal"),
                                 Inp((5, 4))),
    "Conv2D-channels_first": case(lambda K: K.layers.Conv2D(
        2, 2, data_format="channels_first", use_bias=False), Inp((2, 4, 4))),
    "Conv2DTranspose-channels_first": case(lambda K: K.layers.Conv2DTranspose(
        2, 2, strides=2, data_format="channels_first"), Inp((2, 3, 3))),
    "SeparableConv2D-depth_multiplier": case(lambda K: K.layers.SeparableConv2D(
        2, 2, depth_multiplier=2, use_bias=False), IMG),
    "DepthwiseConv2D-regularizer": case(lambda K: K.layers.DepthwiseConv2D(
        2, depthwise_regularizer="l2"), IMG),
    "Dense-regularizer-constraint": case(lambda K: K.layers.Dense(
        3, kernel_regularizer="l2", bias_constraint="non_neg"), V),
    "Embedding-regularizer": case(lambda K: K.layers.Embedding(
        10, 3, embeddings_regularizer="l1"), Inp((5,), "int32", 0, 10)),
    "ReversibleEmbedding-untied": case(lambda K: K.layers.ReversibleEmbedding(
        10, 3, tie_weights=False), Inp((5,), "int32", 0, 10)),
    "EinsumDense-3d": case(lambda K: K.layers.EinsumDense(
        "abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de"), SEQ),
    "PReLU-unshared": case(lambda K: K.layers.PReLU(alpha_initializer="ones"), SEQ),
    "Dot-axes": case(lambda K: K.layers.Dot(axes=(2, 2)), SEQ, SEQ, call=_listed),
    "UpSampling2D-channels_first": case(lambda K: K.layers.UpSampling2D(
        (2, 1), data_format="channels_first"), Inp((2, 3, 3))),
    "BatchNormalization-no-center": case(lambda K: K.layers.BatchNormalization(
        center=False, momentum=0.9), IMG),
    "LayerNormalization-axes": case(lambda K: K.layers.LayerNormalization(
        axis=[1, 2], center=False), SEQ),
    "GroupNormalization-no-scale": case(lambda K: K.layers.GroupNormalization(
        groups=1, scale=False), SEQ),
    "RMSNormalization-epsilon": case(lambda K: K.layers.RMSNormalization(epsilon=1e-3), SEQ),
    "SpectralNormalization-conv": case(lambda K: K.layers.SpectralNormalization(
        K.layers.Conv1D(2, 2), power_iterations=2), SEQ),
    "Attention-concat": case(lambda K: K.layers.Attention(score_mode="concat", dropout=0.1),
                             *SEQ2, call=_listed),
    "MultiHeadAttention-output_shape": case(lambda K: K.layers.MultiHeadAttention(
        2, 2, use_bias=False, output_shape=5), *SEQ2, call=_query_value),
    "LSTM-unrolled-sequences": case(lambda K: K.layers.LSTM(
        3, return_sequences=True, unroll=True, use_bias=False), SEQ),
    "SimpleRNN-backwards-state": case(lambda K: K.layers.SimpleRNN(
        2, return_state=True, go_backwards=True), SEQ),
    "Bidirectional-gru-sum": case(lambda K: K.layers.Bidirectional(K.layers.GRU(
        2, return_sequences=True, reset_after=False), merge_mode="sum"), SEQ),
    "Bidirectional-backward_layer": case(lambda K: K.layers.Bidirectional(
        K.layers.LSTM(2), backward_layer=K.layers.LSTM(2, go_backwards=True)), SEQ),
    "ConvLSTM2D-sequences-same": case(lambda K: K.layers.ConvLSTM2D(
        1, 2, return_sequences=True, padding="same"), Inp((2, 3, 3, 1))),
    "TimeDistributed-conv": case(lambda K: K.layers.TimeDistributed(K.layers.Conv1D(2, 2)),
                                 Inp((3, 5, 2))),
    "Normalization-fixed": case(lambda K: K.layers.Normalization(
        mean=[0.1, 0.2, 0.3, 0.4], variance=[1.0, 2.0, 3.0, 4.0]), V),
    "Normalization-invert-axes": case(lambda K: K.layers.Normalization(
        axis=(1, 2), invert=True), SEQ),
    "Discretization-one_hot": case(lambda K: K.layers.Discretization(
        bin_boundaries=[0.0], output_mode="one_hot"), V),
    "CategoryEncoding-one_hot": case(lambda K: K.layers.CategoryEncoding(
        4, output_mode="one_hot"), Inp((1,), "int32", 0, 4)),
    "Rescaling-per-channel": case(lambda K: K.layers.Rescaling([0.5, 1.0, 2.0]), PIX),
    "Resizing-nearest": case(lambda K: K.layers.Resizing(3, 3, interpolation="nearest"), PIX),
}
