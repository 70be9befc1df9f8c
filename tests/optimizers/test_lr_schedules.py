"""Learning-rate schedules match Keras 3 in numbers and configs."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from lamina.optimizers import schedules

SCHEDULES = {
    "exponential": lambda m: m.ExponentialDecay(0.1, 3, 0.5),
    "exponential_staircase": lambda m: m.ExponentialDecay(0.1, 3, 0.5, staircase=True),
    "piecewise": lambda m: m.PiecewiseConstantDecay([2, 5], [0.3, 0.2, 0.1]),
    "polynomial": lambda m: m.PolynomialDecay(0.1, 5, end_learning_rate=0.01, power=2.0),
    "polynomial_cycle": lambda m: m.PolynomialDecay(0.1, 4, power=0.5, cycle=True),
    "inverse_time": lambda m: m.InverseTimeDecay(0.1, 2, 0.5),
    "inverse_time_staircase": lambda m: m.InverseTimeDecay(0.1, 2, 0.5, staircase=True),
    "cosine": lambda m: m.CosineDecay(0.1, 6, alpha=0.1),
    "cosine_warmup": lambda m: m.CosineDecay(0.0, 6, alpha=0.1, warmup_target=0.5,
                                             warmup_steps=4),
    "cosine_restarts": lambda m: m.CosineDecayRestarts(0.1, 3),
    "cosine_restarts_tmul1": lambda m: m.CosineDecayRestarts(0.1, 2, t_mul=1.0, m_mul=0.5,
                                                             alpha=0.05),
}
STEPS = np.array([0, 1, 2, 3, 4, 5, 7, 9, 12, 15], dtype=np.int32)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_values_and_config_match_keras(name):
    ours = SCHEDULES[name](schedules)
    theirs = SCHEDULES[name](keras.optimizers.schedules)
    try:
        expected = np.asarray(theirs(STEPS), np.float32)
    except Exception:  # Keras's warmup branch needs a scalar step
        expected = np.array([float(theirs(int(s))) for s in STEPS])
    eager = np.array([float(ours(int(s))) for s in STEPS[:4]])
    # Pure jnp of the step: the same numbers under jit with a traced step.
    traced = np.asarray(jax.jit(jax.vmap(ours))(jnp.asarray(STEPS)))
    np.testing.assert_allclose(eager, expected[:4], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(traced, expected, rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert schedules.serialize(ours) == keras.optimizers.schedules.serialize(theirs)


def test_deserialize_keras_config_round_trip():
    config = keras.optimizers.schedules.serialize(
        keras.optimizers.schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=3))
    restored = schedules.deserialize(config)
    assert isinstance(restored, schedules.CosineDecay)
    assert restored.get_config() == config["config"]
    assert isinstance(schedules.ExponentialDecay.from_config(
        {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}),
        schedules.ExponentialDecay)


def test_invalid_schedule_arguments():
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1])
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)
