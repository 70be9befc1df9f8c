"""The devices a distribution spans, and joining a multi-process cluster."""

from __future__ import annotations

import os

import jax
import numpy as np

_ENV = {"job_addresses": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "process_id": "KERAS_DISTRIBUTION_PROCESS_ID"}


def _backend(device_type):
    if device_type is None:
        return None
    if not isinstance(device_type, str):
        raise TypeError(f"device_type must be a string such as 'cpu', 'gpu' or 'tpu', received "
                        f"{type(device_type).__name__}: {device_type!r}.")
    return device_type.lower()


def list_devices(device_type=None) -> list[str]:
    """The devices of every process, as ``"<platform>:<id>"`` strings (``"cpu:0"``).

    Args:
        device_type: ``"cpu"``, ``"gpu"`` or ``"tpu"``; None: the default backend's
            (an accelerator when there is one, else the CPU).
    """
    return [f"{d.platform}:{d.id}" for d in jax.devices(_backend(device_type))]


def get_device_count(device_type=None) -> int:
    """The number of devices of ``device_type`` (default: the default backend's) over
    all processes."""
    return jax.device_count(_backend(device_type))


def to_jax_device(device) -> jax.Device:
    """The ``jax.Device`` that a device string (``"cpu:3"``, ``"gpu"``) names."""
    if isinstance(device, jax.Device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"Expected a device string such as 'cpu:0' or a jax.Device, received "
                        f"{type(device).__name__}: {device!r}.")
    platform, _, index = device.lower().partition(":")
    try:
        candidates = jax.devices(platform)
    except RuntimeError as e:
        raise ValueError(f"Unknown device {device!r}: no {platform!r} devices.") from e
    wanted = int(index or 0)
    for d in candidates:
        if d.id == wanted:
            return d
    raise ValueError(f"Unknown device {device!r}: the {platform!r} devices are "
                     f"{[f'{platform}:{d.id}' for d in candidates]}.")


def initialize(job_addresses=None, num_processes=None, process_id=None) -> None:
    """Joins this process to a multi-process cluster (``jax.distributed.initialize``).

    Call it first, in every process, before any computation. Arguments left None are
    read from ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES``
    and ``KERAS_DISTRIBUTION_PROCESS_ID`` when set (else JAX detects them, e.g. on
    Cloud TPU). Afterwards every process uses process 0's global seed, so their
    initial weights and shuffles agree.

    Args:
        job_addresses: ``"host:port"`` of process 0 (the coordinator), or all the
            processes' addresses comma-separated (the first is the coordinator).
        num_processes: the number of processes in the cluster.
        process_id: this process's index, from 0 to ``num_processes - 1``.
    """
    given = {"job_addresses": job_addresses, "num_processes": num_processes,
             "process_id": process_id}
    for name, var in _ENV.items():
        if given[name] is None and var in os.environ:
            given[name] = os.environ[var] if name == "job_addresses" else int(os.environ[var])
    address, count, index = given["job_addresses"], given["num_processes"], given["process_id"]
    if address is not None and not isinstance(address, str):
        raise TypeError(f"job_addresses must be a string 'host:port[,host:port...]', received "
                        f"{type(address).__name__}: {address!r}.")
    if address and "," in address:
        addresses = address.split(",")
        if count is not None and count != len(addresses):
            raise ValueError(f"job_addresses lists {len(addresses)} processes ({address!r}) "
                             f"but num_processes is {count}.")
        address = addresses[0]
    if count is not None and index is not None and not 0 <= index < count:
        raise ValueError(f"process_id must lie in [0, {count}), received {index}.")
    jax.distributed.initialize(coordinator_address=address, num_processes=count,
                               process_id=index)
    _agree_on_seed()


def _agree_on_seed() -> None:
    """Sets every process's global seed to process 0's."""
    from jax.experimental import multihost_utils

    from lamina import random as lrandom

    if jax.process_count() == 1:
        return
    mine = lrandom.global_seed() % 2**64
    # Two 32-bit words: without jax_enable_x64 a 64-bit value would be truncated.
    words = multihost_utils.broadcast_one_to_all(
        np.array([mine >> 32, mine & 0xFFFFFFFF], dtype=np.uint32))
    agreed = (int(words[0]) << 32) | int(words[1])
    if agreed != mine:
        lrandom.set_global_seed(agreed)
