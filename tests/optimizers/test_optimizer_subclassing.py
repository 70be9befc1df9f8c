"""A Keras-style custom optimizer (build + update_step) gives Keras's numbers in lamina."""

import jax
import keras
import numpy as np
import pytest
from optimizer_harness import NAMES, gradients, initial_values

import lamina.optimizers as lo
from lamina.state import Variable


def make_custom(base):
    """The same subclass source, on Keras's or lamina's Optimizer."""

    class Custom(base):
        def __init__(self, learning_rate=0.1, momentum=0.9, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)
            self.momentum = momentum

        def build(self, variables):
            if self.built:
                return
            super().build(variables)
            self.ms, self.scales = self.add_optimizer_variables(
                variables, ["m", "scale"], initializer=["zeros", "ones"])
            self.count = self.add_variable((), name="count")

        def update_step(self, gradient, variable, learning_rate):
            index = self._get_variable_index(variable)
            m, scale = self.ms[index], self.scales[index]
            step = (self.iterations + 1) * 1.0
            self.assign(m, m * self.momentum - gradient * learning_rate / step)
            self.assign(scale, scale * 0.5 + 0.5)
            self.assign_add(variable, m * scale)
            self.assign_add(self.count, 1.0)

    return Custom


@pytest.mark.parametrize("weight_decay", [None, 0.1])
def test_custom_subclass_matches_keras(weight_decay):
    theirs = make_custom(keras.optimizers.Optimizer)(weight_decay=weight_decay, name="c")
    ours = make_custom(lo.Optimizer)(weight_decay=weight_decay, name="c")
    kv = [keras.Variable(v, name=n) for v, n in zip(initial_values(), NAMES)]
    lv = [Variable(v, name=n) for v, n in zip(initial_values(), NAMES)]
    for s in range(3):
        theirs.apply_gradients(zip(gradients(s), kv))
        ours.apply_gradients(zip(gradients(s), lv))
    for a, b in zip(lv, kv):
        np.testing.assert_allclose(np.asarray(a.value), np.asarray(b.value), rtol=1e-5, atol=1e-6)
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    for a, b in zip(ours.variables, theirs.variables):
        np.testing.assert_allclose(np.asarray(a.value), np.asarray(b.value), rtol=1e-5, atol=1e-6)
    assert float(ours.count) == 6.0

    # The pure step, jitted, continues from the held state exactly like apply_gradients.
    state, params = ours.state, [v.value for v in lv]
    new_params, new_state = jax.jit(ours.apply)(state, gradients(3), params)
    theirs.apply_gradients(zip(gradients(3), kv))
    for a, b in zip(new_params, kv):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b.value), rtol=1e-5, atol=1e-6)
    assert float(new_state["custom"][-1]) == 8.0


def test_missing_update_step_is_reported():
    class NoStep(lo.Optimizer):
        pass

    opt = NoStep(learning_rate=0.1)
    with pytest.raises(NotImplementedError, match="update_step"):
        opt.apply_gradients(zip(gradients(0), [Variable(v) for v in initial_values()]))
