"""``layers.serialize`` / ``layers.deserialize``: a layer to its Keras 3 config dict
and back."""

from __future__ import annotations

from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


def serialize(layer) -> dict:
    """The Keras 3 config dict of ``layer`` (``module``, ``class_name``, ``config``,
    ``registered_name`` and, for built layers, ``build_config``)."""
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A new layer from the output of :func:`serialize` (a Keras or lamina config).

    Args:
        config: the config dict.
        custom_objects: names of custom classes and functions the config uses.

    Raises:
        TypeError: ``config`` is not a dict.
    """
    if not isinstance(config, dict):
        raise TypeError(f"layers.deserialize expects a config dict, received "
                        f"{type(config).__name__} {config!r}.")
    return deserialize_keras_object(config, custom_objects=custom_objects)
