"""Mixed precision vs Keras 3: float32 variables, bfloat16/float16 compute, float32
losses, and dynamic loss scaling for float16 (LossScaleOptimizer)."""

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina

BF16 = dict(rtol=2e-2, atol=2e-2)  # bfloat16 keeps 8 significant bits


@pytest.fixture
def policy():
    """Sets the same global policy in lamina and Keras; restores float32 after."""
    def set_both(name):
        lamina.mixed_precision.set_global_policy(name)
        keras.mixed_precision.set_global_policy(name)

    yield set_both
    lamina.mixed_precision.set_global_policy(None)
    keras.mixed_precision.set_global_policy("float32")


def classifier(lib, final_dtype=None):
    """The seed's 784-64-64-10 classifier (softmax in its own layer)."""
    inputs = lib.Input((784,))
    x = lib.layers.Dense(64, activation="relu")(inputs)
    x = lib.layers.Dense(64, activation="relu")(x)
    x = lib.layers.Dense(10)(x)
    outputs = lib.layers.Activation("softmax", dtype=final_dtype)(x)
    return lib.Model(inputs, outputs)


def blobs(n=256, seed=0):
    """Ten separable classes in 784 dimensions."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(10, 784)).astype("float32")
    y = rng.integers(0, 10, n).astype("int32")
    x = centers[y] + 0.5 * rng.normal(size=(n, 784)).astype("float32")
    return x, y


@pytest.fixture(scope="module")
def data():
    return blobs()


def test_mixed_bfloat16_keeps_float32_variables_and_computes_in_bfloat16(policy, data):
    policy("mixed_bfloat16")
    ours, theirs = classifier(lamina), classifier(keras)
    copy_weights(theirs, ours)
    assert lamina.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert [v.dtype for v in ours.weights] == ["float32"] * 6
    assert ours.layers[1].compute_dtype == "bfloat16"
    assert ours.layers[1].variable_dtype == "float32"
    # The graph's tensors carry the compute dtype, as Keras's do.
    assert ours.layers[1].output.dtype == theirs.layers[1].output.dtype == "bfloat16"
    assert ours.output.dtype == theirs.output.dtype == "bfloat16"
    # Inside the compiled call the matmuls take bfloat16 operands.
    tv = [v.value for v in ours.trainable_variables]
    jaxpr = jax.make_jaxpr(lambda t, x: ours.stateless_call(t, [], x)[0])(tv, data[0][:4])
    dots = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "dot_general"]
    assert len(dots) == 3
    assert all(str(v.aval.dtype) == "bfloat16" for e in dots for v in e.invars)
    x = data[0][:64]
    got = ours.predict(x, verbose=0)
    want = theirs.predict(x, verbose=0)
    assert got.dtype == want.dtype == np.dtype("bfloat16")
    assert_close(got.astype("float32"), want.astype("float32"), **BF16)
    assert_close(np.asarray(ours(x)).astype("float32"), want.astype("float32"), **BF16)


def test_mixed_bfloat16_classifier_learns_like_keras(policy, data):
    policy("mixed_bfloat16")
    ours, theirs = classifier(lamina), classifier(keras)
    copy_weights(theirs, ours)
    for m in (ours, theirs):
        m.compile(optimizer="adam",
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data
    h_ours = ours.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    assert h_ours["loss"][-1] < 0.5 * h_ours["loss"][0]
    assert h_ours["accuracy"][-1] > 0.9
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=5e-2, atol=2e-2)
    assert [v.dtype for v in ours.weights] == ["float32"] * 6
    assert [v.dtype for v in ours.optimizer.variables if "float" in v.dtype] == [
        "float32"] * (len(ours.optimizer.variables) - 1)
    assert_close(ours.get_weights(), theirs.get_weights(), rtol=5e-2, atol=5e-3)


def test_softmax_layer_in_float32_and_losses_in_float32(policy, data):
    policy("mixed_bfloat16")
    ours, theirs = classifier(lamina, "float32"), classifier(keras, "float32")
    copy_weights(theirs, ours)
    assert ours.output.dtype == theirs.output.dtype == "float32"
    x, y = data[0][:64], data[1][:64]
    got, want = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    assert got.dtype == want.dtype == np.dtype("float32")
    assert_close(got, want, **BF16)
    # The loss of bfloat16 predictions is computed in float32, as Keras computes it.
    loss = lamina.losses.SparseCategoricalCrossentropy()
    assert loss.dtype == "float32"
    pred16 = jax.numpy.asarray(want, "bfloat16")
    value = loss(y, pred16)
    assert value.dtype == "float32"
    assert_close(value, keras.losses.SparseCategoricalCrossentropy()(y, pred16), 1e-6, 1e-6)


def overflowing_pair(lib):
    """A float16 regression whose scaled gradients overflow at the start."""
    inputs = lib.Input((4,))
    outputs = lib.layers.Dense(3)(lib.layers.Dense(8, activation="relu")(inputs))
    return lib.Model(inputs, outputs)


def test_mixed_float16_dynamic_loss_scale_follows_keras(policy):
    policy("mixed_float16")
    keras.utils.set_random_seed(3)
    ours, theirs = overflowing_pair(lamina), overflowing_pair(keras)
    copy_weights(theirs, ours)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
    # compile wraps the optimizer for float16, as Keras does (auto_scale_loss).
    assert isinstance(ours.optimizer, lamina.mixed_precision.LossScaleOptimizer)
    assert ours.optimizer.name == theirs.optimizer.name
    for m in (ours, theirs):  # grow after every 2 finite steps to see both directions
        m.optimizer.dynamic_growth_steps = 2
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = (300.0 * rng.normal(size=(8, 3))).astype("float32")
    scales_ours, scales_theirs, losses_ours, losses_theirs = [], [], [], []
    for _ in range(14):
        losses_ours.append(ours.train_on_batch(x, y))
        losses_theirs.append(theirs.train_on_batch(x, y))
        scales_ours.append(float(np.asarray(ours.optimizer.dynamic_scale)))
        scales_theirs.append(float(np.asarray(theirs.optimizer.dynamic_scale)))
    assert scales_ours == scales_theirs
    assert min(scales_ours) < 2.0**15 / 8  # it overflowed several times
    assert any(b > a for a, b in zip(scales_ours, scales_ours[1:]))  # and grew again
    assert [v.dtype for v in ours.weights] == ["float32"] * 4
    np.testing.assert_allclose(losses_ours, losses_theirs, rtol=1e-2)
    assert_close(ours.get_weights(), theirs.get_weights(), rtol=1e-2, atol=1e-3)
