"""Checks that need 4 devices: run by test_sharded.py in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (skipped elsewhere).

One single-device lamina run is the reference; the same model and data train
under lamina's DataParallel and ModelParallel and under Keras 3's (JAX backend),
all from the same initial weights, in data order (shuffle=False) so that every run
sees the same batches.
"""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from oracle import assert_close, keras

import lamina
from lamina import distribution as ld
from lamina.distribution.placement import placement_for, state_shardings

pytestmark = pytest.mark.skipif(jax.device_count() != 4, reason="needs 4 devices")

N, BATCH, EPOCHS = 64, 16, 2


def build(lib, seed=3):
    lib.utils.set_random_seed(seed)
    inp = lib.Input((6,))
    h = lib.layers.Dense(8, activation="relu", name="dense")(inp)
    h = lib.layers.BatchNormalization(name="norm")(h)
    out = lib.layers.Dense(4, name="head")(h)
    model = lib.Model(inp, out)
    model.compile(lib.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, 6)).astype("float32"), rng.normal(size=(N, 4)).astype("float32")


@pytest.fixture(scope="module")
def initial():
    return build(lamina).get_weights()


def train(lib, initial, data, scope=None, then_predict=True):
    """A model built (under ``scope``) with ``initial`` weights, trained on ``data``;
    then (``then_predict``) evaluated and asked for predictions."""
    with scope or _nothing():
        model = build(lib)
        model.set_weights(initial)
        history = model.fit(*data, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
        results = {"weights": model.get_weights(), "history": history.history}
        if then_predict:
            results["evaluate"] = model.evaluate(*data, batch_size=BATCH, verbose=0)
            results["predict"] = model.predict(data[0], batch_size=BATCH, verbose=0)
    return model, results


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="module")
def reference(initial, data):
    return train(lamina, initial, data)[1]


def mesh_2x2(lib):
    mesh = lib.distribution.DeviceMesh((2, 2), ("batch", "model"))
    layout_map = lib.distribution.LayoutMap(mesh)
    layout_map["dense/kernel"] = (None, "model")
    layout_map[".*/bias"] = ("model",)
    layout_map["head/kernel"] = ("model", None)
    return lib.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")


@pytest.fixture(scope="module")
def data_parallel(initial, data):
    return train(lamina, initial, data, ld.DataParallel().scope())


@pytest.fixture(scope="module")
def model_parallel(initial, data):
    return train(lamina, initial, data, mesh_2x2(lamina).scope(), then_predict=False)


def same_run(actual, expected):
    assert_close(actual["weights"], expected["weights"])
    for name in expected["history"]:
        assert_close(actual["history"][name], expected["history"][name], err_msg=name)
    for key in ("evaluate", "predict"):
        if key in actual and key in expected:
            assert_close(actual[key], expected[key], err_msg=key)


def axes(array) -> tuple:
    """The mesh axis of each dimension of ``array`` (None: not split)."""
    spec = tuple(array.sharding.spec)
    return spec + (None,) * (array.ndim - len(spec))


def test_data_parallel_trains_like_one_device(data_parallel, reference):
    model, results = data_parallel
    same_run(results, reference)
    assert model._trace_counts["train"] == 1  # the shardings stay put: no retrace
    for var in model.variables:
        assert len(var.value.sharding.device_set) == 4 and var.value.sharding.is_fully_replicated


def test_data_parallel_splits_each_batch(data_parallel):
    model, _ = data_parallel
    with ld.DataParallel().scope():
        placement = placement_for(model)
        block = np.zeros((16, BATCH, 6), "float32")  # a block of batches: split axis 1
        placed = placement.place_batch(block, axis=1)
        batch = placement.place_batch(np.zeros((BATCH, 6), "float32"), axis=0)
        odd = placement.place_batch(np.arange(6.0).reshape(3, 2), axis=0)
    assert placed.sharding.spec == P(None, "batch", None)
    assert {s.data.shape for s in placed.addressable_shards} == {(16, BATCH // 4, 6)}
    assert {s.data.shape for s in batch.addressable_shards} == {(BATCH // 4, 6)}
    theirs = keras.distribution.DataParallel().get_data_layout((BATCH, 6)).backend_layout
    assert batch.sharding.is_equivalent_to(theirs, 2)
    # 3 rows do not split over 4 devices: replicated, not an error.
    assert odd.sharding.is_fully_replicated and len(odd.sharding.device_set) == 4


def test_model_parallel_shards_the_named_kernels(model_parallel, reference):
    model, results = model_parallel
    same_run(results, reference)
    assert model._trace_counts["train"] == 1  # the returned state keeps its shardings
    specs = {v.path: axes(v.value) for v in model.weights}
    assert specs["dense/kernel"] == (None, "model")
    assert specs["head/kernel"] == ("model", None)
    assert specs["dense/bias"] == specs["head/bias"] == ("model",)
    assert specs["norm/gamma"] == specs["norm/moving_mean"] == (None,)  # no key: replicated
    kernel = model.get_layer("dense").kernel.value
    assert {s.data.shape for s in kernel.addressable_shards} == {(6, 4)}  # 8 columns / 2
    slots = {v.path: axes(v.value) for v in model.optimizer.variables}
    opt = model.optimizer.name
    assert slots[f"{opt}/dense_kernel_momentum"] == slots[f"{opt}/dense_kernel_velocity"] == (
        None, "model")
    assert slots[f"{opt}/head_kernel_velocity"] == ("model", None)
    assert slots[f"{opt}/iteration"] == ()
    exposed = state_shardings(model)  # what a checkpoint restores onto
    for shardings, variables in ((exposed.trainable_variables, model.trainable_variables),
                                 (exposed.optimizer_variables, model.optimizer.variables)):
        for sharding, var in zip(shardings, variables):
            assert var.value.sharding.is_equivalent_to(sharding, var.ndim), var.path


def test_model_parallel_matches_keras(model_parallel, initial, data):
    model, results = model_parallel
    keras_model, keras_results = train(keras, initial, data, mesh_2x2(keras).scope(),
                                       then_predict=False)
    same_run(results, keras_results)
    theirs = {v.path: v.value.sharding for v in keras_model.weights}
    for var in model.weights:
        assert var.value.sharding.is_equivalent_to(theirs[var.path], var.ndim), var.path


def test_model_made_before_the_distribution_trains_on_batches_from_a_generator(
        initial, data, reference):
    model = build(lamina)
    model.set_weights(initial)
    x, y = data

    def batches():
        for _ in range(EPOCHS):
            for start in range(0, N, BATCH):
                yield x[start:start + BATCH], y[start:start + BATCH]

    with ld.DataParallel().scope():
        model.fit(batches(), epochs=EPOCHS, steps_per_epoch=N // BATCH, verbose=0)
        # A batch of 3 does not split over 4 devices: it is replicated.
        partial = model.predict(x[:3], verbose=0)
    assert_close(model.get_weights(), reference["weights"])
    assert model.get_layer("dense").kernel.value.sharding.is_fully_replicated
    assert len(model.get_layer("dense").kernel.value.sharding.device_set) == 4
    assert_close(partial, reference["predict"][:3])


def test_distribute_tensor_matches_keras():
    x = np.arange(32.0, dtype="float32").reshape(8, 4)
    ours = ld.TensorLayout(("batch", None), ld.DeviceMesh((4,), ["batch"]))
    theirs = keras.distribution.TensorLayout(
        ("batch", None), keras.distribution.DeviceMesh((4,), ["batch"]))
    mine = ld.distribute_tensor(x, ours)
    kept = keras.distribution.distribute_tensor(x, theirs)
    assert mine.sharding.is_equivalent_to(kept.sharding, 2)
    assert {s.data.shape for s in mine.addressable_shards} == {(2, 4)}
    traced = jax.jit(lambda a: ld.distribute_tensor(a + 1, ours))(x)
    assert axes(traced) == ("batch", None)
    np.testing.assert_array_equal(np.asarray(traced), x + 1)


@pytest.mark.slow
def test_dropout_draws_the_same_masks_on_a_split_batch(data):
    """Random bits do not depend on how the batch is split (partitionable threefry)."""
    def run(scope):
        with scope:
            lamina.utils.set_random_seed(2)
            inp = lamina.Input((6,))
            h = lamina.layers.Dropout(0.5)(lamina.layers.Dense(16, name="dense")(inp))
            model = lamina.Model(inp, lamina.layers.Dense(4, name="head")(h))
            model.compile("sgd", "mse")
            model.fit(*data, batch_size=BATCH, epochs=EPOCHS, verbose=0)
            return model.get_weights()

    assert_close(run(ld.DataParallel().scope()), run(_nothing()))
