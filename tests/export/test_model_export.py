"""model.export: artifacts served in a fresh process without lamina give predict's outputs.

The seed's multi-input multi-output model and an RNN model (GRU + SimpleRNN over a
free number of timesteps) are exported in both formats; one subprocess, in which
importing lamina is blocked, serves them with only jax/numpy (format "jax") and
onnxruntime (format "onnx") at two batch sizes; the outputs must equal
``model.predict`` to float32 tolerance.
"""

import importlib.util
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from oracle import assert_close
from test_seed_models import headline

import lamina as keras

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("jax2onnx", "onnxruntime"))
NO_ONNX = "jax2onnx and onnxruntime (the `onnx` extra) are not installed"
BATCHES = (3, 17)

SERVE = textwrap.dedent("""
    import importlib.abc, json, sys
    import numpy as np

    class NoLamina(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "lamina":
                raise ImportError("lamina must not be needed to serve an artifact")

    sys.meta_path.insert(0, NoLamina())
    plan = json.loads(sys.argv[1])
    data = np.load(plan["inputs"])
    results = {}
    for name, art in plan["artifacts"].items():
        for n in plan["batches"]:
            xs = [data[f"{name}/{n}/{i}"] for i in range(art["n_inputs"])]
            if art["format"] == "jax":
                sys.path.insert(0, art["path"])
                import serving_loader
                sys.path.pop(0)
                outputs = serving_loader.load(art["path"]).serve(xs if len(xs) > 1 else xs[0])
                outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            else:
                import onnxruntime as ort
                options = ort.SessionOptions()
                options.log_severity_level = 3
                session = ort.InferenceSession(art["path"], options)
                names = [i.name for i in session.get_inputs()]
                results[f"{name}/input_names"] = np.array(names)
                outputs = session.run(None, dict(zip(names, xs)))
            for i, out in enumerate(outputs):
                results[f"{name}/{n}/out{i}"] = np.asarray(out)
    assert "lamina" not in sys.modules and "keras" not in sys.modules
    np.savez(plan["outputs"], **results)
""")


def _rnn_model():
    inputs = keras.Input((None, 4), name="seq")
    x = keras.layers.GRU(6, return_sequences=True)(inputs)
    x = keras.layers.SimpleRNN(5, return_sequences=True)(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def _inputs(name, n, rng):
    if name.startswith("headline"):
        return [rng.integers(1, 10000, (n, 100)).astype("int32"),
                rng.standard_normal((n, 5)).astype("float32")]
    # The RNN model also gets a different number of timesteps per batch size.
    return [rng.standard_normal((n, n // 2 + 2, 4)).astype("float32")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Exports both models in both formats, serves them in one fresh process and
    returns ``(models, inputs, served outputs, folder)``."""
    folder = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(7)
    keras.utils.set_random_seed(1)
    models = {"headline": headline(keras), "rnn": _rnn_model()}
    formats = ("jax", "onnx") if HAS_ONNX else ("jax",)
    artifacts, inputs = {}, {}
    for model_name, model in models.items():
        for fmt in formats:
            name = f"{model_name}_{fmt}"
            path = folder / (name + (".onnx" if fmt == "onnx" else ""))
            model.export(path, format=fmt, verbose=False)
            artifacts[name] = {"path": str(path), "format": fmt,
                               "n_inputs": len(model.inputs)}
        for n in BATCHES:
            for i, x in enumerate(_inputs(model_name, n, rng)):
                for fmt in formats:
                    inputs[f"{model_name}_{fmt}/{n}/{i}"] = x
    np.savez(folder / "inputs.npz", **inputs)
    plan = {"artifacts": artifacts, "batches": BATCHES, "inputs": str(folder / "inputs.npz"),
            "outputs": str(folder / "outputs.npz")}
    run = subprocess.run([sys.executable, "-c", SERVE, json.dumps(plan)], capture_output=True,
                         text=True, cwd=folder, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return models, inputs, dict(np.load(folder / "outputs.npz")), folder


def _check_against_predict(served, model_name, fmt):
    models, inputs, outputs, _ = served
    model = models[model_name]
    for n in BATCHES:
        xs = [inputs[f"{model_name}_{fmt}/{n}/{i}"] for i in range(len(model.inputs))]
        expected = model.predict(xs if len(xs) > 1 else xs[0], batch_size=n, verbose=0)
        expected = expected if isinstance(expected, list) else [expected]
        got = [outputs[f"{model_name}_{fmt}/{n}/out{i}"] for i in range(len(expected))]
        assert [g.shape for g in got] == [e.shape for e in expected]
        assert expected[0].shape[0] == n
        assert_close(got, expected, err_msg=f"{model_name} {fmt} batch {n}")


@pytest.mark.parametrize("model_name", ["headline", "rnn"])
def test_jax_artifact_served_without_lamina_matches_predict(served, model_name):
    _check_against_predict(served, model_name, "jax")


@pytest.mark.skipif(not HAS_ONNX, reason=NO_ONNX)
@pytest.mark.parametrize("model_name", ["headline", "rnn"])
def test_onnx_artifact_in_onnxruntime_matches_predict(served, model_name):
    _check_against_predict(served, model_name, "onnx")
    # Inputs are named after the model's inputs, as Keras names them.
    expected = [t.name for t in served[0][model_name].inputs]
    assert list(served[2][f"{model_name}_onnx/input_names"]) == expected


def test_jax_artifact_layout_and_manifest(served):
    folder = served[3] / "headline_jax"
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json", "serve.jaxexport", "serving_loader.py", "variables.npz"]
    manifest = json.loads((folder / "manifest.json").read_text())
    specs = manifest["endpoints"]["serve"]["inputs"]["tuple"][0]["list"]
    assert [s["spec"] for s in specs] == [
        {"shape": [None, 100], "dtype": "int32", "name": "main_input"},
        {"shape": [None, 5], "dtype": "float32", "name": "aux_input"}]
    weights = served[0]["headline"].weights
    assert [v["shape"] for v in manifest["variables"]] == [list(w.shape) for w in weights]
    with np.load(folder / "variables.npz") as stored:
        np.testing.assert_array_equal(stored["variables/0"], weights[0].numpy())


@pytest.mark.slow  # about 7 s: Keras builds, calls and converts its own model
@pytest.mark.skipif(not HAS_ONNX, reason=NO_ONNX)
def test_onnx_artifact_has_keras_inputs_and_numbers(served, tmp_path):
    """Keras 3 (JAX backend, also through jax2onnx) exports the same RNN model with the
    same weights: same input names, dims and dtypes, and the same outputs."""
    import onnxruntime as ort
    from oracle import copy_weights
    from oracle import keras as real_keras

    model = served[0]["rnn"]
    inputs = real_keras.Input((None, 4), name="seq")
    x = real_keras.layers.GRU(6, return_sequences=True)(inputs)
    x = real_keras.layers.SimpleRNN(5, return_sequences=True)(x)
    reference = real_keras.Model(inputs, real_keras.layers.Dense(3, name="head")(x))
    copy_weights(model, reference)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype("float32")
    reference(x)  # Keras exports only models that were called
    reference.export(tmp_path / "keras.onnx", format="onnx", verbose=False)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sessions = [ort.InferenceSession(p, options)
                for p in (tmp_path / "keras.onnx", served[3] / "rnn_onnx.onnx")]
    described = [[(i.name, i.shape, i.type) for i in s.get_inputs()] for s in sessions]
    assert described[0] == described[1] == [("seq", ["batch", "dim_0_1", 4], "tensor(float)")]
    assert_close(sessions[1].run(None, {"seq": x}), sessions[0].run(None, {"seq": x}))
