"""Helpers for the optimizer tests: run the same optimizer in Keras 3 and in lamina on fixed
gradients."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lamina.optimizers  # noqa: E402
from lamina.state import Variable  # noqa: E402

SHAPES = [(3, 2), (2,)]
NAMES = ["kernel", "bias"]


def initial_values():
    return [np.linspace(-0.6, 0.9, 6, dtype=np.float32).reshape(3, 2),
            np.array([0.5, -0.3], np.float32)]


def gradients(step: int):
    """Fixed, step-dependent gradients; the kernel's norm is above 1 so clipping bites."""
    return [(1.5 * np.sin(np.arange(6, dtype=np.float32).reshape(3, 2) + step)).astype(np.float32),
            (0.4 * np.cos(np.arange(2, dtype=np.float32) * 3 + step)).astype(np.float32)]


def run_keras(factory, steps: int):
    """Values of the two variables and of ``optimizer.variables`` after ``steps`` steps."""
    opt = factory(keras.optimizers)
    variables = [keras.Variable(v, name=n) for v, n in zip(initial_values(), NAMES)]
    for s in range(steps):
        opt.apply_gradients(list(zip(gradients(s), variables)))
    return ([np.asarray(v.value) for v in variables],
            [np.asarray(v.value) for v in opt.variables],
            [v.path.split("/")[-1] for v in opt.variables])


def run_lamina_stateful(factory, steps: int):
    opt = factory(lamina.optimizers)
    variables = [Variable(v, name=n) for v, n in zip(initial_values(), NAMES)]
    for s in range(steps):
        opt.apply_gradients(list(zip(gradients(s), variables)))
    return opt, ([np.asarray(v.value) for v in variables],
                 [np.asarray(v.value) for v in opt.variables],
                 [v.path.split("/")[-1] for v in opt.variables])
