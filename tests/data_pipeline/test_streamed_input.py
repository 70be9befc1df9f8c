"""Streamed input: grain datasets and loaders, generators and tf.data feed fit,
evaluate and predict with the results of in-memory arrays; batches are read ahead
and put on the device while the current step runs (double buffering)."""

import threading
import time

import jax
import numpy as np
import pytest

import lamina
from lamina.training import data as data_mod
from lamina.training import prefetch

N, BATCH = 96, 16


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.1).astype("float32")
    return x, y


def fresh_model():
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, lamina.layers.Dense(1)(lamina.layers.Dense(4)(inputs)))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def reference(arrays):
    """fit on the arrays in data order: weights and history."""
    model = fresh_model()
    history = model.fit(arrays[0], arrays[1], batch_size=BATCH, epochs=2, shuffle=False,
                        verbose=0).history
    return model.get_weights(), history


def batches(x, y):
    return [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]


def assert_same_fit(model, history, reference):
    weights, want = reference
    for got, expected in zip(model.get_weights(), weights):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(history["loss"], want["loss"], rtol=1e-6)


def test_grain_map_dataset_fits_evaluates_and_predicts_like_arrays(arrays, reference):
    grain = pytest.importorskip("grain", reason="grain is an optional extra")
    x, y = arrays
    dataset = grain.MapDataset.source([(x[i], y[i]) for i in range(N)]).batch(BATCH)
    model = fresh_model()
    history = model.fit(dataset, epochs=2, verbose=0).history
    assert_same_fit(model, history, reference)
    np.testing.assert_allclose(model.evaluate(dataset, verbose=0),
                               model.evaluate(x, y, batch_size=BATCH, verbose=0), rtol=1e-6)
    inputs_only = grain.MapDataset.source([x[i] for i in range(N)]).batch(BATCH)
    np.testing.assert_allclose(model.predict(inputs_only, verbose=0),
                               model.predict(x, batch_size=BATCH, verbose=0), rtol=1e-6)


def test_grain_data_loader_fits_like_arrays(arrays, reference):
    grain = pytest.importorskip("grain", reason="grain is an optional extra")
    x, y = arrays

    class Records:  # a random-access source, as grain's DataLoader reads one
        def __len__(self):
            return N

        def __getitem__(self, i):
            return x[i], y[i]

    loader = grain.DataLoader(
        data_source=Records(), worker_count=0,
        sampler=grain.samplers.IndexSampler(num_records=N, shuffle=False, num_epochs=1, seed=0),
        operations=[grain.transforms.Batch(batch_size=BATCH)])
    model = fresh_model()
    history = model.fit(loader, epochs=2, verbose=0).history
    assert_same_fit(model, history, reference)


def test_generator_fits_like_arrays_with_and_without_prefetch(arrays, reference):
    x, y = arrays
    read = []

    def one_shot():  # one generator for both epochs: steps_per_epoch splits it
        for epoch in range(2):
            for i, batch in enumerate(batches(x, y)):
                read.append((epoch, i))
                yield batch

    model = fresh_model()
    history = model.fit(one_shot(), steps_per_epoch=N // BATCH, epochs=2, verbose=0).history
    assert_same_fit(model, history, reference)
    assert len(read) == 2 * N // BATCH  # read ahead, but never past what fit needs
    prefetch.set_prefetch_batches(0)
    try:
        model = fresh_model()
        history = model.fit(one_shot(), steps_per_epoch=N // BATCH, epochs=2, verbose=0).history
    finally:
        prefetch.set_prefetch_batches(2)
    assert_same_fit(model, history, reference)


def test_batches_are_read_ahead_onto_the_device(arrays):
    x, y = arrays
    produced = []
    lock = threading.Lock()

    def source():
        for batch in batches(x, y):
            with lock:
                produced.append(1)
            yield batch

    stream = data_mod.StreamData(source(), prefetch=2)
    epoch = stream.epoch()
    bx, by, sw = next(epoch)
    assert isinstance(bx, jax.Array) and isinstance(by, jax.Array) and sw is None
    np.testing.assert_array_equal(np.asarray(bx), x[:BATCH])
    # While the consumer holds batch 0, the producer fills two slots and waits with a
    # third batch in hand: no more.
    deadline = time.monotonic() + 10
    while len(produced) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(produced) == 4
    rest = list(epoch)
    assert len(rest) == N // BATCH - 1
    np.testing.assert_array_equal(np.asarray(rest[-1][1]), y[-BATCH:])


def test_stopping_early_keeps_read_ahead_batches_of_a_one_shot_iterator(arrays):
    x, y = arrays
    stream = data_mod.StreamData(iter(batches(x, y)), prefetch=2)
    first = stream.epoch()
    taken = [next(first) for _ in range(2)]
    first.close()  # e.g. stop_training: batches already read are not lost
    rest = list(stream.epoch())
    seen = [np.asarray(b[0]) for b in taken + rest]
    assert len(seen) == N // BATCH
    np.testing.assert_array_equal(np.concatenate(seen), x)


def test_errors_in_the_source_reach_fit(arrays):
    x, y = arrays

    def broken():
        yield from batches(x, y)[:2]
        raise ValueError("record 33 is corrupt")

    with pytest.raises(ValueError, match="record 33 is corrupt"):
        fresh_model().fit(broken(), epochs=1, verbose=0)


def test_prefetch_setting_is_checked():
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="int >= 0"):
            prefetch.set_prefetch_batches(bad)
    assert prefetch.prefetch_batches() == 2


def test_tf_data_dataset_fits_like_arrays(arrays, reference):
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed; the tf.data "
                             "path (as_numpy_iterator, cardinality) runs only where it is")
    x, y = arrays
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    assert data_mod.StreamData(dataset).num_steps == N // BATCH
    model = fresh_model()
    history = model.fit(dataset, epochs=2, verbose=0).history
    assert_same_fit(model, history, reference)
