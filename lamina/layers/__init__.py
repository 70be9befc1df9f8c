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
