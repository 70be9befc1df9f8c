"""``device``: a context manager placing new arrays on one device (``keras.device``)."""

from __future__ import annotations

import jax


def _to_jax_device(device_name) -> jax.Device:
    if isinstance(device_name, jax.Device):
        return device_name
    if not isinstance(device_name, str):
        raise ValueError("Invalid value for argument `device_name`: expected a string like "
                         f"'gpu:0' or a jax.Device, received {device_name!r}.")
    kind, _, index = device_name.lower().partition(":")
    try:
        devices = jax.devices(kind)
    except RuntimeError as e:
        raise ValueError(f"Unknown device {device_name!r}: no {kind!r} devices "
                         "available.") from e
    try:
        return devices[int(index or 0)]
    except (ValueError, IndexError) as e:
        raise ValueError(f"Unknown device {device_name!r}: {len(devices)} {kind!r} "
                         "device(s) available.") from e


def device(device_name):
    """A context manager under which new arrays are placed on ``device_name``.

    Args:
        device_name: ``"cpu"``, ``"cpu:0"``, ``"gpu:1"``, ``"tpu:0"``, ... or a
            ``jax.Device``.

    Returns:
        ``jax.default_device(...)`` for that device.

    Raises:
        ValueError: the name is malformed or no such device exists.
    """
    return jax.default_device(_to_jax_device(device_name))
