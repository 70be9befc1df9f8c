"""ReversibleEmbedding: an embedding that can also project hidden states back to
vocabulary logits (tied or separate weights), as used by language models."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.core import Embedding


class ReversibleEmbedding(Embedding):
    """An ``Embedding`` whose call with ``reverse=True`` maps ``(..., output_dim)``
    hidden states to ``(..., input_dim)`` logits.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
        embeddings_constraint, mask_zero: as for ``Embedding``.
        tie_weights: reverse with the transposed ``embeddings`` (default); if False,
            with a separate trainable ``reverse_embeddings`` of shape
            ``(output_dim, input_dim)``.
        reverse_dtype: dtype of the reverse projection (default the compute dtype).
        logit_soft_cap: if set, reverse logits become
            ``tanh(logits / logit_soft_cap) * logit_soft_cap``.

    Call arguments:
        inputs: integer indices, or hidden states with ``reverse=True``.
        reverse: project back to the vocabulary instead of embedding.

    As in Keras, the outputs carry no mask (``compute_mask`` returns None).
    """

    def __init__(self, input_dim, output_dim, tie_weights=True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim), initializer=self.embeddings_initializer,
                name="reverse_embeddings", trainable=True)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = (self.embeddings.value.T if self.tie_weights
                  else self.reverse_embeddings.value)
        if self.reverse_dtype is not None:
            inputs = inputs.astype(self.reverse_dtype)
            kernel = kernel.astype(self.reverse_dtype)
        else:
            kernel = kernel.astype(self.compute_dtype)
        logits = jnp.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = jnp.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                       "logit_soft_cap": self.logit_soft_cap})
        return config
