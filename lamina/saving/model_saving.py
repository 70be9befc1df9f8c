"""Model's saving methods (mixed into Model): save, save_weights, load_weights,
to_json, the compile config, and a model's children in the weights walk.

A functional or Sequential model's layers are written under ``layers/`` before its
other attributes (as Keras does); a subclassed model lists ``layers`` among its
attributes in Keras's attribute order. The compile config follows Keras's schema:
``optimizer``, ``loss``, ``loss_weights``, ``metrics``, ``weighted_metrics``,
``run_eagerly``, ``steps_per_execution``, ``jit_compile``.
"""

from __future__ import annotations

import json
import warnings

from lamina.saving.saveable import KerasSaveable, attribute_order
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


def _deserialize_compile_value(value, custom_objects=None):
    """Names stay names (``compile`` resolves them); records become objects."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_deserialize_compile_value(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_compile_value(v, custom_objects) for k, v in value.items()}
    return deserialize_keras_object(value, custom_objects=custom_objects)


class ModelSaving(KerasSaveable):
    """``save``/``save_weights``/``load_weights``/``to_json`` and compile configs."""

    # Sequential's inner functional graph is lamina's own: its layers are the model's.
    _not_saved_attributes = frozenset({"_layers", "_functional"})

    def _saveable_children(self) -> list:
        from lamina.models.functional import Functional
        from lamina.models.sequential import Sequential

        attributes = super()._saveable_children()
        if isinstance(self, (Functional, Sequential)):
            return [("layers", self.layers)] + attributes
        return sorted(attributes + [("layers", self.layers)],
                      key=lambda item: attribute_order(item[0]))

    def _serialized_extras(self) -> dict:
        from lamina.models.functional import Functional
        from lamina.models.sequential import Sequential

        extras = {"compile_config": self._compile_config_for_saving() or {}}
        if isinstance(self, Functional) and not isinstance(self, Sequential):
            # Keras registers its Functional class under that name, and builds it
            # from its graph rather than from a shape.
            extras["registered_name"] = "Functional"
            if self.get_build_config() is None:
                extras["build_config"] = {"input_shape": None}
        return extras

    # -- files -----------------------------------------------------------------
    def save(self, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
        """Saves the model (config, weights, compile config and optimizer state) to a
        ``.keras`` file that Keras 3 can load."""
        from lamina.saving.saving_lib import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True, max_shard_size=None) -> None:
        """Saves the weights (and optimizer state) to a ``.weights.h5`` file in Keras 3's
        layout."""
        from lamina.saving.saving_lib import save_weights

        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch: bool = False, **kwargs) -> None:
        """Loads weights from a ``.weights.h5`` or ``.keras`` file (Keras 3's layout).
        With ``skip_mismatch``, objects whose weights do not fit are skipped with a
        warning."""
        from lamina.saving.saving_lib import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The model's config (as ``serialize_keras_object``) as a JSON string;
        ``kwargs`` go to ``json.dumps``."""
        return json.dumps(serialize_keras_object(self), **kwargs)

    # -- compile config ----------------------------------------------------------
    def get_compile_config(self) -> dict | None:
        """The arguments ``compile`` was called with, serialized (None if not compiled)."""
        if not getattr(self, "compiled", False):
            return None
        loss, loss_weights, metrics, weighted_metrics = self._compile_args
        return {
            "optimizer": serialize_keras_object(self.optimizer),
            "loss": serialize_keras_object(loss),
            "loss_weights": serialize_keras_object(loss_weights),
            "metrics": serialize_keras_object(metrics),
            "weighted_metrics": serialize_keras_object(weighted_metrics),
            "run_eagerly": bool(self.run_eagerly),
            "steps_per_execution": self._steps_per_execution,
            "jit_compile": not self.run_eagerly,
        }

    def compile_from_config(self, config: dict, custom_objects=None) -> None:
        """Compiles the model from the output of :meth:`get_compile_config` (or Keras's
        ``compile_config``), and builds the optimizer when the model is built."""
        if not isinstance(config, dict):
            raise ValueError(f"A compile config must be a dict, received "
                             f"{type(config).__name__}.")
        from lamina import optimizers

        args = {k: _deserialize_compile_value(config.get(k), custom_objects)
                for k in ("loss", "loss_weights", "metrics", "weighted_metrics")}
        optimizer = config.get("optimizer", "rmsprop")
        if isinstance(optimizer, dict):
            optimizer = optimizers.deserialize(optimizer, custom_objects=custom_objects)
        jit_compile = config.get("jit_compile", True)
        self.compile(optimizer=optimizer, run_eagerly=bool(config.get("run_eagerly", False)),
                     steps_per_execution=config.get("steps_per_execution", 1) or 1,
                     jit_compile=True if jit_compile == "auto" else bool(jit_compile), **args)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _compile_config_for_saving(self) -> dict | None:
        try:
            return self.get_compile_config()
        except (NotImplementedError, TypeError) as e:
            warnings.warn(f"Model '{self.name}': the compile configuration cannot be "
                          f"serialized ({e}); the file is saved without it.", stacklevel=3)
            return None
