"""Error messages that point at the user's code and say what to change.

Each common mistake is made once; the test checks the message (names, both shapes,
the fix), the user's file and line it names, and that the traceback holds the
user's frames, not pages of lamina's and JAX's. Keras is the oracle for *whether*
something is an error: every case refused here is refused by Keras too.
"""

import functools
import os
import sys
import traceback
import warnings

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.training import data_checks
from tests.oracle import keras

HERE = os.path.abspath(__file__)
LAMINA_DIR = os.path.dirname(os.path.abspath(lamina.__file__)) + os.sep


def _line() -> int:
    """The caller's line number."""
    return sys._getframe(1).f_lineno


def _frames(error) -> list:
    return [os.path.abspath(f.filename) for f in traceback.extract_tb(error.__traceback__)]


def _assert_short_traceback(error, max_lamina: int) -> None:
    """The traceback holds this file's frames and at most ``max_lamina`` of lamina's
    (where the error leaves the library), none of JAX's."""
    files = _frames(error)
    assert files[0] == HERE
    assert not any("/jax/" in f or "/jaxlib/" in f for f in files), files
    assert sum(f.startswith(LAMINA_DIR) for f in files) <= max_lamina, files
    assert error.__suppress_context__ and error.__cause__ is None


def _notes(error) -> str:
    return "\n".join(getattr(error, "__notes__", ()))


# -- errors found while building the graph ----------------------------------------

def test_merge_of_incompatible_shapes_names_layer_shapes_and_line():
    a, b = lamina.Input((4,)), lamina.Input((5,))
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        L.Add(name="join")([a, b])
    message = str(info.value)
    assert "'join'" in message and "(None, 4)" in message and "(None, 5)" in message
    assert f"Layer 'join' (Add) was called at {HERE}:{line}." in _notes(info.value)
    _assert_short_traceback(info.value, max_lamina=1)
    with pytest.raises(ValueError):  # Keras refuses it too
        keras.layers.Add()([keras.Input((4,)), keras.Input((5,))])


def test_input_spec_violation_names_call_and_creation_lines():
    created = _line() + 1
    dense = L.Dense(3, name="head")
    dense(lamina.Input((4,)))
    with pytest.raises(ValueError) as info:
        called = _line() + 1
        dense(lamina.Input((5,)))
    message = str(info.value)
    assert "'head'" in message and "value 4" in message and "(None, 5)" in message
    assert (f"Layer 'head' (Dense) was called at {HERE}:{called} and was created at "
            f"{HERE}:{created}.") in _notes(info.value)
    _assert_short_traceback(info.value, max_lamina=1)


def test_wrong_input_rank_names_the_expected_rank():
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        L.Conv2D(2, 3, name="conv")(lamina.Input((4,)))
    assert "'conv'" in str(info.value) and "rank 4" in str(info.value)
    assert "(None, 4)" in str(info.value)
    assert f"was called at {HERE}:{line}." in _notes(info.value)
    with pytest.raises(ValueError):
        keras.layers.Conv2D(2, 3)(keras.Input((4,)))


def _int_only(module):
    class IntOnly(module.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = module.layers.InputSpec(dtype="int32")

        def call(self, x):
            return x

    return IntOnly


def test_dtype_mismatch_names_both_dtypes_and_the_creation_line():
    created = _line() + 1
    layer = _int_only(lamina)(name="ids")
    with pytest.raises(ValueError) as info:
        layer(lamina.Input((3,), dtype="float32"))
    assert "dtype=int32" in str(info.value) and "dtype=float32" in str(info.value)
    # A custom layer's location is the line that created it, not its super().__init__.
    assert f"was created at {HERE}:{created}." in _notes(info.value)
    with pytest.raises(ValueError):
        _int_only(keras)()(keras.Input((3,), dtype="float32"))


class _BadMatmul(L.Layer):
    def call(self, x):
        return x @ lamina.ops.ones((7, 2))  # the user's own failing line


def test_a_failing_custom_call_keeps_the_users_frame_and_drops_jax():
    with pytest.raises(ValueError) as info:
        _BadMatmul(name="mm")(lamina.Input((4,)))
    assert "'mm'" in str(info.value) and "(None, 4)" in str(info.value)
    files = _frames(info.value)
    assert files.count(HERE) == 2  # the call site and the line inside call()
    _assert_short_traceback(info.value, max_lamina=1)


def test_sequential_errors_name_the_line_that_created_the_layer():
    with pytest.raises(ValueError) as info:
        line = _line() + 2
        lamina.Sequential([lamina.Input((4,)), L.Dense(2),
                           L.Conv2D(3, 3, name="c2")])
    assert "Layer 'c2' (Conv2D)" in _notes(info.value)
    assert f"was created at {HERE}:{line}." in _notes(info.value)


def test_disabling_traceback_filtering_keeps_every_frame():
    lamina.config.disable_traceback_filtering()
    try:
        with pytest.raises(ValueError) as info:
            line = _line() + 1
            L.Add()([lamina.Input((4,)), lamina.Input((5,))])
    finally:
        lamina.config.enable_traceback_filtering()
    assert sum(f.startswith(LAMINA_DIR) for f in _frames(info.value)) > 2
    assert f"was called at {HERE}:{line}." in _notes(info.value)


def test_ops_on_symbolic_tensors_name_the_users_line():
    a, w = lamina.Input((4,)), lamina.Input(batch_shape=(5, 2))
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        lamina.ops.matmul(a, w)
    assert "'matmul'" in str(info.value) and "(None, 4), (5, 2)" in str(info.value)
    assert f"ops.matmul was called at {HERE}:{line}." in _notes(info.value)
    _assert_short_traceback(info.value, max_lamina=1)
    with pytest.raises(ValueError):
        keras.ops.matmul(keras.Input((4,)), keras.Input(batch_shape=(5, 2)))


def test_layers_and_nodes_record_the_users_lines():
    line = _line() + 1
    inp = lamina.Input((2,))
    out = L.Dense(1)(inp)
    node = out._keras_history[0]._inbound_nodes[0]
    assert node.operation._created_at == (HERE, line + 1)
    assert node.called_at == (HERE, line + 1)
    assert inp._keras_history[0]._created_at == (HERE, line)


# -- errors from data in fit / evaluate / predict ------------------------------------

X = np.random.default_rng(0).random((8, 4)).astype("float32")
ONE_HOT = np.eye(3, dtype="float32")[np.arange(8) % 3]
LABELS = (np.arange(8) % 3).astype("int32")


@pytest.fixture(scope="module")
def built():
    """A tiny classifier, compiled with categorical and (a copy) with sparse
    cross-entropy; returns the models and the lines of the Input and output layer."""
    input_line = _line() + 1
    inp = lamina.Input((4,), name="feat")
    hidden = L.Dense(8, activation="relu")(inp)
    output_line = _line() + 1
    probs = L.Dense(3, activation="softmax", name="probs")(hidden)
    categorical = lamina.Model(inp, probs)
    categorical.compile("sgd", "categorical_crossentropy")
    sparse = lamina.models.clone_model(categorical)
    sparse.compile("sgd", "sparse_categorical_crossentropy")
    return categorical, sparse, input_line, output_line


def test_labels_of_the_wrong_width_name_the_output_shapes_and_its_line(built):
    model, _, _, output_line = built
    with pytest.raises(ValueError) as info:
        model.fit(X, np.zeros((8, 5), "float32"), verbose=0)
    message = str(info.value)
    assert "output 'probs'" in message and "(8, 5)" in message and "(None, 3)" in message
    assert "5 units" in message and "the Dense layer 'probs'" in message
    assert f"created at {HERE}:{output_line}" in message
    _assert_short_traceback(info.value, max_lamina=2)
    with pytest.raises(ValueError, match="fit \\(validation_data\\)"):  # before training
        model.fit(X, ONE_HOT, validation_data=(X, np.zeros((8, 5), "float32")), verbose=0)


def test_integer_labels_with_categorical_crossentropy_say_what_to_change(built):
    model = built[0]
    for labels in (LABELS, LABELS[:, None]):
        with pytest.raises(ValueError) as info:
            model.evaluate(X, labels, verbose=0)
        message = str(info.value)
        assert "integer class labels" in message
        assert "loss='sparse_categorical_crossentropy'" in message
        assert "to_categorical(y, num_classes=3)" in message
    with pytest.raises(ValueError):
        keras.losses.categorical_crossentropy(LABELS[:, None].astype("float32"), ONE_HOT)


def test_one_hot_labels_with_sparse_crossentropy_say_what_to_change(built):
    model = built[1]
    with pytest.raises(ValueError) as info:
        model.fit(X, ONE_HOT, verbose=0)
    message = str(info.value)
    assert "one-hot" in message and "loss='categorical_crossentropy'" in message
    assert "argmax(axis=-1)" in message and "shape (8,)" in message
    with pytest.raises(ValueError):
        keras.losses.sparse_categorical_crossentropy(ONE_HOT, ONE_HOT)


def test_targets_keras_accepts_are_accepted():
    """The check evaluates the loss itself, so it refuses no more than Keras does:
    MSE broadcasts (8, 1) targets against (8, 3) outputs, sparse labels may carry a
    trailing 1, and categorical labels of the output's shape pass."""
    out = np.zeros((8, 3), "float32")
    cases = [("mean_squared_error", np.zeros((8, 1), "float32")),
             ("sparse_categorical_crossentropy", LABELS[:, None]),
             ("categorical_crossentropy", ONE_HOT)]
    for name, y in cases:
        keras.losses.get(name)(y, out)
        loss = lamina.losses.LossFunctionWrapper(lamina.losses.get(name))
        data_checks.check_target(loss, y, out, "out", None, "y")


def test_wrong_input_rank_names_the_input_and_its_line(built):
    model, _, input_line, _ = built
    with pytest.raises(ValueError) as info:
        model.fit(X[:, :, None, None], ONE_HOT, verbose=0)
    message = str(info.value)
    assert "Input 'feat'" in message and "(batch, 4)" in message
    assert "(8, 4, 1, 1)" in message and "reshape the data to (num_samples, 4)" in message
    assert f"the Input 'feat' (created at {HERE}:{input_line})" in message
    _assert_short_traceback(info.value, max_lamina=2)


def test_a_forgotten_batch_dimension_says_to_add_one(built):
    model, _, input_line, _ = built
    with pytest.raises(ValueError) as info:
        model.predict(X[0], verbose=0)
    message = str(info.value)
    assert "(4,)" in message and "without its batch dimension" in message
    assert "x[None]" in message and f"{HERE}:{input_line}" in message


def test_generator_data_is_checked_on_its_first_batch(built):
    model = built[0]

    def batches():
        while True:
            yield X[:, :3], ONE_HOT

    with pytest.raises(ValueError, match="the first batch for it has shape \\(8, 3\\)"):
        model.fit(batches(), steps_per_epoch=1, verbose=0)


def test_dict_keys_naming_no_input_or_output_suggest_the_right_name(built):
    model = built[0]
    with pytest.raises(ValueError) as info:
        model.fit({"feature": X}, ONE_HOT, verbose=0)
    assert "key 'feature', which names no input" in str(info.value)
    assert "Did you mean 'feat'?" in str(info.value)
    with pytest.raises(ValueError) as info:
        model.fit(X, {"prob": ONE_HOT}, verbose=0)
    assert "key 'prob', which names no output" in str(info.value)
    assert "Did you mean 'probs'?" in str(info.value)
    _assert_short_traceback(info.value, max_lamina=2)


def test_mismatched_sample_counts_name_every_size(built):
    with pytest.raises(ValueError) as info:
        built[0].fit(X, ONE_HOT[:7], verbose=0)
    message = str(info.value)
    assert "input 'feat': 8" in message and "target 'probs': 7" in message
    assert "one row per sample" in message


def test_nan_in_the_data_warns_at_the_users_line(built):
    """A warning, not an error: Keras trains on NaN (its loss becomes NaN, as here),
    and a custom loss may use NaN to mark missing labels."""
    model = built[0]
    bad = X.copy()
    bad[3, 1] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _line() + 1
        history = model.fit(bad, ONE_HOT, batch_size=8, verbose=0)
    nan_warnings = [w for w in caught if "NaN" in str(w.message)]
    assert len(nan_warnings) == 1
    warning = nan_warnings[0]
    assert "input 'feat'" in str(warning.message)
    assert "1 of 8 samples (the first is sample 3)" in str(warning.message)
    assert (os.path.abspath(warning.filename), warning.lineno) == (HERE, line)
    assert np.isnan(history.history["loss"][0])


# -- Lambda layers that cannot be saved or loaded ------------------------------------

def _lambda_model(function):
    inp = lamina.Input((4,))
    return lamina.Model(inp, L.Lambda(function, name="scale")(inp))


def _double(x):
    return x * 2


def test_a_lambda_of_an_unsaveable_callable_says_how_to_make_it_saveable(tmp_path):
    model = _lambda_model(functools.partial(lamina.ops.multiply, 2.0))
    with pytest.raises(TypeError) as info:
        model.save(tmp_path / "m.keras")
    message = str(info.value)
    assert "Lambda layer 'scale' cannot be saved" in message and "partial" in message
    assert "register_keras_serializable" in message and "get_config()" in message
    with pytest.raises(TypeError):
        inp = keras.Input((4,))
        keras.Model(inp, keras.layers.Lambda(functools.partial(keras.ops.multiply, 2.0))(
            inp)).save(tmp_path / "k.keras")


def test_loading_a_lambda_says_how_to_supply_its_function(tmp_path):
    path = tmp_path / "named.keras"
    _lambda_model(_double).save(path)
    with pytest.raises(ValueError) as info:
        lamina.models.load_model(path)
    message = str(info.value)
    assert "Could not locate function '_double'" in message and "'scale'" in message
    assert "custom_objects={'_double': _double}" in message
    loaded = lamina.models.load_model(path, custom_objects={"_double": _double})
    np.testing.assert_allclose(np.asarray(loaded(X)), 2 * X)
    path = tmp_path / "lambda.keras"
    _lambda_model(lambda x: x * 3).save(path)
    with pytest.raises(ValueError, match="'scale'.*safe_mode=False"):
        lamina.models.load_model(path)


# -- errors from building Model(inputs, outputs) and Sequential ----------------------

def test_a_disconnected_graph_names_the_input_its_reader_and_their_lines():
    created = _line() + 1
    a, b = lamina.Input((3,), name="ga"), lamina.Input((3,), name="gb")
    called = _line() + 1
    out = L.Add(name="join")([a, b])
    with pytest.raises(ValueError) as info:
        lamina.Model(a, out)
    message = str(info.value)
    assert f"Input 'gb' (created at {HERE}:{created})" in message
    assert "not among the model's inputs ['ga']" in message
    assert f"read by layer 'join' (called at {HERE}:{called})" in message
    _assert_short_traceback(info.value, max_lamina=1)
    k_a, k_b = keras.Input((3,)), keras.Input((3,))
    with pytest.raises(ValueError):
        keras.Model(k_a, keras.layers.Add()([k_a, k_b]))


def test_a_model_input_that_is_no_input_names_the_call_that_made_it():
    """Keras would start a model at the intermediate tensor (a copy of its graph);
    lamina asks for Input tensors and says where the tensor was made."""
    a = lamina.Input((3,))
    line = _line() + 1
    hidden = L.Dense(4, name="hid")(a)
    with pytest.raises(ValueError) as info:
        lamina.Model(hidden, L.Dense(1)(hidden))
    message = str(info.value)
    assert f"output of layer 'hid' (called at {HERE}:{line})" in message
    assert "Input(shape=(4,))" in message
    _assert_short_traceback(info.value, max_lamina=1)


def test_duplicate_layer_names_in_a_model_name_both_calls():
    x = lamina.Input((3,))
    first = _line() + 1
    y = L.Dense(2, name="dup")(x)
    with pytest.raises(ValueError) as info:
        second = _line() + 1
        lamina.Model(x, L.Dense(2, name="dup")(y))
    assert f"(called at {HERE}:{first}, {HERE}:{second})" in str(info.value)
    _assert_short_traceback(info.value, max_lamina=1)
    k_x = keras.Input((3,))
    with pytest.raises(ValueError, match="dup"):
        keras.Model(k_x, keras.layers.Dense(2, name="dup")(keras.layers.Dense(2, name="dup")(
            k_x)))


def test_sequential_of_something_not_a_layer_leaves_from_the_users_line():
    with pytest.raises(TypeError) as info:
        lamina.Sequential([L.Dense(2), "dense"])
    assert "expects a Layer instance, received str: 'dense'" in str(info.value)
    _assert_short_traceback(info.value, max_lamina=1)
    model = lamina.Sequential([L.Dense(2)])
    with pytest.raises(TypeError) as info:
        model.add(np.ones(3))
    _assert_short_traceback(info.value, max_lamina=1)
    with pytest.raises(ValueError):  # Keras refuses both (as ValueError)
        keras.Sequential([keras.layers.Dense(2), "dense"])


def test_sequential_layer_errors_leave_from_the_users_line():
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        lamina.Sequential([lamina.Input((4,)), L.Dense(2), L.Conv2D(3, 3, name="c2")])
    assert f"Layer 'c2' (Conv2D) was called at {HERE}:{line}." in _notes(info.value)
    _assert_short_traceback(info.value, max_lamina=1)
    model = lamina.Sequential([L.Dense(2), L.Conv2D(3, 3, name="c3")])
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        model.build((None, 4))
    assert f"was called at {HERE}:{line}" in _notes(info.value)
    _assert_short_traceback(info.value, max_lamina=1)


def test_an_unknown_function_record_names_the_function():
    """Keras writes registered_name "function" for unregistered functions: the error
    names the function, not that placeholder."""
    record = {"module": "builtins", "class_name": "function", "config": "my_fn",
              "registered_name": "function"}
    with pytest.raises(ValueError, match="Could not locate function 'my_fn'") as info:
        lamina.saving.deserialize_keras_object(record)
    assert "'function'" not in str(info.value)
    with pytest.raises(TypeError, match="Could not locate function 'my_fn'"):
        keras.saving.deserialize_keras_object(record)
