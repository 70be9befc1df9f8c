"""MultiHeadAttention, with EinsumDense projections laid out exactly as Keras's."""

from __future__ import annotations

import math

import jax.numpy as jnp

from lamina import constraints, initializers, regularizers
from lamina import random as lrandom
from lamina.layers.attention import attention_utils as au
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.layer import Layer
from lamina.layers.recurrent.rnn import prefix_weight_paths
from lamina.saving.saveable import StatelessPart, attribute_order
from lamina.saving.serialization import serialize_keras_object as _ser


def _positive_int(value, name: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        extra = " or `None`" if allow_none else ""
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer{extra}. Received: {name}={value!r}")


def _clone(initializer):
    # Each projection gets its own initializer instance (an unseeded one then draws
    # different values for each kernel), as Keras does.
    return initializer.__class__.from_config(initializer.get_config())


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as ``keras.layers.MultiHeadAttention``.

    ``query``, ``key`` and ``value`` are projected to ``num_heads`` heads with
    EinsumDense layers named ``query``, ``key``, ``value`` (and ``gate`` when
    ``use_gate``); the scaled dot-product attention of each head is combined and
    projected back by ``attention_output``. Weights are ordered and shaped as in
    Keras, so ``get_weights``/``set_weights`` interchange with it.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (int or tuple); default the query's
            last dimension.
        attention_axes: axes (of the query) attention runs over; default all axes
            but batch, heads and features.
        sliding_window: optional int: each query attends only to keys less than this
            many positions away.
        flash_attention: True to ask for the cuDNN fused kernel (falls back to XLA).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: passed to the
            projections.
        use_gate: add a sigmoid-gated projection of the query multiplying the
            attention output before the output projection.
        seed: optional int for the dropout keys.

    Call arguments:
        query: ``(B, T, dim)`` (or more axes); value: ``(B, S, dim)``; key: optional,
            defaults to ``value``.
        query_mask, value_mask, key_mask: optional boolean ``(B, T)`` / ``(B, S)``
            padding masks (True = keep).
        attention_mask: optional boolean ``(B, T, S)`` mask (True = may attend).
        return_attention_scores: also return the ``(B, heads, T, S)`` probabilities.
        training: whether dropout is applied.
        use_causal_mask: forbid attending to later positions.
    """

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        _positive_int(num_heads, "num_heads")
        _positive_int(key_dim, "key_dim")
        _positive_int(value_dim, "value_dim", allow_none=True)
        super().__init__(**kwargs)
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._use_gate = use_gate
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError as e:
                raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, "
                                 "the `output_shape` should be of type tuple, list, or "
                                 "int.") from e
        self._output_shape = output_shape
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        # Applied by the projections, not to this layer's output (as in Keras).
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError("`attention_axes` must be an int, list, or tuple. "
                             f"Received: attention_axes={attention_axes}")
        self._attention_axes = attention_axes
        _positive_int(sliding_window, "sliding_window", allow_none=True)
        self._sliding_window = sliding_window
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        if self._flash_attention and self._dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             "Please set dropout to 0.0 to use flash attention.")

    # -- read-only views of the constructor arguments --------------------------
    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    def _sublayer_kwargs(self) -> dict:
        return dict(kernel_initializer=_clone(self._kernel_initializer),
                    bias_initializer=_clone(self._bias_initializer),
                    kernel_regularizer=self._kernel_regularizer,
                    bias_regularizer=self._bias_regularizer,
                    activity_regularizer=self._activity_regularizer,
                    kernel_constraint=self._kernel_constraint,
                    bias_constraint=self._bias_constraint, dtype=self.dtype_policy)

    def _projection(self, input_rank: int, dims: list, name: str, activation=None,
                    bound_dims: int = 1) -> EinsumDense:
        equation, bias_axes, out_rank = au.projection_equation(input_rank - bound_dims,
                                                               bound_dims, len(dims))
        return EinsumDense(equation, output_shape=[None] * (out_rank - 1 - len(dims)) + dims,
                           bias_axes=bias_axes if self._use_bias else None,
                           activation=activation, name=name, **self._sublayer_kwargs())

    def _check_shapes(self, query_shape, value_shape, key_shape) -> None:
        for what, shape in (("query", query_shape), ("value", value_shape),
                            ("key", key_shape)):
            if len(shape) < 3:
                raise ValueError(f"Layer '{self.name}' (MultiHeadAttention) expects `{what}` "
                                 f"of rank >= 3 (batch, ..., features), received shape "
                                 f"{tuple(shape)}.")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"Layer '{self.name}': all dimensions of `value` and `key`, "
                             f"except the last one, must be equal. Received: "
                             f"value_shape={tuple(value_shape)} and "
                             f"key_shape={tuple(key_shape)}")

    def _saveable_children(self) -> list:
        # Keras holds the softmax and the dropout as (variable-free) sublayers.
        parts = [("_dropout_layer", StatelessPart("dropout")), ("_softmax", StatelessPart("softmax"))]
        return sorted(super()._saveable_children() + parts, key=lambda kv: attribute_order(kv[0]))

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        heads = self._num_heads
        # Attribute order is weight order: query, key, (gate), value, attention_output.
        self.query_dense = self._projection(len(query_shape), [heads, self._key_dim], "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(len(key_shape), [heads, self._key_dim], "key")
        self.key_dense.build(key_shape)
        if self._use_gate:
            self.gate_dense = self._projection(len(query_shape), [heads, self._value_dim],
                                               "gate", activation="sigmoid")
            self.gate_dense.build(query_shape)
        self.value_dense = self._projection(len(value_shape), [heads, self._value_dim],
                                            "value")
        self.value_dense.build(value_shape)

        rank = len(value_shape) + 1  # rank of the projected tensors
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a
                                         for a in self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = (
            au.attention_equations(rank, self._attention_axes))
        n = len(self._attention_axes)
        self._softmax_axes = tuple(range(scores_rank - n, scores_rank))

        out_dims = list(self._output_shape) if self._output_shape else [query_shape[-1]]
        self.output_dense = self._projection(len(query_shape) + 1, out_dims, "attention_output",
                                             bound_dims=2)
        projected = list(self.query_dense.compute_output_shape(query_shape))
        projected[-1] = self._value_dim
        self.output_dense.build(tuple(projected))
        # Keras's private names, for code that reaches for them.
        self._query_dense, self._key_dense = self.query_dense, self.key_dense
        self._value_dense, self._output_dense = self.value_dense, self.output_dense
        if self._use_gate:
            self._gate_dense = self.gate_dense
        # Keras builds the projections inside this layer's name scope, so their weights
        # are "<name>/query/kernel" and so on.
        for sub in self._sublayers_in_weight_order():
            prefix_weight_paths(self.name, sub)
        self.built = True

    def _sublayers_in_weight_order(self) -> list:
        gate = [self.gate_dense] if self._use_gate else []
        return [self.query_dense, self.key_dense, *gate, self.value_dense, self.output_dense]

    # -- computation ----------------------------------------------------------
    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        """Attention of projected ``(B, T, heads, key_dim)``-style tensors.

        Returns ``(attention_output, attention_scores)``; the scores are None on the
        fused path (taken when there is no dropout, no scores are asked for and the
        projections have rank 4), exactly when Keras takes it.
        """
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash "
                             "attention is enabled. Please disable flash attention to "
                             "access attention scores.")
        fused = not (self._dropout > 0.0 or return_attention_scores or query.ndim != 4)
        if fused:
            return self._fused_attention(query, key, value, attention_mask,
                                         bool(use_causal_mask)), None
        if use_causal_mask:
            causal = au.causal_mask(query.shape[1], value.shape[1])
            attention_mask = causal if attention_mask is None else (
                attention_mask.astype(bool) & causal)
        query = query * jnp.asarray(self._inverse_sqrt_key_dim, query.dtype)
        scores = jnp.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            attention_mask = au.expand_mask(attention_mask, scores.ndim,
                                            -len(self._attention_axes) * 2 - 1)
        scores = au.masked_softmax(scores, attention_mask, self._softmax_axes)
        probs = scores
        if training and self._dropout > 0.0:
            probs = lrandom.dropout(scores, self._dropout,
                                    seed=lrandom.draw_key(self, self.seed))
        out = jnp.einsum(self._combine_equation, probs, value)
        return out, scores

    def _fused_attention(self, query, key, value, attention_mask, is_causal):
        """The fused kernel on ``(B, T, N, H)`` projections, for any ``value_dim``.

        ``jax.nn.dot_product_attention`` wants one head size for query, key and value,
        while ``key_dim`` and ``value_dim`` may differ. Zero channels add nothing to a
        dot product and only give zero outputs, so the smaller head size is padded with
        zeros and the output is cut back to ``value_dim`` channels.
        """
        qk_dim, v_dim = query.shape[-1], value.shape[-1]
        if v_dim < qk_dim:
            value = jnp.pad(value, [(0, 0)] * 3 + [(0, qk_dim - v_dim)])
        elif v_dim > qk_dim:
            pad = [(0, 0)] * 3 + [(0, v_dim - qk_dim)]
            query, key = jnp.pad(query, pad), jnp.pad(key, pad)
        out = au.fused_attention(query, key, value, attention_mask,
                                 self._inverse_sqrt_key_dim, is_causal,
                                 self._flash_attention)
        return out[..., :v_dim] if v_dim < qk_dim else out

    def _convert_inputs(self, args, kwargs, **options):
        return au.convert_keeping_flags(super()._convert_inputs, args, kwargs, **options)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        return_attention_scores = bool(return_attention_scores)
        use_causal_mask = bool(use_causal_mask)
        if key is None:
            key = value
        causal_only = (use_causal_mask and query_mask is None and value_mask is None
                       and key_mask is None and attention_mask is None
                       and self._sliding_window is None
                       and type(self)._compute_attention is MultiHeadAttention._compute_attention)
        if causal_only:
            attention_mask = None
        else:
            attention_mask = au.combine_attention_masks(
                query.shape[1], value.shape[1], query_mask=query_mask, value_mask=value_mask,
                key_mask=key_mask, attention_mask=attention_mask,
                use_causal_mask=use_causal_mask, sliding_window=self._sliding_window)
        gate = self.gate_dense(query) if self._use_gate else None
        query = self.query_dense(query)
        key = self.key_dense(key)
        value = self.value_dense(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        out, scores = self._compute_attention(query, key, value, attention_mask, training,
                                              return_attention_scores, **extra)
        if gate is not None:
            out = out * gate
        out = self.output_dense(out)
        if return_attention_scores:
            return out, scores
        return out

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        """The output's shape: the query's, with ``output_shape`` as trailing dims."""
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"Layer '{self.name}': all dimensions of `value` and `key`, "
                             f"except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def compute_mask(self, inputs, previous_mask=None):
        # The output keeps the query's mask.
        return previous_mask

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": self._use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": _ser(self._kernel_initializer),
            "bias_initializer": _ser(self._bias_initializer),
            "kernel_regularizer": _ser(self._kernel_regularizer),
            "bias_regularizer": _ser(self._bias_regularizer),
            "activity_regularizer": _ser(self._activity_regularizer),
            "kernel_constraint": _ser(self._kernel_constraint),
            "bias_constraint": _ser(self._bias_constraint),
            "seed": self.seed,
        })
        return config
