"""OrbaxCheckpoint: Keras 3's arguments and step numbering, sharded checkpoints that
restore onto another device count, and resuming a fit as BackupAndRestore does."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina

ocp = pytest.importorskip("orbax.checkpoint", reason="orbax-checkpoint is an optional extra")

N, BATCH = 48, 8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-1.0], [2.0]], "float32")).astype("float32")


def fresh_model():
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input((3,))
    hidden = lamina.layers.Dropout(0.2)(lamina.layers.Dense(8, activation="relu")(inputs))
    model = lamina.Model(inputs, lamina.layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def uninterrupted(data):
    model = fresh_model()
    history = model.fit(*data, batch_size=BATCH, epochs=3, verbose=0).history
    return model.get_weights(), history


def steps_in(directory):
    return sorted(int(d) for d in os.listdir(directory) if d.isdigit())


def test_resume_between_batches_ends_bitwise_like_an_uninterrupted_fit(
        tmp_path, data, uninterrupted):
    class StopAt(lamina.callbacks.Callback):  # an interruption in epoch 1, batch 4
        def on_train_batch_end(self, batch, logs=None):
            if self.params is not None and self.model.fit_position().epoch == 1 and batch == 3:
                self.model.stop_training = True

    first = fresh_model()
    checkpoint = lamina.callbacks.OrbaxCheckpoint(tmp_path, save_freq=2, max_to_keep=2,
                                                  resume=True)
    first.fit(*data, batch_size=BATCH, epochs=3, verbose=0, callbacks=[checkpoint, StopAt()])
    assert steps_in(tmp_path) == [8, 10]  # Keras numbers batch saves by batches run
    second = fresh_model()
    history = second.fit(*data, batch_size=BATCH, epochs=3, verbose=0,
                         callbacks=[lamina.callbacks.OrbaxCheckpoint(tmp_path, resume=True)])
    weights, want = uninterrupted
    for got, expected in zip(second.get_weights(), weights):
        np.testing.assert_array_equal(got, expected)
    assert history.history["loss"] == want["loss"]
    assert int(np.asarray(second.optimizer.iterations)) == 3 * N // BATCH


def test_keras_arguments_steps_and_items(tmp_path, data):
    model = fresh_model()
    every_epoch = lamina.callbacks.OrbaxCheckpoint(tmp_path / "all", max_to_keep=None,
                                                   save_on_background=False)
    best = lamina.callbacks.OrbaxCheckpoint(tmp_path / "best", monitor="loss",
                                            save_best_only=True, max_to_keep=None)
    weights_only = lamina.callbacks.OrbaxCheckpoint(tmp_path / "weights", save_weights_only=True)
    losses = model.fit(*data, batch_size=BATCH, epochs=3, verbose=0,
                       callbacks=[every_epoch, best, weights_only]).history["loss"]
    assert steps_in(tmp_path / "all") == [0, 1, 2]  # steps are epoch indices
    improved = [e for e, loss in enumerate(losses) if loss == min(losses[:e + 1])]
    assert steps_in(tmp_path / "best") == improved
    assert steps_in(tmp_path / "weights") == [2]  # max_to_keep=1
    assert not (tmp_path / "weights" / "2" / "model_config").exists()
    with open(tmp_path / "all" / "2" / "model_config" / "metadata") as f:
        config = json.load(f)
    assert config["class_name"] == "Functional" and "compile_config" in config
    assert every_epoch.latest_step() == 2
    for bad in ({"save_freq": "batch"}, {"save_freq": 0}, {"max_to_keep": 0},
                {"save_weights_only": True, "resume": True}):
        with pytest.raises(ValueError):
            lamina.callbacks.OrbaxCheckpoint(tmp_path / "x", **bad)


def test_a_checkpoint_of_another_model_is_refused(tmp_path, data):
    fresh_model().fit(*data, batch_size=BATCH, epochs=1, verbose=0,
                      callbacks=[lamina.callbacks.OrbaxCheckpoint(tmp_path)])
    inputs = lamina.Input((3,))
    other = lamina.Model(inputs, lamina.layers.Dense(1)(inputs))
    other.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="holds|does not fit|made by"):
        other.fit(*data, batch_size=BATCH, epochs=2, verbose=0,
                  callbacks=[lamina.callbacks.OrbaxCheckpoint(tmp_path, resume=True)])


SHARDED_RUN = textwrap.dedent('''
    import os, sys, json
    devices, directory, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    import lamina

    mesh = Mesh(np.array(jax.devices()), ("shards",))

    def sharded_model():
        lamina.utils.set_random_seed(0)
        inputs = lamina.Input((6,))
        hidden = lamina.layers.Dense(8, activation="relu")(inputs)
        model = lamina.Model(inputs, lamina.layers.Dense(4)(hidden))
        model.compile(optimizer="adam", loss="mse")
        for v in model.trainable_variables:  # the first axis the devices divide
            axis = next((i for i, d in enumerate(v.shape) if d % devices == 0), None)
            spec = [None] * len(v.shape)
            if axis is not None:
                spec[axis] = "shards"
            v.write(jax.device_put(v.value, NamedSharding(mesh, PartitionSpec(*spec))))
        return model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = np.tanh(x[:, :4] * 2.0).astype("float32")
    callback = lamina.callbacks.OrbaxCheckpoint(directory, resume=True)
    model = sharded_model()
    epochs = 2 if devices == 4 else 4
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[callback])
    result = {"devices": [len(v.value.sharding.device_set) for v in model.trainable_variables],
              "sharded": [not v.value.sharding.is_fully_replicated
                          for v in model.trainable_variables],
              "epochs": history.epoch, "weights": [w.tolist() for w in model.get_weights()]}
    if devices == 2:
        reference = sharded_model()
        reference.fit(x, y, batch_size=16, epochs=4, verbose=0)
        result["reference"] = [w.tolist() for w in reference.get_weights()]
    with open(out, "w") as f:
        json.dump(result, f)
''')


def test_written_on_four_devices_restored_onto_two_continues_like_one_run(tmp_path):
    script = tmp_path / "sharded_run.py"
    script.write_text(SHARDED_RUN)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    results = {}
    for devices in (4, 2):
        out = tmp_path / f"{devices}.json"
        subprocess.run([sys.executable, str(script), str(devices), str(tmp_path / "ckpt"),
                        str(out)], check=True, env=env, timeout=300)
        results[devices] = json.loads(out.read_text())
    # Every variable was split over 4 devices when written, and is over 2 when restored.
    assert results[4]["devices"] == [4, 4, 4, 4] and all(results[4]["sharded"])
    assert results[2]["devices"] == [2, 2, 2, 2] and all(results[2]["sharded"])
    assert results[4]["epochs"] == [0, 1]
    assert results[2]["epochs"] == [0, 1, 2, 3]  # the resumed run's history covers all
    for got, want in zip(results[2]["weights"], results[2]["reference"]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
