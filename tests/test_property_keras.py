"""Property tests: random small functional models train exactly as they do in Keras 3.

Each example is a random DAG (Dense, merge and reshape layers over 1-3 inputs, 1-3
outputs as a single tensor, a list or a dict), random layer names, frozen layers or a
frozen model, per-output losses, loss weights and metrics, and compile arguments / data
dicts whose key orders differ from the model's output order. The same description is
built with Keras and with lamina (tests/_graphgen.py), Keras's weights are copied into
lamina, and both are compiled, fit, evaluated and asked to predict on the same data.
"""

import os

import numpy as np
from _graphgen import build, compile_kwargs, data, describe, model_specs
from hypothesis import HealthCheck, Phase, given, settings
from oracle import assert_close, keras

import lamina

TOL = dict(rtol=1e-4, atol=1e-5)
# Reproducible runs: a fixed generation sequence, no example database. Shrinking a
# failure costs minutes (every step builds and trains two models), so it runs only with
# LAMINA_PROPERTY_SHRINK=1; a failing example is printed either way.
SETTINGS = dict(deadline=None, database=None, derandomize=True, print_blob=False,
                phases=[Phase.explicit, Phase.generate]
                + ([Phase.shrink] if os.environ.get("LAMINA_PROPERTY_SHRINK") else []),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _structure(value):
    """The container shape of a prediction: dict keys, list length, or an array shape."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_structure(v) for v in value]
    return tuple(np.shape(value))


class _Mismatches:
    """Collects failed comparisons so one example reports every way it differs."""

    def __init__(self, info):
        self.info, self.found = info, []

    def __call__(self, what, check, *args, **kwargs):
        try:
            check(*args, **kwargs)
        except AssertionError as e:
            self.found.append(f"{what}: {str(e).strip()}")

    def equal(self, what, actual, expected):
        self(what, _assert_equal, actual, expected)

    def close(self, what, actual, expected, **tol):
        self(what, assert_close, actual, expected, **(tol or TOL))

    def raise_if_any(self):
        if self.found:
            raise AssertionError("\n".join([self.info, *self.found]))


def _assert_equal(actual, expected):
    assert actual == expected, f"lamina {actual!r} != Keras {expected!r}"


def check_against_keras(spec):
    km, lm = build(keras, spec), build(lamina, spec)
    bad = _Mismatches(describe(spec))

    # Structure: output names, layer order, which weights train.
    bad.equal("output_names", lm.output_names, km.output_names)
    bad.equal("layer names", [la.name for la in lm.layers], [la.name for la in km.layers])
    bad.equal("number of weights", len(lm.weights), len(km.weights))
    bad.equal("number of trainable weights", len(lm.trainable_weights),
              len(km.trainable_weights))
    assert [w.shape for w in lm.weights] == [w.shape for w in km.weights], "\n".join(
        [*bad.found, "weight shapes differ: cannot copy Keras's weights"])

    lm.set_weights(km.get_weights())
    lamina_layers = {la.name: la for la in lm.layers}
    for layer in km.layers:  # the copy put each kernel in the layer of the same name
        if layer.name in lamina_layers:
            bad.close(f"weights of layer {layer.name!r} after set_weights",
                      lamina_layers[layer.name].get_weights(), layer.get_weights(),
                      rtol=0, atol=0)

    km.compile(**compile_kwargs(keras, spec))
    lm.compile(**compile_kwargs(lamina, spec))
    x, y, sw = data(spec)
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, sample_weight=sw)
    hk = km.fit(x, y, **fit).history
    hl = lm.fit(x, y, **fit).history
    bad.equal("history keys", sorted(hl), sorted(hk))
    for key in set(hk) & set(hl):
        bad.close(f"history[{key!r}]", hl[key], hk[key])
    bad.close("weights after fit", lm.get_weights(), km.get_weights())

    ek = km.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    el = lm.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    bad.equal("evaluate(return_dict=True) keys", sorted(el), sorted(ek))
    for key in set(ek) & set(el):
        bad.close(f"evaluate()[{key!r}]", el[key], ek[key])
    ek_list = km.evaluate(x, y, sample_weight=sw, verbose=0)
    el_list = lm.evaluate(x, y, sample_weight=sw, verbose=0)
    bad.equal("evaluate() list length", np.shape(el_list), np.shape(ek_list))
    bad.close("evaluate() list (Keras's order)", el_list, ek_list)

    pk, pl = km.predict(x, verbose=0), lm.predict(x, verbose=0)
    bad.equal("predict structure", _structure(pl), _structure(pk))
    bad.equal("predict container", type(pl).__name__ if isinstance(pl, (dict, list)) else
              "array", type(pk).__name__ if isinstance(pk, (dict, list)) else "array")
    if _structure(pl) == _structure(pk):
        bad.close("predict", pl, pk)
    bad.raise_if_any()


@settings(max_examples=8, **SETTINGS)
@given(model_specs(output_kind="single", model_frozen=False))
def test_single_output_models_train_like_keras(spec):
    check_against_keras(spec)


@settings(max_examples=12, **SETTINGS)
@given(model_specs(output_kind="list"))
def test_list_output_models_train_like_keras(spec):
    # 1-3 outputs in a list (a list of one included); losses, loss weights and metrics
    # as lists or as dicts by output layer name, targets as a list or a dict.
    check_against_keras(spec)


@settings(max_examples=12, **SETTINGS)
@given(model_specs(output_kind="dict", min_outputs=2, model_frozen=False))
def test_dict_output_models_in_shuffled_key_orders_train_like_keras(spec):
    # Dict outputs whose keys mostly differ from the layer names, with the model's dict, the
    # loss / loss_weights / metrics dicts, the target and sample-weight dicts each in
    # its own key order.
    check_against_keras(spec)


@settings(max_examples=5, **SETTINGS)
@given(model_specs(model_frozen=True, max_nodes=3))
def test_frozen_models_fit_like_keras(spec):
    # model.trainable = False: Keras fits (the loss is logged, no weight moves).
    check_against_keras(spec)
