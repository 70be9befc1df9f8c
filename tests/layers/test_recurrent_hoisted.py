"""Recurrent layers whose input projection runs before the time loop (inputs wider than
``gates * units``), against Keras 3 and against the per-step path."""

import jax.numpy as jnp
import numpy as np
import pytest
from _recurrent_testlib import MASK, RNG, B, T, assert_close, compare, grads_vs_keras, pair

WIDE = 12  # input features: wider than 4 * 2 (LSTM), 3 * 2 (GRU), 2 (SimpleRNN)
XW = RNG.normal(size=(B, T, WIDE)).astype("float32")
LAYERS = [("LSTM", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {})]


def test_width_rule_decides():
    _, lam = pair("LSTM", 2, x=XW)
    assert lam.cell._hoists_projection(WIDE, (None, None))
    assert not lam.cell._hoists_projection(8, (None, None))
    _, gated = pair("LSTM", 2, x=XW, dropout=0.2, recurrent_dropout=0.2)
    # Per-gate input masks (implementation 1) keep the projection in the loop.
    assert not gated.cell._hoists_projection(WIDE, (jnp.ones((4, B, WIDE)), None))


@pytest.mark.parametrize("name,kw", LAYERS)
def test_hoisted_outputs_and_gradients_match_keras(name, kw):
    k, lam = pair(name, 2, x=XW, return_sequences=True, return_state=True, go_backwards=True,
                  **kw)
    compare(k, lam, XW, mask=MASK)
    grads_vs_keras(k, lam, XW, mask=MASK)


def test_hoisted_dropout_equals_per_step_path():
    """Same seed, same masks: the hoisted and the per-step loops give the same outputs."""
    _, hoisting = pair("LSTM", 2, x=XW, dropout=0.4, return_sequences=True, seed=5)
    _, per_step = pair("LSTM", 2, x=XW, dropout=0.4, return_sequences=True, seed=5)
    per_step.set_weights(hoisting.get_weights())
    per_step.cell._hoists_projection = lambda input_dim, masks: False
    per_step.cell._rng_id = hoisting.cell._rng_id  # the same dropout keys
    tv = [v.value for v in hoisting.trainable_variables]

    def run(layer, training):
        return np.asarray(layer.stateless_call(tv, [], XW, training=training, seed=3)[0])

    hoisted = run(hoisting, True)
    assert not np.allclose(hoisted, run(hoisting, False), atol=1e-3)  # dropout was active
    assert_close(hoisted, run(per_step, True))
