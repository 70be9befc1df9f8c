"""Device meshes, tensor layouts, the layout map, and relayout of one tensor.

A ``DeviceMesh`` is a named grid of devices (a ``jax.sharding.Mesh``); a
``TensorLayout`` names, per tensor dimension, the mesh axis it is split over
(a ``NamedSharding``); a ``LayoutMap`` gives variables their layouts by regex on
their paths.
"""

from __future__ import annotations

import collections.abc
import math
import re

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from lamina.distribution.devices import list_devices, to_jax_device


class DeviceMesh:
    """A grid of devices with named axes (``jax.sharding.Mesh``).

    Args:
        shape: the grid's shape, e.g. ``(8,)`` for data parallelism or ``(2, 4)``
            for 2-way data by 4-way model parallelism.
        axis_names: one name per grid axis, e.g. ``("batch", "model")``.
        devices: the devices (strings like ``"cpu:0"`` or ``jax.Device``s), as many
            as the grid holds; default ``list_devices()``.
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(f"DeviceMesh needs a non-empty shape and axis_names, received "
                             f"shape={shape}, axis_names={axis_names}.")
        shape, axis_names = tuple(int(s) for s in shape), tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape {shape} and axis_names {axis_names} must have "
                             "the same length.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: axis_names must be distinct, received {axis_names}.")
        devices = np.array(list_devices() if devices is None else devices, dtype=object)
        if math.prod(shape) != devices.size:
            raise ValueError(f"DeviceMesh: shape {shape} holds {math.prod(shape)} devices, but "
                             f"{devices.size} devices were given.")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = devices.reshape(shape)
        self._mesh = None

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def axis_names(self) -> tuple:
        return self._axis_names

    @property
    def devices(self) -> np.ndarray:
        """The devices as given, in an array of the mesh's shape."""
        return self._devices

    @property
    def backend_mesh(self) -> jax.sharding.Mesh:
        """The ``jax.sharding.Mesh`` of this grid."""
        if self._mesh is None:
            grid = np.array([to_jax_device(d) for d in self._devices.flat],
                            dtype=object).reshape(self._shape)
            self._mesh = jax.sharding.Mesh(grid, self._axis_names)
        return self._mesh

    def axis_size(self, name: str) -> int:
        """The number of devices along axis ``name``."""
        return self._shape[self._axis_names.index(name)]

    def __repr__(self):
        return f"<DeviceMesh shape={self._shape}, axis_names={self._axis_names}>"


class TensorLayout:
    """Which mesh axis each dimension of a tensor is split over (``NamedSharding``).

    Args:
        axes: one entry per tensor dimension: a mesh axis name, a tuple of names
            (split over their product) or None (not split).
        device_mesh: the mesh; may be set once later (a ``LayoutMap`` sets its own).
    """

    def __init__(self, axes, device_mesh=None):
        if isinstance(axes, str):
            raise TypeError(f"TensorLayout axes must be a sequence with one entry per "
                            f"dimension, received the string {axes!r} (did you mean "
                            f"({axes!r},)?).")
        self._axes = tuple(axes)
        self._device_mesh = None
        if device_mesh is not None:
            self.device_mesh = device_mesh

    @property
    def axes(self) -> tuple:
        return self._axes

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh):
        if self._device_mesh is not None:
            raise ValueError(f"This TensorLayout already has a device mesh "
                             f"({self._device_mesh}); it cannot be replaced.")
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"device_mesh must be a DeviceMesh, received "
                            f"{type(device_mesh).__name__}.")
        unknown = sorted(set(mesh_axes(self._axes)) - set(device_mesh.axis_names))
        if unknown:
            raise ValueError(f"TensorLayout axes {self._axes} name {unknown}, which the mesh "
                             f"does not have: its axes are {device_mesh.axis_names}.")
        self._device_mesh = device_mesh

    @property
    def backend_layout(self) -> NamedSharding:
        """The ``jax.sharding.NamedSharding`` of this layout."""
        if self._device_mesh is None:
            raise ValueError(f"TensorLayout {self._axes} has no device mesh: give one, or put "
                             "the layout in a LayoutMap.")
        return NamedSharding(self._device_mesh.backend_mesh, PartitionSpec(*self._axes))

    def __repr__(self):
        return f"<TensorLayout axes={self._axes}, device_mesh={self._device_mesh}>"


def mesh_axes(axes) -> list[str]:
    """The mesh axis names a layout's ``axes`` use."""
    out = []
    for entry in axes:
        if isinstance(entry, (tuple, list)):
            out.extend(entry)
        elif entry is not None:
            out.append(entry)
    return out


class LayoutMap(collections.abc.MutableMapping):
    """Layouts by variable path: keys are regular expressions.

    ``layout_map[path]`` returns the layout stored under ``path`` itself, else the
    one whose key matches the whole of ``path`` (``re.fullmatch``), else None; a path
    matched by several keys is an error. A tuple of axis names stored as a value
    becomes a ``TensorLayout`` on this map's mesh.

    Args:
        device_mesh: the ``DeviceMesh`` of the layouts.
    """

    def __init__(self, device_mesh):
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"LayoutMap expects a DeviceMesh, received "
                            f"{type(device_mesh).__name__}.")
        self._device_mesh = device_mesh
        self._layouts: dict[str, TensorLayout] = {}

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    def __getitem__(self, key):
        if key in self._layouts:
            return self._layouts[key]
        matches = [pattern for pattern in self._layouts if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Path {key!r} matches several LayoutMap keys: {matches}. Make "
                             "each path match at most one key.")
        return self._layouts[matches[0]] if matches else None

    def __setitem__(self, key, layout):
        if not isinstance(key, str):
            raise TypeError(f"LayoutMap keys are path regexes (strings), received "
                            f"{type(key).__name__}: {key!r}.")
        if key in self._layouts:
            raise ValueError(f"LayoutMap already holds key {key!r} "
                             f"({self._layouts[key]}); keys must be unique.")
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(layout)
        if not isinstance(layout, TensorLayout):
            raise TypeError(f"LayoutMap values are TensorLayouts or tuples of axis names, "
                            f"received {type(layout).__name__}: {layout!r}.")
        if layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def __delitem__(self, key):
        del self._layouts[key]

    def __len__(self):
        return len(self._layouts)

    def __iter__(self):
        return iter(self._layouts)


def distribute_tensor(tensor, layout):
    """``tensor`` with ``layout`` (a ``TensorLayout`` or a ``jax.sharding.Sharding``).

    Inside a traced function it is a sharding constraint for the compiler; outside,
    the array is moved (left as it is when it already has that layout). A symbolic
    ``KerasTensor`` is returned unchanged.
    """
    from lamina.graph import KerasTensor

    if isinstance(tensor, KerasTensor):
        return tensor
    if isinstance(layout, TensorLayout):
        layout = layout.backend_layout
    if not isinstance(layout, jax.sharding.Sharding):
        raise TypeError(f"distribute_tensor expects a TensorLayout or a jax.sharding.Sharding, "
                        f"received {type(layout).__name__}: {layout!r}.")
    if isinstance(tensor, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(tensor, layout)
    if isinstance(tensor, jax.Array) and tensor.sharding.is_equivalent_to(layout, tensor.ndim):
        return tensor
    return jax.device_put(tensor, layout)
