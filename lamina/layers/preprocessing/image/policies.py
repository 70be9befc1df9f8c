"""Augmentation policies built from the other layers: RandAugment and AugMix.

The operations are chosen with ``jax.random`` draws and applied with
``lax.switch`` inside ``lax.scan`` loops over the steps, so a policy compiles into the
step like any other layer, each operation once.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.layers.preprocessing.image.affine import RandomRotation, RandomShear, RandomTranslation
from lamina.layers.preprocessing.image.base import ImageLayer, factor_range, value_range_pair
from lamina.layers.preprocessing.image.color import (
    RandomBrightness,
    RandomColorDegeneration,
    RandomContrast,
)
from lamina.layers.preprocessing.image.histogram import AutoContrast, Equalization
from lamina.layers.preprocessing.image.tone import (
    RandomPosterization,
    RandomSharpness,
    Solarization,
)


class _Policy(ImageLayer):
    """A layer choosing among operations (image layers applied to channels-last
    batches through their ``_transformation``/``_images`` parts)."""

    def __init__(self, value_range, factor, interpolation, seed, data_format, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range
        self._low, self._high = value_range_pair(value_range, type(self).__name__)
        self.factor = factor_range(factor, (0, 1), "factor", type(self).__name__)
        self.interpolation = interpolation

    def _class_named_sublayers(self) -> list:
        return self._ops

    def _operations(self, names):
        factor, value_range = self.factor, self.value_range
        makers = {
            "random_shear": lambda: RandomShear(factor, factor,
                                                interpolation=self.interpolation),
            "random_translation": lambda: RandomTranslation(
                factor, factor, interpolation=self.interpolation),
            "random_rotation": lambda: RandomRotation(factor,
                                                      interpolation=self.interpolation),
            "random_brightness": lambda: RandomBrightness(factor, value_range=value_range),
            "random_color_degeneration": lambda: RandomColorDegeneration(
                factor, value_range=value_range),
            "random_contrast": lambda: RandomContrast(factor, value_range=value_range),
            "random_sharpness": lambda: RandomSharpness(factor, value_range=value_range),
            "random_posterization": lambda: RandomPosterization(
                max(1, int(8 * factor[1])), value_range=value_range),
            "solarization": lambda: Solarization(factor, factor, value_range=value_range),
            "auto_contrast": lambda: AutoContrast(value_range=value_range),
            "equalization": lambda: Equalization(value_range=value_range),
        }
        return [makers[name]() for name in names]

    def _draw_all(self, images, key):
        """One transformation per operation."""
        keys = jax.random.split(key, len(self._ops))
        return [op._transformation(images, k) if op._random else None
                for op, k in zip(self._ops, keys)]

    def _switch(self, index, apply, value, transformations, identity: bool = False):
        """``apply(op, value, t)`` for the operation at ``index``, cast like ``value``
        (``value`` itself for index ``len(ops)`` when ``identity``)."""

        def branch(op, t):
            def run(v):
                out = apply(op, v, t)
                return jax.tree_util.tree_map(lambda o, i: o.astype(i.dtype), out, v)
            return run

        branches = [branch(op, t) for op, t in zip(self._ops, transformations)]
        if identity:
            branches.append(lambda v: v)
        return jax.lax.switch(index, branches, value)


def _images(op, images, t):
    return op._images(images, t)


def _masks(op, masks, t):
    return op._masks(masks, t)


class RandAugment(_Policy):
    """RandAugment in training: ``num_ops`` operations drawn among shear,
    translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and equalization, each of strength
    ``factor``, applied in turn to the batch.

    Args:
        value_range: the input range (default ``(0, 255)``).
        num_ops: the number of operations applied (default 2).
        factor: the strength, ``f`` meaning ``[0, f]``, in ``[0, 1]``.
        interpolation: for the geometric operations (default ``"bilinear"``).
        seed, data_format: as the other image layers.
    """

    _NAMES = ("random_shear", "random_translation", "random_rotation", "random_brightness",
              "random_color_degeneration", "random_contrast", "random_sharpness",
              "random_posterization", "solarization", "auto_contrast", "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(value_range, factor, interpolation, seed, data_format, **kwargs)
        self.num_ops = int(num_ops)
        self._ops = self._operations(self._NAMES)

    def _transformation(self, images, key):
        key_idx, key_ops = jax.random.split(key)
        return {"indices": jax.random.randint(key_idx, (self.num_ops,), 0, len(self._ops)),
                "ops": self._draw_all(images, key_ops)}

    def _apply(self, apply, value, t):
        def step(current, index):
            return self._switch(index, apply, current, t["ops"]), None

        return jax.lax.scan(step, value, t["indices"])[0]

    def _images(self, images, t):
        return self._apply(_images, images, t)

    def _masks(self, masks, t):
        return self._apply(_masks, masks, t)

    def _boxes(self, boxes, labels, t, size):
        def apply(op, value, op_t):
            return op._boxes(value[0], value[1], op_t, size)

        return self._apply(apply, (boxes, labels), t)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "num_ops": self.num_ops,
                       "factor": self.factor, "interpolation": self.interpolation,
                       "seed": self.seed})
        return config


class AugMix(_Policy):
    """AugMix in training: ``num_chains`` chains of up to ``chain_depth`` random
    operations are mixed with Dirichlet(alpha) weights, and the mix is blended with
    the original images by a Beta(alpha, alpha) weight. Bounding boxes pass unchanged
    and masks go through the same chains and blend, as in Keras.

    Args:
        value_range: the input range (default ``(0, 255)``).
        num_chains, chain_depth: the chains (default 3 each); each step of a chain
            may also be skipped.
        factor: the operations' strength, ``f`` meaning ``[0, f]``, in ``[0, 1]``.
        alpha: the Dirichlet and Beta parameter (default 1).
        all_ops: also use brightness, colour degeneration, contrast and sharpness.
        interpolation: for the geometric operations (default ``"bilinear"``).
        seed, data_format: as the other image layers.
    """

    _NAMES = ("random_shear", "random_translation", "random_rotation", "random_posterization",
              "solarization", "auto_contrast", "equalization")
    _EXTRA = ("random_brightness", "random_color_degeneration", "random_contrast",
              "random_sharpness")

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(value_range, factor, interpolation, seed, data_format, **kwargs)
        self.num_chains, self.chain_depth = int(num_chains), int(chain_depth)
        self.alpha = alpha
        self.all_ops = all_ops
        self._ops = self._operations(self._NAMES + (self._EXTRA if all_ops else ()))

    def _transformation(self, images, key):
        key_mix, key_w, key_idx, key_ops = jax.random.split(key, 4)
        gamma = jax.random.gamma(key_mix, self.alpha, (self.num_chains,))
        steps = (self.num_chains, self.chain_depth)
        keys = jax.random.split(key_ops, steps[0] * steps[1])
        # Each step's operation parameters are drawn from its key inside the loop
        # (``_mix``), from the images' shape ("template").
        return {"chain_weights": gamma / jnp.sum(gamma),
                "weight": jax.random.beta(key_w, self.alpha, self.alpha, ()),
                "indices": jax.random.randint(key_idx, steps, 0, len(self._ops) + 1),
                "keys": keys.reshape(steps + keys.shape[1:]), "template": images}

    def _mix(self, apply, value, t):
        value = value.astype(jnp.float32)

        def step(current, step_t):
            key, index = step_t
            ops_t = self._draw_all(t["template"], key)
            return self._switch(index, apply, current, ops_t, identity=True), None

        def chain(mixed, chain_t):
            keys, indices, weight = chain_t
            out = jax.lax.scan(step, value, (keys, indices))[0]
            return mixed + out * weight, None

        mixed = jax.lax.scan(chain, jnp.zeros_like(value),
                             (t["keys"], t["indices"], t["chain_weights"]))[0]
        return t["weight"] * value + (1.0 - t["weight"]) * mixed

    def _images(self, images, t):
        out = jnp.clip(self._mix(_images, images, t), self._low, self._high)
        return out.astype(images.dtype)

    def _masks(self, masks, t):
        return self._mix(_masks, masks, t)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "num_chains": self.num_chains,
                       "chain_depth": self.chain_depth, "factor": self.factor,
                       "alpha": self.alpha, "all_ops": self.all_ops,
                       "interpolation": self.interpolation, "seed": self.seed})
        return config
