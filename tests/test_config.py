"""lamina.config against keras.config: names, defaults, round trips, validation."""

import logging

import pytest
from oracle import keras

import lamina
from lamina import config


def test_public_names_match_keras():
    names = {n for n in dir(keras.config) if not n.startswith("_")}
    assert names <= set(dir(config))


def test_defaults_match_keras():
    for name in ("backend", "floatx", "epsilon", "image_data_format",
                 "is_flash_attention_enabled", "is_interactive_logging_enabled",
                 "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch",
                 "is_nnx_enabled"):
        assert getattr(config, name)() == getattr(keras.config, name)(), name
    assert config.dtype_policy().name == keras.config.dtype_policy().name


def test_one_source_of_truth_with_backend_and_dtypes():
    assert config.floatx is lamina.dtypes.floatx
    assert config.epsilon is lamina.backend.epsilon
    assert config.image_data_format is lamina.backend.image_data_format
    config.set_floatx("float16")
    try:
        assert lamina.backend.floatx() == "float16"
        assert lamina.layers.Dense(2).dtype_policy.name == "float16"
    finally:
        config.set_floatx("float32")


@pytest.mark.parametrize("getter,setter,value", [
    ("epsilon", "set_epsilon", 1e-5),
    ("image_data_format", "set_image_data_format", "channels_first"),
    ("max_epochs", "set_max_epochs", 3),
    ("max_steps_per_epoch", "set_max_steps_per_epoch", 7),
])
def test_setters_round_trip_like_keras(getter, setter, value):
    before = getattr(config, getter)()
    try:
        getattr(config, setter)(value)
        getattr(keras.config, setter)(value)
        assert getattr(config, getter)() == getattr(keras.config, getter)() == value
    finally:
        getattr(config, setter)(before)
        getattr(keras.config, setter)(before)


@pytest.mark.parametrize("prefix", ["flash_attention", "traceback_filtering",
                                    "interactive_logging"])
def test_switches_like_keras(prefix):
    getter = f"is_{prefix}_enabled"
    before = getattr(keras.config, getter)()
    try:
        for action in ("enable", "disable", "enable"):
            getattr(config, f"{action}_{prefix}")()
            getattr(keras.config, f"{action}_{prefix}")()
            assert getattr(config, getter)() == getattr(keras.config, getter)()
    finally:
        if prefix != "flash_attention":
            mode = "enable" if before else "disable"
            getattr(config, f"{mode}_{prefix}")()
            getattr(keras.config, f"{mode}_{prefix}")()
        else:
            config._SETTINGS["flash_attention"] = None


def test_dtype_policy_round_trip_and_errors_like_keras():
    try:
        for value in ("mixed_float16", "bfloat16", lamina.DTypePolicy("mixed_bfloat16")):
            config.set_dtype_policy(value)
            assert config.dtype_policy().name in ("mixed_float16", "bfloat16", "mixed_bfloat16")
            layer = lamina.layers.Dense(2)
            assert layer.dtype_policy.name == config.dtype_policy().name
        for bad in (None, "foo", 3):
            with pytest.raises(ValueError):
                config.set_dtype_policy(bad)
            with pytest.raises(ValueError):
                keras.config.set_dtype_policy(bad)
    finally:
        config.set_dtype_policy("float32")
        keras.config.set_dtype_policy("float32")


def test_set_backend_only_jax():
    config.set_backend("jax")
    with pytest.raises(ValueError, match="JAX"):
        config.set_backend("torch")


def test_unsafe_deserialization_flag():
    assert not config.unsafe_deserialization_enabled()
    config.enable_unsafe_deserialization()
    try:
        assert config.unsafe_deserialization_enabled()
    finally:
        config._SETTINGS["unsafe_deserialization"] = False


def test_disabled_interactive_logging_routes_messages_to_logging(capsys, caplog):
    from lamina.utils.progbar import Progbar

    config.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="lamina"):
            bar = Progbar(2, verbose=2)
            bar.update(2, [("loss", 0.5)], finalize=True)
        assert capsys.readouterr().out == ""
        assert any("loss" in r.getMessage() for r in caplog.records)
    finally:
        config.enable_interactive_logging()
    bar = Progbar(2, verbose=2)
    bar.update(2, [("loss", 0.5)], finalize=True)
    assert "loss" in capsys.readouterr().out
