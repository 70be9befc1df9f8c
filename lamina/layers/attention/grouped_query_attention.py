"""GroupedQueryAttention: attention where groups of query heads share key/value heads."""

from __future__ import annotations

import math

import jax.numpy as jnp

from lamina import constraints, initializers, regularizers
from lamina import random as lrandom
from lamina.layers.attention import attention_utils as au
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.layer import Layer
from lamina.saving.saveable import StatelessPart, attribute_order
from lamina.saving.serialization import serialize_keras_object as _ser

# Public aliases of the projections; Keras has only the private attributes.
_PUBLIC_PROJECTIONS = frozenset({"query_dense", "key_dense", "gate_dense", "value_dense",
                                 "output_dense"})


class GroupedQueryAttention(Layer):
    """Grouped-query attention (Ainslie et al., 2023), as ``keras.layers.GroupQueryAttention``.

    ``num_query_heads`` query heads share ``num_key_value_heads`` key/value heads
    (each shared by ``num_query_heads // num_key_value_heads`` query heads). The
    projections are EinsumDense layers ``query``, ``key``, (``gate``), ``value`` and
    ``attention_output`` laid out as in Keras.

    Args:
        head_dim: size of each attention head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key/value heads (divides ``num_query_heads``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        sliding_window: optional int: attend only to keys less than this many
            positions away.
        flash_attention: True to ask for the cuDNN fused kernel (falls back to XLA).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: for the
            projections (the activity regularizer also applies to the output).
        use_gate: gate the attention output by a sigmoid projection of the query.
        seed: optional int for the dropout keys.

    Call arguments are those of :class:`MultiHeadAttention`; inputs have rank 3
    ``(batch, seq, features)``, and ``query`` and ``value`` share the feature size.
    """

    # Keras exports this class as GroupQueryAttention and writes that name in configs;
    # weight paths and default names follow the Python name, as in Keras.
    _keras_export_name = "GroupQueryAttention"

    supports_masking = True

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`. "
                             f"Received: num_query_heads={num_query_heads}, "
                             f"num_key_value_heads={num_key_value_heads}")
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = dropout
        self.use_bias = use_bias
        self.use_gate = use_gate
        if sliding_window is not None and (not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        self.sliding_window = sliding_window
        self._flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(self.head_dim))
        if self._flash_attention and self.dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             "Please set dropout to 0.0 to use flash attention.")

    def _dense(self, equation, output_shape, bias_axes, name, activation=None) -> EinsumDense:
        # Each projection gets its own initializer instance, as in Keras.
        k_init = self.kernel_initializer.__class__.from_config(
            self.kernel_initializer.get_config())
        b_init = self.bias_initializer.__class__.from_config(self.bias_initializer.get_config())
        return EinsumDense(equation, output_shape=output_shape,
                           bias_axes=bias_axes if self.use_bias else None,
                           activation=activation, name=name, kernel_initializer=k_init,
                           bias_initializer=b_init, kernel_regularizer=self.kernel_regularizer,
                           bias_regularizer=self.bias_regularizer,
                           activity_regularizer=self.activity_regularizer,
                           kernel_constraint=self.kernel_constraint,
                           bias_constraint=self.bias_constraint, dtype=self.dtype_policy)

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        for what, shape in (("query", query_shape), ("value", value_shape),
                            ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(f"Layer '{self.name}' (GroupedQueryAttention) expects `{what}` "
                                 f"of rank 3 (batch, seq, features), received shape {shape}.")
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(f"Layer '{self.name}': the last dimension of `query_shape` and "
                             f"`value_shape` must be equal, but are {query_shape[-1]}, "
                             f"{value_shape[-1]}. Received: query_shape={query_shape}, "
                             f"value_shape={value_shape}")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"Layer '{self.name}': all dimensions of `value` and `key`, "
                             f"except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        self.feature_dim = query_shape[-1]
        nq, nkv, h = self.num_query_heads, self.num_key_value_heads, self.head_dim
        # Attribute order is weight order: query, key, (gate), value, attention_output.
        self.query_dense = self._dense("bqm,muh->bquh", (None, nq, h), "uh", "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._dense("bkm,mvh->bkvh", (None, nkv, h), "vh", "key")
        self.key_dense.build(key_shape)
        if self.use_gate:
            self.gate_dense = self._dense("bqm,muh->bquh", (None, nq, h), "uh", "gate",
                                          activation="sigmoid")
            self.gate_dense.build(query_shape)
        self.value_dense = self._dense("bkm,mvh->bkvh", (None, nkv, h), "vh", "value")
        self.value_dense.build(value_shape)
        self.output_dense = self._dense("bquh,uhm->bqm", (None, self.feature_dim), "m",
                                        "attention_output")
        self.output_dense.build((None, None, nq, h))
        self._query_dense, self._key_dense = self.query_dense, self.key_dense
        self._value_dense, self._output_dense = self.value_dense, self.output_dense
        if self.use_gate:
            self._gate_dense = self.gate_dense
        self.built = True

    def _saveable_children(self) -> list:
        # Keras holds the projections as private attributes only, and the softmax and
        # the dropout as (variable-free) sublayers.
        parts = [("_dropout_layer", StatelessPart("dropout")), ("_softmax", StatelessPart("softmax"))]
        children = [kv for kv in super()._saveable_children() if kv[0] not in _PUBLIC_PROJECTIONS]
        return sorted(children + parts, key=lambda kv: attribute_order(kv[0]))

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           use_causal_mask=False, return_attention_scores=False):
        """Attention of projected ``(B, T, heads, head_dim)`` tensors; (output, scores)."""
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash "
                             "attention is enabled. Please disable flash attention to "
                             "access attention scores.")
        if not (self.dropout > 0.0 or return_attention_scores or query.ndim != 4):
            out = au.fused_attention(query, key, value, attention_mask,
                                     self._inverse_sqrt_head_dim, bool(use_causal_mask),
                                     self._flash_attention)
            return out, None
        if use_causal_mask:
            causal = au.causal_mask(query.shape[1], value.shape[1])
            attention_mask = causal if attention_mask is None else (
                attention_mask.astype(bool) & causal)
        query = query * jnp.asarray(self._inverse_sqrt_head_dim, query.dtype)
        scores = jnp.einsum("bquh,bkuh->buqk", query, key)
        if attention_mask is not None:
            attention_mask = au.expand_mask(attention_mask, scores.ndim, -3)
        scores = au.masked_softmax(scores, attention_mask, -1)
        probs = scores
        if training and self.dropout > 0.0:
            probs = lrandom.dropout(scores, self.dropout,
                                    seed=lrandom.draw_key(self, self.seed))
        return jnp.einsum("buqk,bkuh->bquh", probs, value), scores

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
                       and self.sliding_window is None
                       and type(self)._compute_attention
                       is GroupedQueryAttention._compute_attention)
        if causal_only:
            attention_mask = None
        else:
            attention_mask = au.combine_attention_masks(
                query.shape[1], value.shape[1], query_mask=query_mask, value_mask=value_mask,
                key_mask=key_mask, attention_mask=attention_mask,
                use_causal_mask=use_causal_mask, sliding_window=self.sliding_window)
        gate = self.gate_dense(query) if self.use_gate else None
        query = self.query_dense(query)
        key = jnp.repeat(self.key_dense(key), self.num_repeats, axis=2)
        value = jnp.repeat(self.value_dense(value), self.num_repeats, axis=2)
        out, scores = self._compute_attention(query, key, value, attention_mask, training,
                                              use_causal_mask=causal_only,
                                              return_attention_scores=return_attention_scores)
        if gate is not None:
            out = out * gate
        out = self.output_dense(out)
        if return_attention_scores:
            return out, scores
        return out

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_config(self):
        config = super().get_config()
        config.update({
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": _ser(self.kernel_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "kernel_regularizer": _ser(self.kernel_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "activity_regularizer": _ser(self.activity_regularizer),
            "kernel_constraint": _ser(self.kernel_constraint),
            "bias_constraint": _ser(self.bias_constraint),
            "seed": self.seed,
        })
        return config


GroupQueryAttention = GroupedQueryAttention
