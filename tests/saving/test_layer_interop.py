"""Every public layer class round-trips between lamina and Keras 3 through `.keras`
files: a model around the layer saved by lamina loads in Keras with the same
predictions (at inference), weights and layer config, and the same model saved by
Keras loads in lamina likewise; both write the same weights-file layout.

The layer classes are enumerated from ``lamina.layers``, so a new layer without a
case in ``_layer_cases.py`` fails here until one is added.
"""

import inspect
import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from _layer_cases import CASES, VARIANTS
from oracle import assert_close, keras

import lamina
from lamina.layers import Layer

# Public classes that are not checked here, with why.
EXCLUDED = {
    "Layer": "abstract base class",
    "Wrapper": "abstract base class (TimeDistributed and Bidirectional are checked)",
    "InputLayer": "the first layer of every case's model",
    "JaxLayer": "Keras 3.15.1 needs TensorFlow (jax2tf) to call it in a model",
    "FlaxLayer": "its config holds a Flax module object; flax is not installed",
}

# Keras 3.15 refuses to construct these without TensorFlow (not installed here), and
# lamina runs them on host data only, outside functional models: their configs are
# checked against Keras's constructor arguments instead of a Keras round trip.
NEEDS_TENSORFLOW = {
    "Hashing": lambda: lamina.layers.Hashing(num_bins=3, salt=7),
    "HashedCrossing": lambda: lamina.layers.HashedCrossing(num_bins=5),
    "IntegerLookup": lambda: lamina.layers.IntegerLookup(vocabulary=[3, 5, 9]),
    "StringLookup": lambda: lamina.layers.StringLookup(vocabulary=["a", "b"]),
    "TextVectorization": lambda: lamina.layers.TextVectorization(
        vocabulary=["the", "cat"], output_sequence_length=4),
}


# Config keys Keras's constructors take through **kwargs (Layer's own arguments, and
# the frozen vocabulary size IndexLookup pops).
KERAS_CONFIG_KWARGS = {"name", "trainable", "dtype", "vocabulary_size"}


def public_layer_classes() -> list[str]:
    """The ``__name__`` of every Layer subclass ``lamina.layers`` exports (an alias
    and its class count once)."""
    names = set()
    for attribute in dir(lamina.layers):
        obj = getattr(lamina.layers, attribute)
        if inspect.isclass(obj) and issubclass(obj, Layer):
            names.add(obj.__name__)
    return sorted(names)


PUBLIC = public_layer_classes()
ROUND_TRIP = [n for n in PUBLIC if n not in EXCLUDED and n not in NEEDS_TENSORFLOW]


def params(expected_failure) -> list:
    """ROUND_TRIP as parameters, expected to fail (strictly, so a fix shows up) where
    ``expected_failure(case)`` gives a reason."""
    out = []
    for name in ROUND_TRIP:
        case = CASES.get(name)
        reason = case and expected_failure(case)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(name, marks=marks))
    return out


def test_every_public_layer_has_a_case():
    missing = [n for n in ROUND_TRIP if n not in CASES]
    assert not missing, f"add a case to tests/saving/_layer_cases.py for: {missing}"
    stale = sorted(set(CASES) - set(ROUND_TRIP)) + sorted(
        (set(EXCLUDED) | set(NEEDS_TENSORFLOW)) - set(PUBLIC))
    assert not stale, f"cases or exclusions for classes lamina.layers does not export: {stale}"


# -- building, saving, comparing -----------------------------------------------------
def case_named(name):
    return CASES[name] if name in CASES else VARIANTS[name]


def build(K, name):
    case = case_named(name)
    inputs = [K.Input(i.shape, dtype=i.dtype) for i in case.inputs]
    layer = case.make(K)
    outputs = case.call(layer, inputs)
    return K.Model(inputs if len(inputs) > 1 else inputs[0], outputs), layer.name


def randomize(model, rng) -> None:
    """Gives every float weight a distinct value in [0.5, 1.5) (positive, so variances
    stay valid), so a weight read into the wrong slot changes the predictions."""
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                       if np.issubdtype(w.dtype, np.floating) else w
                       for w in model.get_weights()])
    for layer in model.layers:
        # Keras's Normalization computes its mean and variance from its variables in
        # finalize_state, which loading calls but set_weights does not.
        if isinstance(layer, keras.layers.Normalization):
            layer.finalize_state()


def sample_inputs(name):
    rng = np.random.default_rng(len(name))
    x = [i.sample(rng, 2) for i in case_named(name).inputs]
    return x if len(x) > 1 else x[0]


def predict(model, x):
    return [np.asarray(y) for y in lamina.tree.flatten(model(x, training=False))]


def layer_entry(model, layer_name) -> dict:
    """The layer's record in the model config, without its inbound nodes (the graph
    is compared by the predictions)."""
    config = json.loads(json.dumps(model.get_config()))
    (entry,) = [e for e in config["layers"] if e["name"] == layer_name]
    return {k: v for k, v in entry.items() if k != "inbound_nodes"}


def weights_layout(path) -> dict:
    """Every group and dataset of a .keras file's weights: path -> shape or "G"."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda p, obj: out.__setitem__(
            p, tuple(obj.shape) if isinstance(obj, h5py.Dataset) else "G"))
    return out


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``saved(name, K)``: the case's model made by library K with random weights,
    saved once to a .keras file; returns (model, subject layer name, path)."""
    folder = tmp_path_factory.mktemp("layer_interop")
    made = {}

    def get(name, K):
        key = (name, K.__name__)
        if key not in made:
            model, layer_name = build(K, name)
            randomize(model, np.random.default_rng(len(name)))
            path = folder / f"{name}_{K.__name__}.keras"
            model.save(path)
            made[key] = (model, layer_name, path)
        return made[key]

    return get


def check_loaded(original, loaded, layer_name, name):
    case = case_named(name)
    x = sample_inputs(name)
    assert_close(predict(loaded, x), predict(original, x), case.rtol, case.atol)
    assert_close(loaded.get_weights(), original.get_weights())
    assert layer_entry(loaded, layer_name) == layer_entry(original, layer_name)


@pytest.mark.parametrize("name", params(lambda case: case.to_keras_failure()))
def test_lamina_file_loads_in_keras(name, saved):
    model, layer_name, path = saved(name, lamina)
    check_loaded(model, keras.saving.load_model(path), layer_name, name)


@pytest.mark.parametrize("name", params(lambda case: case.to_lamina_failure()))
def test_keras_file_loads_in_lamina(name, saved):
    model, layer_name, path = saved(name, keras)
    check_loaded(model, lamina.saving.load_model(path), layer_name, name)


@pytest.mark.parametrize("name", params(
    lambda case: case.keras_cannot_build and f"Keras 3.15.1: {case.keras_cannot_build}"))
def test_weights_layout_matches_keras(name, saved):
    assert weights_layout(saved(name, lamina)[2]) == weights_layout(saved(name, keras)[2])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_round_trips_both_ways(name, saved):
    """More arguments per class (the exhaustive run): both directions and the layout."""
    for source, load in ((lamina, keras.saving.load_model), (keras, lamina.saving.load_model)):
        model, layer_name, path = saved(name, source)
        check_loaded(model, load(path), layer_name, name)
    assert weights_layout(saved(name, lamina)[2]) == weights_layout(saved(name, keras)[2])


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.keras_cannot_build))
def test_layer_outside_a_model_round_trips(name):
    """A layer Keras cannot build a model around: its serialized record moves between
    the libraries with the same config, and the layers give the same outputs."""
    case = CASES[name]
    x = sample_inputs(name)
    for source, target in ((lamina, keras), (keras, lamina)):
        layer = case.make(source)
        record = json.loads(json.dumps(source.layers.serialize(layer)))
        other = target.layers.deserialize(record)
        assert json.loads(json.dumps(target.layers.serialize(other))) == record
        assert_close(np.asarray(other(x, training=False)), np.asarray(layer(x, training=False)),
                     case.rtol, case.atol)


# -- layers Keras cannot construct here --------------------------------------------------
@pytest.mark.parametrize("name", sorted(NEEDS_TENSORFLOW))
def test_tensorflow_layer_config_fits_keras_constructor(name):
    layer = NEEDS_TENSORFLOW[name]()
    record = json.loads(json.dumps(lamina.layers.serialize(layer)))
    assert record["class_name"] == name and record["module"] == "keras.layers"
    accepted = {p for cls in getattr(keras.layers, name).__mro__ if "__init__" in vars(cls)
                for p in inspect.signature(cls.__init__).parameters}
    unknown = set(record["config"]) - accepted - KERAS_CONFIG_KWARGS
    assert not unknown, f"Keras's {name} does not take {sorted(unknown)}"
    again = lamina.layers.deserialize(record)
    assert json.loads(json.dumps(again.get_config())) == record["config"]
