"""lamina.utils data helpers against keras.utils: pad_sequences, split_dataset,
timeseries_dataset_from_array, to_categorical/normalize, packing, Config."""

import json

import numpy as np
import pytest
from oracle import keras

import lamina
from lamina import utils

PAD_CASES = [
    dict(sequences=[[1, 2, 3], [4, 5], [6]]),
    dict(sequences=[[1, 2, 3], [4, 5], [6]], maxlen=2),
    dict(sequences=[[1, 2, 3], [4, 5], [6]], maxlen=2, truncating="post"),
    dict(sequences=[[1, 2, 3], [4, 5], [6]], maxlen=4, padding="post", value=-1),
    dict(sequences=[[1, 2, 3], [], [6]], dtype="float32", value=0.5),
    dict(sequences=[np.ones((2, 3)), np.zeros((1, 3)), []], maxlen=3),
    dict(sequences=[["a", "bc"], ["d"]], dtype=object, value="pad"),
    dict(sequences=[["a", "bc"], ["d"]], value="pad"),
    dict(sequences=[[1, 2], [3]], padding="middle"),
    dict(sequences=[[1, 2], [3]], truncating="middle", maxlen=1),
    dict(sequences=[[1, 2], 3]),
    dict(sequences=5),
    dict(sequences=[np.ones((2, 3)), np.zeros((1, 2))]),
]


def _call(fn, kwargs):
    try:
        return fn(**kwargs)
    except (ValueError, TypeError) as e:
        return type(e)


@pytest.mark.parametrize("kwargs", PAD_CASES, ids=[str(i) for i in range(len(PAD_CASES))])
def test_pad_sequences_matches_keras(kwargs):
    expected = _call(keras.utils.pad_sequences, kwargs)
    actual = _call(utils.pad_sequences, kwargs)
    if isinstance(expected, type):
        assert actual is expected
        return
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)


def test_to_categorical_and_normalize_match_keras():
    y = np.array([[0], [2], [1]])
    np.testing.assert_array_equal(utils.to_categorical(y), keras.utils.to_categorical(y))
    np.testing.assert_array_equal(utils.to_categorical([1, 0], num_classes=4),
                                  keras.utils.to_categorical([1, 0], num_classes=4))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    for axis, order in ((-1, 2), (1, 1)):
        np.testing.assert_allclose(utils.normalize(x, axis, order),
                                   keras.utils.normalize(x, axis, order), rtol=1e-6)


def test_split_dataset_sizes_and_contents():
    x = np.arange(10)
    y = np.arange(10) * 10
    left, right = utils.split_dataset((x, y), left_size=0.8)
    np.testing.assert_array_equal(left[0], x[:8])
    np.testing.assert_array_equal(right[1], y[8:])
    left, right = utils.split_dataset(x, right_size=3)
    assert (len(left), len(right)) == (7, 3)
    left, right = utils.split_dataset(x, left_size=2, right_size=5)
    np.testing.assert_array_equal(right, x[2:7])
    left, right = utils.split_dataset([x, y], left_size=0.25)  # round(2.5) == 2
    assert isinstance(left, tuple) and len(left[0]) == 2 and len(right[0]) == 8
    left, right = utils.split_dataset({"a": x, "b": y}, left_size=0.5, shuffle=True, seed=1)
    assert sorted(np.concatenate([left["a"], right["a"]]).tolist()) == list(range(10))
    np.testing.assert_array_equal(left["b"], left["a"] * 10)  # samples stay aligned
    again, _ = utils.split_dataset({"a": x, "b": y}, left_size=0.5, shuffle=True, seed=1)
    np.testing.assert_array_equal(again["a"], left["a"])


@pytest.mark.parametrize("kwargs,error", [
    (dict(), ValueError),
    (dict(left_size=0, right_size=0), ValueError),
    (dict(left_size=10), ValueError),
    (dict(left_size=1.5), ValueError),
    (dict(left_size=0.6, right_size=0.6), ValueError),
    (dict(left_size=6, right_size=6), ValueError),
    (dict(left_size="half"), TypeError),
    (dict(left_size=0.01), ValueError),
])
def test_split_dataset_errors(kwargs, error):
    with pytest.raises(error):
        utils.split_dataset(np.arange(10), **kwargs)
    with pytest.raises(ValueError):
        utils.split_dataset((np.arange(10), np.arange(9)), left_size=0.5)


def test_timeseries_windows_as_documented():
    data = np.arange(100)
    ds = utils.timeseries_dataset_from_array(data[:99], None, sequence_length=10,
                                             sampling_rate=2, sequence_stride=3, batch_size=8)
    windows = np.concatenate(list(ds))
    np.testing.assert_array_equal(windows[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(windows[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(windows[-1], np.arange(78, 98, 2))
    assert len(ds) == -(-len(windows) // 8)

    # Example 2: the past 10 steps predict the next one.
    inputs, targets = next(iter(utils.timeseries_dataset_from_array(
        data[:-10], data[10:], sequence_length=10)))
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]

    # Example 3: non-overlapping many-to-many windows.
    x, y = np.arange(100), np.arange(100) * 2
    inputs, targets = next(iter(utils.timeseries_dataset_from_array(
        x, y[:, None].repeat(20, 1), sequence_length=20, sequence_stride=20, batch_size=5)))
    np.testing.assert_array_equal(inputs[1], x[20:40])

    # start/end indices, single windows, shuffling.
    ds = utils.timeseries_dataset_from_array(data, data * 10, sequence_length=3,
                                             start_index=10, end_index=20, batch_size=None)
    items = list(ds)
    assert len(items) == len(ds) == 8
    np.testing.assert_array_equal(items[0][0], [10, 11, 12])
    assert items[0][1] == 100 and items[-1][0][-1] == 19
    shuffled = utils.timeseries_dataset_from_array(data, None, sequence_length=5,
                                                   shuffle=True, seed=3, batch_size=16)
    first = np.concatenate(list(shuffled))
    assert sorted(first[:, 0].tolist()) == list(range(96))
    np.testing.assert_array_equal(first[:, 1:] - first[:, :1], np.tile(np.arange(1, 5), (96, 1)))


@pytest.mark.parametrize("kwargs", [
    dict(sampling_rate=0), dict(sequence_stride=0), dict(sequence_stride=100),
    dict(start_index=-1), dict(start_index=100), dict(end_index=100),
    dict(start_index=5, end_index=5), dict(format="numpy"),
])
def test_timeseries_argument_errors_like_keras(kwargs):
    for fn in (utils.timeseries_dataset_from_array, keras.utils.timeseries_dataset_from_array):
        with pytest.raises(ValueError):
            fn(np.arange(100), None, sequence_length=5, **kwargs)


def test_timeseries_dataset_fits_a_model():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(120, 2)).astype("float32")
    ds = utils.timeseries_dataset_from_array(series[:-5], series[5:, 0], sequence_length=5,
                                             batch_size=16)
    inputs = lamina.Input((5, 2))
    outputs = lamina.layers.Dense(1)(lamina.layers.Flatten()(inputs))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(utils.timeseries_dataset_from_array(
        series, None, sequence_length=5, batch_size=32), verbose=0).shape == (116, 1)


def test_pack_unpack_are_the_training_helpers():
    from lamina.training import step_state

    assert utils.pack_x_y_sample_weight is step_state.pack_x_y_sample_weight
    assert utils.unpack_x_y_sample_weight is step_state.unpack_x_y_sample_weight
    for args in (((1,),), (1, 2), (1, 2, 3)):
        assert utils.pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    for data in ((1,), (1, 2), (1, 2, 3), 5, [1, 2]):
        assert (tuple(utils.unpack_x_y_sample_weight(data))
                == tuple(keras.utils.unpack_x_y_sample_weight(data)))


def test_pack_lone_x_like_keras():
    assert utils.pack_x_y_sample_weight(1) == keras.utils.pack_x_y_sample_weight(1)
    assert utils.pack_x_y_sample_weight([1, 2]) == keras.utils.pack_x_y_sample_weight([1, 2])


def test_config_like_keras():
    for mod in (keras, lamina):
        c = mod.utils.Config(learning_rate=0.1, momentum=0.9)
        c.use_ema = True
        c["seed"] = 123
        assert (c.seed, c["learning_rate"], c.get("missing", 7)) == (123, 0.1, 7)
        assert list(c) == sorted(["learning_rate", "momentum", "use_ema", "seed"])
        assert len(c) == 4 and "seed" in c
        assert json.loads(c.to_json()) == c.as_dict()
        with pytest.raises(AttributeError, match="learning_rate"):
            c.learning_rat  # noqa: B018
        c.freeze()
        assert c.frozen
        for mutate in (lambda c: setattr(c, "foo", 1), lambda c: c.__setitem__("foo", 1),
                       lambda c: c.pop("seed"), lambda c: c.update(a=1),
                       lambda c: c.__delitem__("seed")):
            with pytest.raises(ValueError):
                mutate(c)
        c.unfreeze()
        c.update(a=1)
        assert c.pop("a") == 1
        del c["seed"]
        assert sorted(c.keys()) == ["learning_rate", "momentum", "use_ema"]


def test_aliases_and_reexports():
    assert utils.Sequence is utils.PyDataset
    assert utils.clear_session is lamina.backend.clear_session
    assert utils.standardize_dtype is lamina.backend.standardize_dtype
    assert utils.is_keras_tensor(lamina.Input((2,)))
    assert utils.is_interactive_logging_enabled is lamina.config.is_interactive_logging_enabled
