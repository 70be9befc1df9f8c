"""TensorBoard: event files read back with tensorboard's own reader; tags, steps and
values as Keras names them and as History holds them."""

import json
import os
import sys

import numpy as np
import pytest

import lamina
from lamina.callbacks import TensorBoard

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 4)).astype("float32")
Y = RNG.standard_normal((40, 2)).astype("float32")


def tiny_model():
    inputs = lamina.Input((4,), name="x")
    outputs = lamina.layers.Dense(2, name="out")(lamina.layers.Dense(3, name="hidden")(inputs))
    model = lamina.Model(inputs, outputs, name="tiny")
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def read(folder):
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.SCALARS: 0,
                                    event_accumulator.HISTOGRAMS: 0,
                                    event_accumulator.IMAGES: 0,
                                    event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("tb")
    model = tiny_model()
    cb = TensorBoard(log_dir=str(log_dir), histogram_freq=2, write_images=True,
                     update_freq=2, write_steps_per_second=True)
    # 40 samples, batch 16: 3 batches an epoch (the last partial).
    history = model.fit(X, Y, batch_size=16, epochs=3, validation_data=(X[:8], Y[:8]),
                        callbacks=[cb], verbose=0)
    return log_dir, model, history.history


def test_epoch_scalars_equal_history(run):
    log_dir, _, history = run
    train, val = read(log_dir / "train"), read(log_dir / "validation")
    for name in ("loss", "mae"):
        got = scalars(train, f"epoch_{name}")
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], history[name], rtol=1e-6)
        got = scalars(val, f"epoch_{name}")
        np.testing.assert_allclose([v for _, v in got], history[f"val_{name}"], rtol=1e-6)
    assert [v for _, v in scalars(train, "epoch_learning_rate")] == pytest.approx([0.05] * 3)
    assert len(scalars(train, "epoch_steps_per_second")) == 3
    # Evaluation results at the optimizer's iteration count (3 steps an epoch).
    got = scalars(val, "evaluation_loss_vs_iterations")
    assert [s for s, _ in got] == [3, 6, 9]
    np.testing.assert_allclose([v for _, v in got], history["val_loss"], rtol=1e-6)
    assert not any(t.startswith("epoch_val") for t in val.Tags()["scalars"])


def test_batch_scalars_every_update_freq_batches(run):
    log_dir, _, history = run
    train = read(log_dir / "train")
    steps = [s for s, _ in scalars(train, "batch_loss")]
    assert steps == [2, 4, 6, 8]  # global batch counts 1..9, every second one
    assert [s for s, _ in scalars(train, "batch_steps_per_second")] == steps
    # The last batch of an epoch logs the epoch's running mean: batch 6 ends epoch 2.
    assert dict(scalars(train, "batch_loss"))[6] == pytest.approx(history["loss"][1], rel=1e-6)


def test_histograms_images_and_graph(run):
    log_dir, model, _ = run
    train = read(log_dir / "train")
    tags = train.Tags()
    expected = {f"{w.path}/histogram" for w in model.weights}
    assert set(tags["histograms"]) == expected
    events = train.Histograms("hidden/kernel/histogram")
    assert [e.step for e in events] == [0, 2]
    last = events[-1].histogram_value
    kernel = np.asarray(model.get_layer("hidden").kernel.value, dtype=np.float64)
    assert last.num == kernel.size and last.min == pytest.approx(kernel.min())
    assert last.max == pytest.approx(kernel.max()) and sum(last.bucket) == kernel.size
    assert last.sum == pytest.approx(kernel.sum(), rel=1e-5)
    assert set(tags["images"]) == {f"{w.path}/image" for w in model.weights}
    image = train.Images("hidden/kernel/image")[-1]
    assert (image.height, image.width) == (3, 4)  # the 4x3 kernel, longer side across
    # The model's config for TensorBoard's graph tab, as Keras writes it.
    keras_config = train.Tensors("keras")[0]
    assert keras_config.step == 0
    config = json.loads(keras_config.tensor_proto.string_val[0])
    assert config == json.loads(model.to_json())
    assert train.SummaryMetadata("keras").plugin_data.plugin_name == "graph_keras_model"


def test_epoch_only_by_default_keeps_fused_loops(tmp_path):
    model = tiny_model()
    cb = TensorBoard(log_dir=str(tmp_path))
    assert not cb._needs_batch_hooks("train")
    model.fit(X, Y, batch_size=16, epochs=2, callbacks=[cb], verbose=0)
    train = read(tmp_path / "train")
    assert "batch_loss" not in train.Tags()["scalars"] and not train.Tags()["histograms"]
    assert not os.path.exists(tmp_path / "validation")
    # evaluate on its own: the evaluation scalars at the current iteration count.
    model.evaluate(X, Y, callbacks=[TensorBoard(log_dir=str(tmp_path))], verbose=0)
    got = scalars(read(tmp_path / "validation"), "evaluation_mae_vs_iterations")
    assert [s for s, _ in got] == [6]


def test_profile_batch_writes_a_jax_trace(tmp_path):
    model = tiny_model()
    cb = TensorBoard(log_dir=str(tmp_path), profile_batch=(2, 3), write_graph=False)
    model.fit(X, Y, batch_size=16, epochs=2, callbacks=[cb], verbose=0)
    traces = [f for _, _, files in os.walk(tmp_path / "train" / "plugins" / "profile")
              for f in files if f.endswith(".xplane.pb")]
    assert traces
    assert not cb._tracing


def test_bad_arguments_and_missing_package(tmp_path, monkeypatch):
    with pytest.raises(NotImplementedError, match="embeddings_freq"):
        TensorBoard(embeddings_freq=1)
    with pytest.raises(ValueError, match="profile_batch"):
        TensorBoard(profile_batch=(3, 1))
    with pytest.raises(ValueError, match="profile_batch"):
        TensorBoard(profile_batch="a,b")
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="sometimes")
    assert TensorBoard(profile_batch="2,4")._stop_batch == 4
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(ImportError, match=r"lamina\[tensorboard\]"):
        tiny_model().fit(X, Y, epochs=1, callbacks=[TensorBoard(str(tmp_path))], verbose=0)
