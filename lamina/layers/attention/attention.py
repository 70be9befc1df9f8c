"""Attention: dot-product (Luong-style) attention over [query, value(, key)]."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina import random as lrandom
from lamina.layers.attention import attention_utils as au
from lamina.layers.layer import Layer


class Attention(Layer):
    """Dot-product attention layer, as ``keras.layers.Attention``.

    Scores are ``query @ key^T`` (``score_mode="dot"``) or
    ``sum(tanh(query + key))`` (``"concat"``); their softmax weights ``value``.

    Args:
        use_scale: learn a scalar ``scale`` the scores are multiplied by (for
            ``"concat"``, applied inside the tanh).
        score_mode: ``"dot"`` or ``"concat"`` (the latter adds a learned scalar
            ``concat_score_weight``).
        dropout: dropout rate on the attention weights (training only).
        seed: optional int for the dropout keys.

    Call arguments:
        inputs: list ``[query, value]`` or ``[query, value, key]`` of shapes
            ``(B, Tq, dim)``, ``(B, Tv, dim)``, ``(B, Tv, dim)``; key defaults to value.
        mask: list ``[query_mask, value_mask]`` of boolean ``(B, Tq)`` / ``(B, Tv)``
            masks; masked values get no weight, masked queries output zeros.
        training: whether dropout is applied.
        return_attention_scores: also return the ``(B, Tq, Tv)`` attention weights.
        use_causal_mask: forbid query position i from attending to values after i.
    """

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        if self.score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode}")
        self.scale = None
        self.concat_score_weight = None

    def _validate_inputs(self, inputs, mask=None) -> None:
        cls = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"Layer '{self.name}': {cls} layer must be called on a list of "
                             "inputs, namely [query, value] or [query, value, key]. "
                             f"Received: inputs={inputs}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"Layer '{self.name}': {cls} layer accepts inputs list of length "
                             "2 or 3, namely [query, value] or [query, value, key]. Received "
                             f"length: {len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"Layer '{self.name}': {cls} layer mask must be a list, "
                                 f"namely [query_mask, value_mask]. Received: mask={mask}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"Layer '{self.name}': {cls} layer accepts mask list of "
                                 f"length 2 or 3. Received: mask={mask}.")

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones",
                                         trainable=True)
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones", trainable=True)
        self.built = True

    def _calculate_scores(self, query, key):
        """Scores of shape ``(B, Tq, Tv)``."""
        scale = None if self.scale is None else self.scale.value.astype(query.dtype)
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores if scale is None else scores * scale
        pairs = jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3)
        if scale is not None:
            pairs = scale * pairs
        weight = self.concat_score_weight.value.astype(query.dtype)
        return weight * jnp.sum(jnp.tanh(pairs), axis=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """Masks and softmaxes ``scores``; returns ``(weights @ value, weights)``."""
        if scores_mask is not None:
            padding = jnp.logical_not(scores_mask)
            if padding.ndim == 2:
                padding = jnp.expand_dims(padding, -2)
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            # Subtracted (not replaced) as in Keras, so fully masked rows stay uniform.
            scores = jnp.where(padding, scores - big, scores)
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = lrandom.dropout(weights, self.dropout,
                                      seed=lrandom.draw_key(self, self.seed))
        return jnp.matmul(weights, value), weights

    def _calculate_score_mask(self, scores, v_mask, use_causal_mask):
        if not use_causal_mask:
            return v_mask
        causal = au.causal_mask(scores.shape[-2], scores.shape[-1])
        if v_mask is None:
            return causal
        return jnp.logical_and(jnp.expand_dims(v_mask, -2), causal)

    def _convert_inputs(self, args, kwargs, **options):
        return au.convert_keeping_flags(super()._convert_inputs, args, kwargs, **options)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        if v_mask is not None:
            v_mask = jnp.asarray(v_mask).astype(bool)
        scores = self._calculate_scores(q, k)
        scores_mask = self._calculate_score_mask(scores, v_mask, bool(use_causal_mask))
        out, weights = self._apply_scores(scores, v, scores_mask, training)
        if q_mask is not None:
            keep = jnp.expand_dims(jnp.asarray(q_mask).astype(bool), -1)
            out = jnp.where(keep, out, 0).astype(out.dtype)
        if return_attention_scores:
            return out, weights
        return out

    def compute_mask(self, inputs, previous_mask=None):
        self._validate_inputs(inputs, previous_mask)
        if previous_mask is None or previous_mask[0] is None:
            return None
        return jnp.asarray(previous_mask[0])

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode,
                       "dropout": self.dropout, "seed": self.seed})
        return config
