"""Shared helpers for the metric tests: data, Keras runs and the stateless/jit check."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import lamina.metrics as lm  # noqa: E402

RTOL, ATOL = 1e-5, 1e-6
N, C = 8, 4


def make_batch(kind: str, seed: int, n: int = N, c: int = C):
    """One ``(y_true, y_pred)`` batch of the given kind, from a fixed NumPy seed."""
    rng = np.random.default_rng(seed)
    if kind == "binary":  # multi-label 0/1 labels, probabilities
        return (rng.integers(0, 2, (n, c)).astype("float32"),
                rng.uniform(0.01, 0.99, (n, c)).astype("float32"))
    if kind == "binary1":  # one binary output per sample, shape (n,)
        return (rng.integers(0, 2, (n,)).astype("float32"),
                rng.uniform(0.0, 1.0, (n,)).astype("float32"))
    if kind == "logits":
        return (rng.integers(0, 2, (n, c)).astype("float32"),
                rng.normal(0, 2, (n, c)).astype("float32"))
    if kind == "categorical":
        labels = rng.integers(0, c, (n,))
        logits = rng.normal(0, 1, (n, c))
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        return np.eye(c, dtype="float32")[labels], probs.astype("float32")
    if kind == "sparse":
        return (rng.integers(0, c, (n,)).astype("int32"),
                rng.dirichlet(np.ones(c), n).astype("float32"))
    if kind == "sparse_col":  # labels shaped (n, 1)
        return (rng.integers(0, c, (n, 1)).astype("int32"),
                rng.dirichlet(np.ones(c), n).astype("float32"))
    if kind == "sorted_ids":  # predictions are class ids sorted best-first
        ids = np.stack([rng.permutation(c) for _ in range(n)]).astype("int32")
        return rng.integers(0, c, (n,)).astype("int32"), ids
    if kind == "regression":
        return (rng.normal(0, 1, (n, c)).astype("float32"),
                rng.normal(0, 1, (n, c)).astype("float32"))
    if kind == "positive":
        return (rng.uniform(0.1, 3, (n, c)).astype("float32"),
                rng.uniform(0.1, 3, (n, c)).astype("float32"))
    if kind == "signed":  # hinge labels in {-1, 1}
        return (rng.choice([-1.0, 1.0], (n, c)).astype("float32"),
                rng.normal(0, 1, (n, c)).astype("float32"))
    if kind == "classes":  # class ids, predictions right about half the time
        y = rng.integers(0, 3, (n,))
        p = np.where(rng.uniform(size=n) < 0.5, y, rng.integers(0, 3, (n,)))
        return y.astype("int32"), p.astype("int32")
    if kind == "segmentation":  # (n, 2, 2) maps of class ids
        y = rng.integers(0, 3, (n, 2, 2))
        p = np.where(rng.uniform(size=y.shape) < 0.5, y, rng.integers(0, 3, y.shape))
        return y.astype("int32"), p.astype("int32")
    if kind == "onehot_scores":
        y = rng.integers(0, 3, (n,))
        scores = rng.uniform(size=(n, 3)) + 0.8 * np.eye(3)[y]
        return np.eye(3, dtype="float32")[y], scores.astype("float32")
    if kind == "exact":  # labels equal predictions about half the time
        y = rng.integers(0, 3, (n, c)).astype("float32")
        p = np.where(rng.uniform(size=(n, c)) < 0.5, y, rng.integers(0, 3, (n, c)))
        return y, p.astype("float32")
    raise ValueError(kind)


def make_weight(seed: int, shape=(N,), integer: bool = False):
    rng = np.random.default_rng(seed + 100)
    if integer:
        return rng.integers(0, 4, shape).astype("int32")
    return rng.uniform(0.1, 2.0, shape).astype("float32")


def batches(kind: str, sw_shape=(N,), integer_weights: bool = False):
    """Three batches: the first unweighted, the others weighted (``sw_shape``)."""
    out = []
    for i in range(3):
        yt, yp = make_batch(kind, seed=i)
        sw = None if i == 0 else make_weight(i, sw_shape, integer_weights)
        out.append((yt, yp, sw))
    return out


def run_stateful(metric, data):
    """Feeds all batches through ``update_state``; returns the result after each."""
    results = []
    for yt, yp, sw in data:
        metric.update_state(yt, yp, sample_weight=sw)
        results.append(np.asarray(metric.result()))
    return results


def assert_close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def check_against_keras(cls_name: str, kwargs: dict, kind: str, sw_shape=(N,), rtol=RTOL,
                        atol=ATOL, integer_weights: bool = False):
    """Same results as Keras over three batches, and again after ``reset_state``.

    Returns the lamina metric (reset and fed the first batch again).
    """
    data = batches(kind, sw_shape, integer_weights)
    ours = getattr(lm, cls_name)(**kwargs)
    theirs = getattr(keras.metrics, cls_name)(**kwargs)
    for a, e in zip(run_stateful(ours, data), run_stateful(theirs, data)):
        assert a.shape == e.shape
        assert_close(a, e, rtol, atol)
    ours.reset_state()
    theirs.reset_state()
    for v in ours.variables:
        assert not np.any(np.asarray(v.value)), f"{v.path} not reset"
    yt, yp, sw = data[1]
    ours.update_state(yt, yp, sw)
    theirs.update_state(yt, yp, sw)
    assert_close(ours.result(), theirs.result(), rtol, atol)
    return ours


def check_stateless_jit(metric_factory, kind: str, sw_shape=(N,), rtol=RTOL, atol=ATOL,
                        integer_weights: bool = False):
    """The jitted functional API gives the stateful results and traces only once."""
    ones = np.ones(sw_shape, "int32" if integer_weights else "float32")
    data = [(yt, yp, ones if sw is None else sw)
            for yt, yp, sw in batches(kind, sw_shape, integer_weights)]
    reference = run_stateful(metric_factory(), data)
    metric = metric_factory()
    metric.ensure_built(data[0][0], data[0][1])
    before = [np.asarray(v.value).copy() for v in metric.variables]
    traces = []

    def step(state, yt, yp, sw):
        traces.append(1)
        state = metric.stateless_update_state(state, yt, yp, sample_weight=sw)
        return state, metric.stateless_result(state)

    jitted = jax.jit(step)
    state = metric.stateless_reset_state()
    assert len(state) == len(metric.variables)
    for (yt, yp, sw), expected in zip(data, reference):
        state, result = jitted(state, yt, yp, sw)
        assert_close(result, expected, rtol, atol)
    assert len(traces) == 1, f"retraced: {len(traces)} traces for 3 same-shaped calls"
    # The metric's own variables were not touched.
    for v, b in zip(metric.variables, before):
        np.testing.assert_array_equal(np.asarray(v.value), b)
    assert all(isinstance(s, jax.Array) for s in state)
    return state
