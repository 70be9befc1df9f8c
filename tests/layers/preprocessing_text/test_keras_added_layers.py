"""Layers Keras 3 added (RMSNormalization, adaptive pooling, ReversibleEmbedding, the
spectrograms and the STFT initializer), sparse outputs, layers.serialize/deserialize
and FlaxLayer: outputs and configs against Keras 3 on the same inputs and weights."""

import numpy as np
import pytest
from jax.experimental import sparse as jax_sparse
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers

RNG = np.random.default_rng(0)


def _compare(name, kwargs, *inputs, rtol=1e-5, atol=1e-5, **call_kwargs):
    """Builds both layers, copies Keras's weights, compares outputs and configs both ways."""
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    expected = theirs(*inputs, **call_kwargs)
    ours(*inputs, **call_kwargs)
    copy_weights(theirs, ours)
    assert_close(ours(*inputs, **call_kwargs), expected, rtol, atol)
    config = {k: v for k, v in theirs.get_config().items() if k != "name"}
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == config
    rebuilt = getattr(keras.layers, name).from_config(ours.get_config())
    assert {k: v for k, v in rebuilt.get_config().items() if k != "name"} == config
    return ours


def test_rms_normalization():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    ours = _compare("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, x)
    assert ours.scale.shape == (3, 4)
    _compare("RMSNormalization", {}, x)
    inp = lamina.Input((3, 4))
    model = lamina.Model(inp, layers.RMSNormalization()(inp))
    assert model.output_shape == (None, 3, 4)


@pytest.mark.parametrize("kind", ["Average", "Max"])
def test_adaptive_pooling(kind):
    # Keep each default-run comparison small: Keras compiles every op eagerly.
    x1 = RNG.normal(size=(2, 11, 3)).astype("float32")
    x2 = RNG.normal(size=(2, 7, 9, 3)).astype("float32")
    x3 = RNG.normal(size=(1, 5, 6, 7, 2)).astype("float32")
    _compare(f"Adaptive{kind}Pooling1D", {"output_size": 4}, x1)
    _compare(f"Adaptive{kind}Pooling2D", {"output_size": (3, 4)}, x2)
    _compare(f"Adaptive{kind}Pooling2D", {"output_size": 2, "data_format": "channels_first"},
             x2)
    if kind == "Max":  # one 3D case in the default run; the other in the slow run
        _compare(f"Adaptive{kind}Pooling3D", {"output_size": (2, 3, 4)}, x3)
    inp = lamina.Input((None, 3))
    out = getattr(layers, f"Adaptive{kind}Pooling1D")(5)(inp)
    assert tuple(out.shape) == (None, 5, 3)
    with pytest.raises(TypeError):
        getattr(layers, f"Adaptive{kind}Pooling2D")((1, 2, 3))


def test_reversible_embedding():
    ids = np.array([[1, 2, 0], [3, 9, 4]])
    hidden = RNG.normal(size=(2, 3, 4)).astype("float32")
    for kwargs in ({}, {"tie_weights": False, "logit_soft_cap": 2.0}):
        kwargs = {"input_dim": 10, "output_dim": 4, **kwargs}
        ours = _compare("ReversibleEmbedding", kwargs, ids)
        theirs = keras.layers.ReversibleEmbedding(**kwargs)
        theirs(ids)
        copy_weights(theirs, ours)
        assert_close(ours(hidden, reverse=True), theirs(hidden, reverse=True))
    inp = lamina.Input((3,), dtype="int32")
    embed = layers.ReversibleEmbedding(10, 4)
    model = lamina.Model(inp, embed(embed(inp), reverse=True))
    assert model.output_shape == (None, 3, 10) and len(model.weights) == 1


def test_stft_initializer_and_spectrogram():
    for side in ("real", "imag"):
        for window, scaling, periodic in (("hann", "density", False),
                                          ("hamming", "spectrum", True), (None, None, False)):
            args = (side, window, scaling, periodic)
            assert_close(lamina.initializers.STFT(*args)((64, 1, 33)),
                         keras.initializers.STFT(*args)((64, 1, 33)), atol=1e-6)
    assert lamina.initializers.get("stft").get_config() == \
        keras.initializers.get("stft").get_config()
    x = RNG.normal(size=(2, 160, 2)).astype("float32")
    _compare("STFTSpectrogram", {"frame_length": 32, "mode": "log"}, x, atol=2e-5)
    _compare("STFTSpectrogram", {"frame_length": 32, "mode": "stft", "expand_dims": True,
                                 "frame_step": 10, "data_format": "channels_first"},
             x.transpose(0, 2, 1))


@pytest.mark.slow
def test_stft_spectrogram_modes():
    x = RNG.normal(size=(2, 160, 2)).astype("float32")
    for kwargs in ({"mode": "psd", "padding": "same"}, {"mode": "magnitude"},
                   {"mode": "real"}, {"mode": "imag", "scaling": "spectrum"},
                   {"mode": "angle", "fft_length": 64, "window": "hamming"}):
        _compare("STFTSpectrogram", {"frame_length": 32, **kwargs}, x, atol=2e-5)


MEL_CASES = [{"fft_length": 128, "sequence_stride": 32, "num_mel_bins": 20},
             {"fft_length": 128, "sequence_stride": 32, "sequence_length": 100,
              "power_to_db": False, "sampling_rate": 8000, "window": "hamming"}]


@pytest.mark.parametrize("kwargs", [MEL_CASES[0],
                                    pytest.param(MEL_CASES[1], marks=pytest.mark.slow)])
def test_mel_spectrogram(kwargs):
    audio = RNG.normal(size=(2, 400)).astype("float32")
    _compare("MelSpectrogram", kwargs, audio, rtol=1e-4, atol=1e-3)
    assert layers.MelSpectrogram(fft_length=256, sequence_stride=64).compute_output_shape(
        (2, 1000)) == (2, 128, 16)


def test_sparse_outputs():
    ids = np.array([[0, 1, 1], [2, 3, 0]])
    cases = [(layers.CategoryEncoding(4, output_mode="count", sparse=True),
              keras.layers.CategoryEncoding(4, output_mode="count", sparse=True), ids),
             (layers.Discretization([0.0, 1.0], output_mode="one_hot", sparse=True),
              layers.Discretization([0.0, 1.0], output_mode="one_hot"),
              np.array([-1.0, 0.5, 3.0]))]
    for ours, theirs, x in cases:
        out, expected = ours(x), theirs(x)
        assert isinstance(out, jax_sparse.BCOO)
        if isinstance(expected, jax_sparse.BCOO):  # Keras on JAX returns BCOO too
            expected = expected.todense()
        assert_close(out.todense(), expected)
    hashed = layers.Hashing(5, output_mode="multi_hot", sparse=True)(np.array([[3, 7]]))
    assert isinstance(hashed, jax_sparse.BCOO)
    assert_close(hashed.todense(), layers.Hashing(5, output_mode="multi_hot")(
        np.array([[3, 7]])))
    # Inside a model the output is the dense equivalent.
    inp = lamina.Input((3,), dtype="int32")
    model = lamina.Model(inp, layers.CategoryEncoding(4, output_mode="count", sparse=True)(inp))
    assert_close(model(ids), cases[0][1](ids).todense())


def test_serialize_deserialize_both_ways():
    for layer in (layers.Dense(3, activation="relu"), layers.RMSNormalization(axis=-1),
                  layers.AdaptiveMaxPooling2D(3)):
        config = layers.serialize(layer)
        theirs = keras.layers.deserialize(config)
        assert type(theirs).__name__ == type(layer).__name__
        back = layers.deserialize(keras.layers.serialize(theirs))
        assert type(back) is type(layer)
        assert {k: v for k, v in back.get_config().items() if k != "name"} == \
            {k: v for k, v in layer.get_config().items() if k != "name"}
    with pytest.raises(TypeError):
        layers.deserialize("Dense")


def test_flax_layer():
    nn = pytest.importorskip("flax.linen", reason="flax is not installed (optional)")
    import jax

    class Block(nn.Module):
        @nn.compact
        def __call__(self, x, training=False):
            x = nn.BatchNorm(use_running_average=not training)(nn.Dense(8)(x))
            return nn.Dense(2)(x)

    x = RNG.normal(size=(4, 5)).astype("float32")
    module = Block()
    variables = module.init(jax.random.PRNGKey(0), x)
    layer = layers.FlaxLayer(module, variables=variables)
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (6, 2)
    assert_close(layer(x), module.apply(variables, x))
    inp = lamina.Input((5,))
    model = lamina.Model(inp, layers.FlaxLayer(Block())(inp))
    model.compile("adam", "mse")
    history = model.fit(x, np.ones((4, 2)), epochs=5, verbose=0).history["loss"]
    assert history[-1] < history[0]
