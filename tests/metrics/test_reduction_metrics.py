"""Mean, Sum, MeanMetricWrapper and the Metric base class (stateful and functional APIs)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _metrics_testlib import assert_close, keras

import lamina.metrics as lm

VALUE_CASES = [
    ((6,), None),
    ((6,), (6,)),
    ((6,), (6, 1)),
    ((6, 3), (6,)),
    ((6, 3), (6, 3)),
    ((6, 3, 2), (6, 3)),
    ((), None),
    ((), ()),
]


@pytest.mark.parametrize("cls_name", ["Mean", "Sum"])
@pytest.mark.parametrize("values_shape,sw_shape", VALUE_CASES)
def test_mean_sum_match_keras(cls_name, values_shape, sw_shape):
    rng = np.random.default_rng(len(values_shape) * 7 + (len(sw_shape) if sw_shape else 0))
    ours, theirs = getattr(lm, cls_name)(), getattr(keras.metrics, cls_name)()
    for _ in range(2):
        values = rng.normal(size=values_shape).astype("float32")
        sw = None if sw_shape is None else rng.uniform(0.1, 2, sw_shape).astype("float32")
        ours.update_state(values, sample_weight=sw)
        theirs.update_state(values, sample_weight=sw)
        assert_close(ours.result(), theirs.result())
    for a, e in zip(ours.variables, theirs.variables):
        assert a.path == e.path
        assert_close(a.value, e.value)


def test_call_updates_and_returns_result():
    m = lm.Mean()
    assert_close(m([1.0, 3.0]), 2.0)
    assert_close(m(6.0), 10.0 / 3.0)
    m.reset_state()
    assert_close(m.result(), 0.0)  # empty: no NaN
    assert [np.asarray(v.value).item() for v in m.variables] == [0.0, 0.0]


def test_integer_values_are_cast():
    m = lm.Mean()
    m.update_state(np.array([1, 2], "int32"))
    assert m.result().dtype == jnp.float32
    assert_close(m.result(), 1.5)


def test_dtype_argument():
    m = lm.Mean(dtype="float16")
    assert m.dtype == "float16" and all(v.dtype == "float16" for v in m.variables)
    assert m.get_config() == keras.metrics.Mean(dtype="float16").get_config()
    assert lm.Mean(dtype="mixed_float16").get_config() == keras.metrics.Mean(
        dtype="mixed_float16").get_config()


def test_mean_metric_wrapper_with_kwargs():
    def scaled_error(y_true, y_pred, scale=1.0):
        return scale * jnp.mean(jnp.abs(jnp.asarray(y_true) - jnp.asarray(y_pred)), axis=-1)

    rng = np.random.default_rng(0)
    yt, yp = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    sw = rng.uniform(size=(5,))
    ours = lm.MeanMetricWrapper(scaled_error, name="se", scale=2.0)
    theirs = keras.metrics.MeanMetricWrapper(scaled_error, name="se", scale=2.0)
    ours.update_state(yt, yp, sw)
    theirs.update_state(yt, yp, sw)
    assert_close(ours.result(), theirs.result())
    assert ours.get_config() == theirs.get_config()
    with pytest.raises(TypeError, match="callable"):
        lm.MeanMetricWrapper("not a function")


def test_stateless_api_is_pure_and_jits_once():
    m = lm.Mean()
    traces = []

    @jax.jit
    def step(state, values, sw):
        traces.append(1)
        state = m.stateless_update_state(state, values, sample_weight=sw)
        return state, m.stateless_result(state)

    state = m.stateless_reset_state()
    rng = np.random.default_rng(1)
    ref = keras.metrics.Mean()
    for _ in range(3):
        v, sw = rng.normal(size=(4, 2)).astype("float32"), rng.uniform(size=4).astype("float32")
        state, result = step(state, v, sw)
        ref.update_state(v, sw)
        assert_close(result, ref.result())
    assert len(traces) == 1
    assert [np.asarray(v.value).item() for v in m.variables] == [0.0, 0.0]


def test_stateless_update_runs_under_scan():
    # Several batches per compiled call (steps_per_execution) carry the state in a scan.
    m, ref = lm.Mean(), keras.metrics.Mean()
    values = np.random.default_rng(2).normal(size=(4, 5)).astype("float32")

    def body(state, batch):
        return m.stateless_update_state(state, batch), None

    state, _ = jax.lax.scan(body, m.stateless_reset_state(), values)
    for batch in values:
        ref.update_state(batch)
    assert_close(m.stateless_result(state), ref.result())


def test_stateless_reset_returns_initial_values_without_touching_state():
    m = lm.Sum()
    m.update_state([1.0, 2.0])
    init = m.stateless_reset_state()
    assert_close(init[0], 0.0)
    assert_close(m.result(), 3.0)
    assert_close(m.stateless_result([jnp.asarray(7.0)]), 7.0)


def test_stateless_state_length_is_checked():
    m = lm.Mean()
    with pytest.raises(ValueError, match="2 values"):
        m.stateless_update_state([jnp.zeros(())], [1.0])
    with pytest.raises(ValueError, match="mean/total"):
        m.stateless_result([])


class _TruePositiveCount(lm.Metric):
    """A user-style custom metric, written as in Keras's guide."""

    def __init__(self, name="tp_count", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")
        self.inner = lm.Sum(name="inner_sum")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = jnp.logical_and(jnp.asarray(y_true) > 0.5, jnp.asarray(y_pred) > 0.5)
        values = values.astype(self.dtype)
        self.true_positives.assign(self.true_positives + jnp.sum(values))
        self.inner.update_state(jnp.asarray(y_pred))

    def result(self):
        return self.true_positives


def test_custom_metric_subclass_and_nested_metrics():
    m = _TruePositiveCount()
    assert [v.path for v in m.variables] == ["tp_count/tp", "inner_sum/total"]
    yt, yp = np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.2])
    state = jax.jit(m.stateless_update_state)(m.stateless_reset_state(), yt, yp)
    assert_close(state[0], 1.0)
    assert_close(state[1], 1.9)
    assert_close(m.stateless_result(state), 1.0)
    m.update_state(yt, yp)
    assert_close(m.result(), 1.0)
    m.reset_state()
    assert_close(m.inner.result(), 0.0)


def test_not_implemented_base_methods():
    m = lm.Metric(name="base")
    with pytest.raises(NotImplementedError, match="update_state"):
        m.update_state(1.0)
    with pytest.raises(NotImplementedError, match="result"):
        m.result()


def test_default_names_are_unique_like_keras():
    a, b = lm.Precision(), lm.Precision()
    assert a.name.startswith("precision") and b.name != a.name
    assert lm.Mean().name == lm.Mean().name == "mean"
    assert repr(lm.Mean(name="m2")) == repr(keras.metrics.Mean(name="m2"))
