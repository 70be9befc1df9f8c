"""Optimizer configs, serialization and `get` match Keras 3."""

import keras
import pytest

import lamina.optimizers as lo

CONFIGS = [
    ("SGD", {}), ("SGD", {"learning_rate": 0.5, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {}), ("RMSprop", {"rho": 0.8, "momentum": 0.1, "centered": True}),
    ("Adam", {}), ("Adam", {"amsgrad": True, "weight_decay": 0.1, "clipnorm": 1.0}),
    ("AdamW", {}), ("Adagrad", {}), ("Adadelta", {"global_clipnorm": 2.0}), ("Adamax", {}),
    ("Nadam", {"clipvalue": 0.5}), ("Lion", {"use_ema": True, "ema_overwrite_frequency": 5}),
    ("Ftrl", {"l1_regularization_strength": 0.1, "beta": 0.5}),
    ("Adam", {"loss_scale_factor": 128.0, "gradient_accumulation_steps": 4}),
    ("Lamb", {"beta_1": 0.8}), ("Adafactor", {"relative_step": False, "epsilon_2": 0.01}),
]


@pytest.mark.parametrize("class_name,kwargs", CONFIGS)
def test_config_equals_keras(class_name, kwargs):
    ours = getattr(lo, class_name)(name="opt", **kwargs)
    theirs = getattr(keras.optimizers, class_name)(name="opt", **kwargs)
    assert ours.get_config() == theirs.get_config()
    assert lo.serialize(ours) == keras.optimizers.serialize(theirs)
    restored = type(ours).from_config(ours.get_config())
    assert restored.get_config() == ours.get_config()


def test_default_names_follow_keras():
    assert lo.RMSprop().name.startswith("rm_sprop")
    assert lo.AdamW().name.startswith("adam_w")
    first, second = lo.Lion(), lo.Lion()
    assert first.name != second.name and second.name.startswith("lion")


def test_schedule_config_round_trips_through_keras():
    theirs = keras.optimizers.Adam(
        name="a", learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    ours = lo.deserialize(keras.optimizers.serialize(theirs))
    assert isinstance(ours, lo.Adam)
    assert isinstance(ours._schedule, lo.schedules.ExponentialDecay)
    assert ours.get_config() == theirs.get_config()
    # And the other way: Keras reads lamina's serialized optimizer.
    back = keras.optimizers.deserialize(lo.serialize(ours))
    assert back.get_config() == theirs.get_config()


def test_get_by_name_config_and_instance():
    for name in ["sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax", "nadam",
                 "lion", "ftrl", "lamb", "adafactor"]:
        assert type(lo.get(name)).__name__.lower() == name
        assert type(lo.get(name.upper())).__name__.lower() == name
    opt = lo.SGD()
    assert lo.get(opt) is opt
    assert lo.get(None) is None
    from_dict = lo.get({"class_name": "sgd", "config": {"learning_rate": 0.5}})
    assert isinstance(from_dict, lo.SGD) and float(from_dict.learning_rate) == 0.5
    keras_dict = keras.optimizers.serialize(keras.optimizers.RMSprop(rho=0.7))
    assert lo.get(keras_dict).rho == 0.7


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="foo") as info:
        lo.get("foo")
    assert "adam" in str(info.value) and "sgd" in str(info.value)
    with pytest.raises(ValueError, match="Could not interpret"):
        lo.get(3)


def test_constructor_validation_matches_keras():
    with pytest.raises(ValueError, match="Only one of"):
        lo.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        lo.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="weight_decay"):
        lo.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="momentum"):
        lo.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        lo.Ftrl(l1_regularization_strength=-1.0)
    with pytest.raises(ValueError, match="beta_1"):
        lo.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="not recognized"):
        lo.Adam(bogus=1)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        lo.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        lo.Adam(use_ema=True, ema_momentum=1.5)
