"""Core layers: Dense, Embedding, Activation, Dropout, Lambda, Identity, Masking."""

from __future__ import annotations

import inspect
import types

import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina import random as lrandom
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit
from lamina.saving import lambda_code
from lamina.saving.serialization import deserialize_keras_object, serialize_function
from lamina.saving.serialization import serialize_keras_object as _ser


class Dense(Layer):
    """A densely-connected layer: ``activation(inputs @ kernel + bias)``.

    Applied to the last axis of inputs of any rank >= 2.

    Args:
        units: the output size.
        activation: activation name or function (default linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: default glorot_uniform and zeros.
        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint: optional.
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense 'units' must be a positive int, received {units!r}.")
        if lora_rank:
            raise NotImplementedError("Dense(lora_rank=...) (LoRA) is not supported by lamina.")
        if quantization_config is not None:
            raise NotImplementedError("Quantized Dense layers are not supported by lamina.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer '{self.name}': the last dimension of the inputs to Dense "
                             f"must be known, received shape {input_shape}.")
        self.kernel = self.add_weight(shape=(input_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        x = jnp.matmul(inputs, self.kernel.value.astype(inputs.dtype))
        if self.bias is not None:
            x = x + self.bias.value.astype(x.dtype)
        return self.activation(x)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser(self.kernel_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "kernel_regularizer": _ser(self.kernel_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "kernel_constraint": _ser(self.kernel_constraint),
            "bias_constraint": _ser(self.bias_constraint),
            "quantization_config": None,
        })
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _ser(self.activity_regularizer)
        return config


class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors of size ``output_dim``.

    Args:
        input_dim: vocabulary size (largest index + 1).
        output_dim: embedding size.
        embeddings_initializer: default ``uniform`` in [-0.05, 0.05].
        mask_zero: whether index 0 is padding; the layer then emits a mask.
        input_length: accepted for compatibility with older Keras code, unused.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        self.input_length = kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Embedding '{arg}' must be a positive int, received "
                                 f"{value!r}.")
        if lora_rank:
            raise NotImplementedError("Embedding(lora_rank=...) is not supported by lamina.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self._initial_weights = weights

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          name="embeddings")
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = inputs.astype("int32")
        return jnp.take(self.embeddings.value, inputs, axis=0).astype(self.compute_dtype)

    def compute_mask(self, inputs, previous_mask=None):
        if not self.mask_zero:
            return None
        return jnp.not_equal(inputs, 0)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _ser(self.embeddings_initializer),
            "embeddings_regularizer": _ser(self.embeddings_regularizer),
            "activity_regularizer": _ser(self.activity_regularizer),
            "embeddings_constraint": _ser(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        })
        return config


class Activation(BuiltAtInit, Layer):
    """Applies an activation function (name or callable) to its input."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(BuiltAtInit, Layer):
    """Randomly sets a fraction ``rate`` of inputs to 0 during training.

    Kept values are scaled by ``1 / (1 - rate)``; at inference the layer is the identity.

    Args:
        rate: fraction of inputs to drop, in [0, 1).
        noise_shape: shape of the binary mask (None entries follow the input).
        seed: optional int folded into the layer's keys.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be a float in [0, 1], received {rate!r}.")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return lrandom.dropout(inputs, self.rate, self.noise_shape,
                                   seed=lrandom.draw_key(self, self.seed))
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


class Identity(BuiltAtInit, Layer):
    """Returns its input unchanged."""

    supports_masking = True

    def call(self, inputs):
        return inputs


class Masking(BuiltAtInit, Layer):
    """Masks timesteps whose features all equal ``mask_value`` (and zeroes them)."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs, previous_mask=None):
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return inputs * keep.astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config


class Lambda(Layer):
    """Wraps a function of the inputs as a layer.

    Args:
        function: the function. When it has a (positional-or-keyword) parameter named
            ``mask`` or ``training``, it receives the input's mask and the training flag
            there, as in Keras.
        output_shape: accepted for compatibility (shapes are inferred).
        mask: None (outputs carry no mask), a callable ``mask(inputs, previous_mask)``
            returning the output mask, or a fixed mask.
        arguments: extra keyword arguments passed to ``function``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable, received {type(function).__name__}.")
        self.function = function
        self.output_shape_arg = output_shape
        self.mask = mask
        self.supports_masking = mask is not None
        self.arguments = arguments or {}
        params = _named_parameters(function)
        self._fn_takes_mask = "mask" in params
        self._fn_takes_training = "training" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def get_config(self):
        """Keras's Lambda config: a lambda function is saved as bytecode (a
        ``__lambda__`` record, loadable only outside safe mode), a named function by
        name (it must be registered, or built in, to load)."""
        try:
            config = {"function": _function_config(self.function)}
        except TypeError as error:
            raise TypeError(
                f"Lambda layer '{self.name}' cannot be saved: {error} A saved Lambda's "
                "function must be a Python lambda (saved as bytecode; loading it needs "
                "`safe_mode=False`) or a named function registered with "
                "`@keras.saving.register_keras_serializable()` (loads safely); for anything "
                "else write a Layer subclass with `get_config()`.") from None
        if self.output_shape_arg is not None:
            config["output_shape"] = (_function_config(self.output_shape_arg)
                                      if callable(self.output_shape_arg)
                                      else _ser(self.output_shape_arg))
        if self.mask is not None:
            config["mask"] = (_function_config(self.mask) if callable(self.mask)
                              else _ser(self.mask))
        config["arguments"] = _ser(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config.get("name", "lambda")
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if lambda_code.is_lambda_record(value):
                config[key] = lambda_code.load_lambda(value, name)
            elif isinstance(value, dict) and "class_name" in value:
                config[key] = _load_function(value, name, key, custom_objects)
        if "arguments" in config:
            config["arguments"] = deserialize_keras_object(config["arguments"],
                                                           custom_objects=custom_objects)
        return cls(**config)


def _load_function(record: dict, layer_name: str, key: str, custom_objects):
    try:
        return deserialize_keras_object(record, custom_objects=custom_objects)
    except ValueError:
        if record.get("class_name") != "function":
            raise
        fn = record.get("config")
        raise ValueError(
            f"Could not locate function {fn!r}, the {key} of Lambda layer '{layer_name}': it "
            "is neither lamina's nor registered. If the file is yours and this is your "
            "function, pass it to the loader (`load_model(path, custom_objects="
            f"{{{fn!r}: {fn}}})`) or decorate its definition with "
            "`@keras.saving.register_keras_serializable()` before saving and loading.") from None


def _function_config(fn):
    if lambda_code.is_lambda(fn):
        return lambda_code.dump_lambda(fn)
    if isinstance(fn, types.FunctionType):
        return serialize_function(fn, record=True)
    return _ser(fn)


def _named_parameters(function) -> set:
    """The names of ``function``'s positional-or-keyword parameters (the ones Keras looks
    for ``mask`` and ``training`` among); empty when it has no inspectable signature."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD}
