"""AdditiveAttention: Bahdanau-style attention over [query, value(, key)]."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.attention.attention import Attention


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention, as ``keras.layers.AdditiveAttention``.

    Scores are ``sum(scale * tanh(query + key), axis=-1)`` for every query/key pair,
    with ``scale`` a learned vector of the feature size when ``use_scale``.

    Args:
        use_scale: learn the per-feature ``scale`` vector (glorot_uniform init).
        dropout: dropout rate on the attention weights (training only).

    Call arguments are those of :class:`Attention`.
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        dim = input_shape[0][-1]
        if self.use_scale:
            if dim is None:
                raise ValueError(f"Layer '{self.name}' (AdditiveAttention): the last "
                                 "dimension of the query must be known, received shape "
                                 f"{tuple(input_shape[0])}.")
            self.scale = self.add_weight(name="scale", shape=(dim,),
                                         initializer="glorot_uniform", trainable=True)
        self.built = True

    def _calculate_scores(self, query, key):
        pairs = jnp.tanh(jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3))
        scale = self.scale.value.astype(query.dtype) if self.use_scale else 1.0
        return jnp.sum(scale * pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
