"""ExportArchive: several endpoints, variable collections, signatures and errors."""

import jax
import numpy as np
import pytest
from oracle import assert_close

import lamina as keras
from lamina.export import ExportArchive, serving_loader

RNG = np.random.default_rng(5)


@pytest.fixture(scope="module")
def model():
    """x(3) -> Dense(8) -> BatchNormalization -> Dropout(0.5) -> Dense(2), with
    non-default BN statistics so that inference and training calls differ."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((3,), name="x")
    h = keras.layers.Dense(8, name="hidden")(inputs)
    h = keras.layers.BatchNormalization(name="norm")(h)
    h = keras.layers.Dropout(0.5, name="drop")(h)
    m = keras.Model(inputs, keras.layers.Dense(2, name="out")(h))
    norm = m.get_layer("norm")
    norm.moving_mean.assign(RNG.standard_normal(8).astype("float32"))
    norm.moving_variance.assign(RNG.uniform(0.5, 2.0, 8).astype("float32"))
    return m


@pytest.fixture(scope="module")
def archive_path(model, tmp_path_factory):
    """An archive with an inference and a training endpoint and a collection."""
    path = tmp_path_factory.mktemp("archive") / "two_endpoints"
    archive = ExportArchive()
    archive.track(model)
    spec = [keras.InputSpec(shape=(None, 3), dtype="float32")]
    archive.add_endpoint("call_inference", lambda x: model(x, training=False), spec)
    archive.add_endpoint("call_training", lambda x: model(x, training=True), spec)
    archive.add_variable_collection("hidden_kernel", [model.get_layer("hidden").kernel])
    archive.write_out(path, verbose=False)
    return path


@pytest.fixture(scope="module")
def loaded(archive_path):
    return serving_loader.load(archive_path)


def test_inference_endpoint_matches_predict(model, loaded):
    x = RNG.standard_normal((6, 3)).astype("float32")
    assert_close(loaded.call_inference(x), model.predict(x, verbose=0))


def test_training_endpoint_draws_seeds_in_order_like_stateless_call(model, archive_path):
    """A fresh artifact's n-th call of a random endpoint is the model's training call
    with seed n (batch statistics in BatchNormalization, a new dropout mask)."""
    art = serving_loader.load(archive_path)
    x = RNG.standard_normal((64, 3)).astype("float32")
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    training_call = jax.jit(lambda seed: model.stateless_call(
        tv, ntv, x, training=True, seed=jax.random.PRNGKey(seed))[0])
    expected = [np.asarray(training_call(seed)) for seed in (0, 1)]
    assert_close([art.call_training(x), art.call_training(x)], expected)
    assert not np.allclose(expected[0], expected[1])
    assert not np.allclose(expected[0], model.predict(x, verbose=0))


def test_variables_and_collections_are_exposed(model, loaded):
    assert len(loaded.variables) == len(model.weights)
    assert len(loaded.trainable_variables) == len(model.trainable_weights)
    assert len(loaded.non_trainable_variables) == len(model.non_trainable_weights)
    for got, var in zip(loaded.trainable_variables, model.trainable_weights):
        np.testing.assert_array_equal(np.asarray(got), var.numpy())
    kernel, = loaded.hidden_kernel
    np.testing.assert_array_equal(np.asarray(kernel), model.get_layer("hidden").kernel.numpy())
    assert sorted(loaded.endpoints) == ["call_inference", "call_training"]


def test_loader_checks_inputs(loaded):
    with pytest.raises(ValueError, match=r"expected shape \(None, 3\).*received \(2, 4\)"):
        loaded.call_inference(np.zeros((2, 4), "float32"))
    with pytest.raises(TypeError, match="expected dtype float32, received complex128"):
        loaded.call_inference(np.zeros((2, 3), complex))
    # float64 and Python lists convert (same kind), as a float32 input would.
    assert np.asarray(loaded.call_inference([[0.0, 1.0, 2.0]])).shape == (1, 2)
    with pytest.raises(AttributeError, match="no endpoint or variable collection 'serve'"):
        loaded.serve  # noqa: B018


def test_fixed_signature_dict_inputs_and_subclassed_model(tmp_path):
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    merged = keras.layers.concatenate([a, keras.layers.Dense(2)(b)])
    dict_model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(merged))
    sig = [{"a": keras.InputSpec(shape=(4, 2), dtype="float32"),
            "b": keras.InputSpec(shape=(4, 3), dtype="float32")}]
    dict_model.export(tmp_path / "dict", input_signature=sig, verbose=False)
    art = serving_loader.load(tmp_path / "dict")
    xs = {"a": RNG.standard_normal((4, 2)), "b": RNG.standard_normal((4, 3))}
    assert_close(art.serve(xs), dict_model.predict(xs, verbose=0))
    with pytest.raises(ValueError, match=r"expected shape \(4, 2\)"):  # batch fixed at 4
        art.serve({"a": np.zeros((5, 2)), "b": np.zeros((5, 3))})
    with pytest.raises(ValueError, match=r"expected a dict with keys \['a', 'b'\]"):
        art.serve({"a": np.zeros((4, 2))})

    class Scale(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2.0

    sub = Scale()
    sub.build((None, 3))
    sub.export(tmp_path / "sub", verbose=False)
    x = RNG.standard_normal((5, 3)).astype("float32")
    assert_close(serving_loader.load(tmp_path / "sub").serve(x), sub.predict(x, verbose=0))


def test_endpoint_of_model_call_tracks_the_model(model, tmp_path):
    """Keras's documented form: fn=model.call, no track() (the model is tracked)."""
    archive = ExportArchive()
    archive.add_endpoint("serve", model.call,
                         [keras.InputSpec(shape=(None, 3), dtype="float32")])
    assert archive.variables == model.trainable_variables + model.non_trainable_variables
    archive.write_out(tmp_path / "call", verbose=False)
    x = RNG.standard_normal((4, 3)).astype("float32")
    assert_close(serving_loader.load(tmp_path / "call").serve(x), model.predict(x, verbose=0))


def test_multi_platform_lowering(model, tmp_path):
    """An artifact lowered for CPU and CUDA (written here, without a GPU) runs on CPU."""
    model.export(tmp_path / "both", platforms=("cpu", "cuda"), verbose=False)
    art = serving_loader.load(tmp_path / "both")
    assert art.serve.exported.platforms == ("cpu", "cuda")
    x = RNG.standard_normal((2, 3)).astype("float32")
    assert_close(art.serve(x), model.predict(x, verbose=0))


@pytest.mark.parametrize("fmt,needs", [("tf_saved_model", "TensorFlow"),
                                       ("litert", "TensorFlow Lite"), ("torch", "PyTorch"),
                                       ("openvino", "OpenVINO")])
def test_keras_formats_needing_other_frameworks_are_refused(model, tmp_path, fmt, needs):
    with pytest.raises(ValueError, match=f"format='{fmt}' needs {needs}.*'jax'.*'onnx'"):
        model.export(tmp_path / "m", format=fmt)


def test_bad_arguments(model, tmp_path):
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be built .* or pass input_signature="):
        unbuilt.export(tmp_path / "m")
    with pytest.raises(ValueError, match="Unrecognized format='savedmodel'"):
        model.export(tmp_path / "m", format="savedmodel")
    with pytest.raises(TypeError, match=r"unsupported arguments \['jax2tf_kwargs'\]"):
        model.export(tmp_path / "m", jax2tf_kwargs={})
    archive = ExportArchive()
    with pytest.raises(ValueError, match="No endpoints"):
        archive.write_out(tmp_path / "m")
    with pytest.raises(TypeError, match="expects a lamina Layer or Model, received int"):
        archive.track(3)
    with pytest.raises(ValueError, match="needs an input_signature"):
        archive.add_endpoint("serve", model.call)
    spec = [keras.InputSpec(shape=(None, 3), dtype="float32")]
    archive.add_endpoint("serve", model.call, spec)
    with pytest.raises(ValueError, match="already used"):
        archive.add_endpoint("serve", model.call, spec)
    with pytest.raises(ValueError, match="Python identifier.*received 'variables'"):
        archive.add_endpoint("variables", model.call, spec)
    with pytest.raises(ValueError, match="needs both shape and dtype"):
        archive.add_endpoint("other", model.call, [keras.InputSpec(shape=(None, 3))])
    with pytest.raises(ValueError, match=r"options for format='jax' are \['platforms'\]"):
        archive.write_out(tmp_path / "m", options={"opset_version": 17})
    archive.add_endpoint("again", model.call, spec)
    with pytest.raises(ValueError, match="An ONNX file holds one graph.*2 endpoints"):
        archive.write_out(tmp_path / "m.onnx", format="onnx")
    with pytest.raises(ValueError, match="is not a readable lamina jax export folder"):
        serving_loader.load(tmp_path / "missing")


def test_bfloat16_variables_round_trip(tmp_path):
    """NumPy has no bfloat16: stored as uint16, read back as bfloat16, same bits."""
    inputs = keras.Input((3,))
    half = keras.Model(inputs, keras.layers.Dense(2, dtype="bfloat16")(inputs))
    half.export(tmp_path / "bf16", verbose=False)
    art = serving_loader.load(tmp_path / "bf16")
    assert [str(v.dtype) for v in art.variables] == ["bfloat16", "bfloat16"]
    for got, var in zip(art.variables, half.weights):
        np.testing.assert_array_equal(np.asarray(got, "float32"), np.asarray(var.numpy(), "float32"))
    x = RNG.standard_normal((2, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(art.serve(x), "float32"),
                                  np.asarray(half.predict(x, verbose=0), "float32"))
