"""get / serialize / deserialize resolve names and configs as Keras 3 does."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from _losses_testlib import assert_close, keras, make_data
from keras.src.losses import ALL_OBJECTS_DICT as KERAS_NAMES

import lamina.losses as L
from lamina.saving.serialization import register_keras_serializable


def _json(obj):
    # The JSON view of a config: tuples and lists are the same thing there.
    return json.loads(json.dumps(obj))


def test_same_names_as_keras():
    assert set(L.ALL_OBJECTS) == set(KERAS_NAMES)


@pytest.mark.parametrize("name", sorted(set(KERAS_NAMES) - {"LossFunctionWrapper"}))
def test_get_resolves_like_keras(name):
    ours, theirs = L.get(name), keras.losses.get(name)
    if inspect.isfunction(theirs):
        assert inspect.isfunction(ours) and ours.__name__ == theirs.__name__
        assert ours is getattr(L, theirs.__name__)
    else:
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.get_config() == theirs.get_config() or name == "Loss"
        assert isinstance(ours, L.Loss)


def test_alias_attributes():
    for alias, fn in L.FUNCTION_ALIASES.items():
        assert getattr(L, alias) is fn is L.get(alias)


def test_get_wrapper_needs_fn_like_keras():
    with pytest.raises(TypeError):
        keras.losses.get("LossFunctionWrapper")
    with pytest.raises(TypeError):
        L.get("LossFunctionWrapper")


@pytest.mark.parametrize("name", ["logcosh", "cce", "huber_loss", "foo", "Mse"])
def test_unknown_name(name):
    with pytest.raises(ValueError):
        keras.losses.get(name)
    with pytest.raises(ValueError, match=f"'{name}'") as info:
        L.get(name)
    assert "mean_squared_error" in str(info.value) and "MeanSquaredError" in str(info.value)


def test_get_other_identifiers():
    assert L.get(None) is None
    assert L.get(L.mean_squared_error) is L.mean_squared_error
    loss = L.Huber(delta=2.0)
    assert L.get(loss) is loss
    assert isinstance(L.get(L.Huber), L.Huber)

    def custom(y_true, y_pred):
        return y_pred

    assert L.get(custom) is custom
    with pytest.raises(ValueError, match="3"):
        L.get(3)
    rebuilt = L.get(keras.losses.serialize(keras.losses.BinaryCrossentropy(from_logits=True)))
    assert isinstance(rebuilt, L.BinaryCrossentropy) and rebuilt.from_logits is True


OBJECTS = [
    ("MeanSquaredError", {}), ("Huber", {"delta": 2.0, "reduction": "sum"}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "name": "bce"}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "gamma": 3.0}),
    ("CategoricalCrossentropy", {"axis": 1, "reduction": None}),
    ("SparseCategoricalCrossentropy", {"ignore_class": 3, "reduction": "none"}),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5}), ("CosineSimilarity", {"axis": 1}),
    ("Dice", {"axis": (1, 2)}), ("Tversky", {"alpha": 0.2, "beta": 0.8}),
    ("Circle", {"margin": 0.3}), ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}),
    ("CTC", {}), ("KLDivergence", {"reduction": "mean_with_sample_weight"}),
]


@pytest.mark.parametrize("cls,kwargs", OBJECTS, ids=[c for c, _ in OBJECTS])
def test_serialize_matches_keras_and_round_trips(cls, kwargs):
    ours, theirs = getattr(L, cls)(**kwargs), getattr(keras.losses, cls)(**kwargs)
    config = _json(L.serialize(ours))
    assert config == _json(keras.losses.serialize(theirs))
    rebuilt = L.deserialize(config)
    assert type(rebuilt) is type(ours) and _json(rebuilt.get_config()) == config["config"]
    if cls != "CategoricalGeneralizedCrossEntropy":  # Keras cannot deserialize its own one
        back_in_keras = keras.losses.deserialize(config)
        assert _json(back_in_keras.get_config()) == config["config"]


@pytest.mark.parametrize("name", sorted(L.BUILTIN_FUNCTIONS))
def test_functions_serialize_like_keras(name):
    fn = getattr(L, name)
    config = L.serialize(fn)
    assert config == keras.losses.serialize(getattr(keras.losses, name))
    assert L.deserialize(config) is fn
    assert L.deserialize(name) is fn


def test_base_loss_and_wrapper_serialization():
    config = L.serialize(L.Loss(name="plain"))
    assert config == keras.losses.serialize(keras.losses.Loss(name="plain"))
    assert L.deserialize(config).name == "plain"
    wrapper = L.LossFunctionWrapper(L.huber, name="w", reduction="sum", delta=0.5)
    config = L.serialize(wrapper)
    assert config["class_name"] == "LossFunctionWrapper"
    rebuilt = L.deserialize(config)
    assert rebuilt.fn is L.huber and rebuilt.get_config() == wrapper.get_config()
    y_true, y_pred = make_data("real")
    assert_close(rebuilt(y_true, y_pred), wrapper(y_true, y_pred))


def test_custom_registered_loss_round_trip():
    @register_keras_serializable(package="LossTests")
    class ScaledMSE(L.Loss):
        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * L.mean_squared_error(y_true, y_pred)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    loss = ScaledMSE(scale=3.0, name="scaled")
    rebuilt = L.deserialize(L.serialize(loss))
    assert isinstance(rebuilt, ScaledMSE) and rebuilt.scale == 3.0 and rebuilt.name == "scaled"

    def my_loss(y_true, y_pred):
        return L.mean_absolute_error(y_true, y_pred) * 2

    config = L.serialize(my_loss)
    assert L.deserialize(config, custom_objects={"my_loss": my_loss}) is my_loss
    y_true, y_pred = make_data("real")
    assert_close(L.get(my_loss)(y_true, y_pred),
                 2 * np.mean(np.abs(y_true - y_pred), axis=-1))
