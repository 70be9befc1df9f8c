"""EinsumDense: a dense layer whose contraction is an arbitrary einsum equation."""

from __future__ import annotations

import copy
import re

import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_keras_object as _ser

# The three equation forms Keras accepts; "..." is replaced by "0" before matching.
_PLAIN = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT_ELIDED = re.compile(r"^0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$")
_RIGHT_ELIDED = re.compile(r"^([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$")


class EinsumShapes:
    """What an einsum equation implies for a given input shape.

    Attributes:
        kernel_shape: the kernel's shape (one entry per weight-spec letter).
        bias_shape: the bias's shape, or None without ``bias_axes``.
        output_shape: the full output shape, batch dimension included.
        input_axes, output_axes: kernel axes that contract with the input and the
            ones that appear in the output (they define the initializer's fans).
    """

    def __init__(self, kernel_shape, bias_shape, output_shape, input_axes, output_axes):
        self.kernel_shape = kernel_shape
        self.bias_shape = bias_shape
        self.output_shape = output_shape
        self.input_axes = input_axes
        self.output_axes = output_axes


def analyze_einsum(equation: str, bias_axes: str | None, input_shape, partial_output_shape
                   ) -> EinsumShapes:
    """Resolves the kernel, bias and output shapes of an EinsumDense layer.

    Args:
        equation: ``"ab,bc->ac"``, ``"...b,bc->...c"`` or ``"ab...,bc->ac..."``.
        bias_axes: letters of the output spec that get a bias, or None.
        input_shape: the input shape, batch dimension included.
        partial_output_shape: the output shape without the batch dimension (and
            without the dimensions covered by ``...``); None entries are free.

    Raises:
        ValueError: for an equation of another form, letters that appear only once,
            or input and output sizes that disagree on a shared letter.
    """
    marked = equation.replace("...", "0")
    left = False
    match = _PLAIN.match(marked)
    if match is None:
        match = _LEFT_ELIDED.match(marked)
        left = match is not None
    if match is None:
        match = _RIGHT_ELIDED.match(marked)
    if match is None:
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                         "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    in_spec, w_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)

    # The full output: batch, then (left "...") the elided input dims, then the
    # given partial shape, then (right "...") the elided trailing input dims.
    output_shape = [input_shape[0]]
    if left and elided > 0:
        output_shape += list(input_shape[1:elided])
    output_shape += list(partial_output_shape)
    if not left and elided > 0:
        output_shape += list(input_shape[len(input_shape) - elided:])

    offset = elided if left else 0
    in_pos = {c: i + offset for i, c in enumerate(in_spec)}
    out_pos = {c: i + offset for i, c in enumerate(out_spec)}
    for c in in_spec:
        if c in out_pos:
            want, got = output_shape[out_pos[c]], input_shape[in_pos[c]]
            if want is not None and want != got:
                raise ValueError(f"Input shape and output shape do not match at shared "
                                 f"dimension '{c}'. Input shape is {got}, and output shape "
                                 f"is {want}.")
    for c in out_spec:
        if c not in in_spec and c not in w_spec:
            raise ValueError(f"Dimension '{c}' was specified in the output '{out_spec}' but "
                             f"has no corresponding dim in the input spec '{in_spec}' or "
                             f"weight spec '{w_spec}'.")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, c in enumerate(w_spec):
        if c in out_pos:
            kernel_shape.append(output_shape[out_pos[c]])
            output_axes.append(i)
        elif c in in_pos:
            kernel_shape.append(input_shape[in_pos[c]])
            input_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{c}' did not have a match in either the input "
                             f"spec '{in_spec}' or the output spec '{out_spec}'. For this "
                             "layer, the weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the "
                                 f"output spec '{out_spec}'")
        # The bias spans the output from its first biased axis to the end, with size-1
        # entries (broadcast) on the axes without a bias.
        first = min(out_spec.find(c) for c in bias_axes)
        bias_shape = [output_shape[out_pos[c]] if c in bias_axes else 1
                      for c in out_spec[first:]]
        if not left:
            bias_shape += [1] * max(elided, 0)
    return EinsumShapes(kernel_shape, bias_shape, output_shape, input_axes, output_axes)


class EinsumDense(Layer):
    """A dense layer computing ``activation(einsum(equation, inputs, kernel) + bias)``.

    Args:
        equation: the einsum equation between the input (first operand) and the
            kernel (second), e.g. ``"ab,bc->ac"`` (a Dense layer) or
            ``"abc,cde->abde"``; ``...`` may stand for leading or trailing axes.
        output_shape: the output shape without the batch axis (an int for a rank-2
            output); None for dimensions inferred from the input.
        activation: activation name or function (default linear).
        bias_axes: letters of the output spec to add a bias over (None: no bias).
        kernel_initializer, bias_initializer: default glorot_uniform and zeros.
        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint:
            optional.
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense 'equation' must be a string, received {equation!r}.")
        if lora_rank:
            raise NotImplementedError("EinsumDense(lora_rank=...) (LoRA) is not supported by "
                                      "lamina.")
        if quantization_config is not None or gptq_unpacked_column_size:
            raise NotImplementedError("Quantized EinsumDense layers are not supported by "
                                      "lamina.")
        self.equation = equation
        if isinstance(output_shape, int):
            self.partial_output_shape = (output_shape,)
        else:
            self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = None
        self.lora_alpha = None
        self.lora_enabled = False
        self.quantization_config = None

    def _kernel_initializer_for(self, shapes: EinsumShapes):
        # A variance-scaling initializer without explicit axes takes its fans from
        # the axes the equation contracts and produces, as Keras does; a copy keeps
        # the layer's own initializer (and its config) unchanged.
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (
                init.input_axes is None or init.output_axes is None):
            init = copy.copy(init)
            init.input_axes = list(shapes.input_axes)
            init.output_axes = list(shapes.output_axes)
        return init

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        try:
            shapes = analyze_einsum(self.equation, self.bias_axes, input_shape,
                                    self.partial_output_shape)
        except (ValueError, IndexError) as e:
            raise ValueError(f"Layer '{self.name}' (EinsumDense, equation "
                             f"'{self.equation}') cannot be built on inputs with shape "
                             f"{input_shape}: {e}") from e
        for what, shape in (("kernel", shapes.kernel_shape), ("bias", shapes.bias_shape)):
            if shape is not None and any(d is None for d in shape):
                raise ValueError(f"Layer '{self.name}' (EinsumDense): the {what} shape "
                                 f"{tuple(shape)} implied by equation '{self.equation}', "
                                 f"input shape {input_shape} and output_shape "
                                 f"{self.partial_output_shape} has unknown dimensions.")
        self.input_spec = InputSpec(ndim=len(input_shape))
        self.kernel = self.add_weight(shape=tuple(shapes.kernel_shape),
                                      initializer=self._kernel_initializer_for(shapes),
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if shapes.bias_shape is not None:
            self.bias = self.add_weight(shape=tuple(shapes.bias_shape),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    def call(self, inputs, training=None):
        x = jnp.einsum(self.equation, inputs, self.kernel.value.astype(inputs.dtype))
        if self.bias is not None:
            x = x + self.bias.value.astype(x.dtype)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(analyze_einsum(self.equation, self.bias_axes, tuple(input_shape),
                                    self.partial_output_shape).output_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": _ser(self.kernel_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "kernel_regularizer": _ser(self.kernel_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "activity_regularizer": _ser(self.activity_regularizer),
            "kernel_constraint": _ser(self.kernel_constraint),
            "bias_constraint": _ser(self.bias_constraint),
            "quantization_config": None,
        })
        return config
