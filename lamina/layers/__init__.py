"""Public layers, as ``keras.layers``."""

from lamina.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Identity,
    Lambda,
    Masking,
)
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from lamina.layers.wrappers import TimeDistributed, Wrapper

# isort: split
# Recurrent layers (names listed in lamina/layers/recurrent/__init__.py's __all__).
from lamina.layers.recurrent import *  # noqa: F403

# isort: split
# Activation, cropping/padding, upsampling, regularization and preprocessing layers.
from lamina.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from lamina.layers.cropping_padding import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from lamina.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from lamina.layers.preprocessing import (
    CategoryEncoding,
    Discretization,
    Hashing,
    Normalization,
    Rescaling,
)
from lamina.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from lamina.layers.upsampling import UpSampling1D, UpSampling2D, UpSampling3D

# isort: split
# Normalization and attention layers, EinsumDense.
from lamina.layers.attention import (
    AdditiveAttention,
    Attention,
    GroupedQueryAttention,
    GroupQueryAttention,
    MultiHeadAttention,
)
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.flax_layer import FlaxLayer
from lamina.layers.jax_layer import JaxLayer
from lamina.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    SpectralNormalization,
    UnitNormalization,
)

# isort: split
# Image preprocessing and augmentation layers (lamina/layers/preprocessing/image).
from lamina.layers.preprocessing.image import *  # noqa: E402, F403

# isort: split
# Text, lookup and audio preprocessing; RMSNormalization, adaptive pooling,
# ReversibleEmbedding; layer (de)serialization.
from lamina.layers.layer_serialization import deserialize, serialize
from lamina.layers.normalization.rms_normalization import RMSNormalization
from lamina.layers.pooling.adaptive_pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from lamina.layers.preprocessing.audio import MelSpectrogram, STFTSpectrogram
from lamina.layers.preprocessing.hashed_crossing import HashedCrossing
from lamina.layers.preprocessing.integer_lookup import IntegerLookup
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.layers.preprocessing.text_vectorization import TextVectorization
from lamina.layers.reversible_embedding import ReversibleEmbedding
