"""Distributions: where variables live and how batches are split over devices.

``DataParallel`` replicates every variable and splits each batch over all devices;
``ModelParallel`` splits the variables a ``LayoutMap`` names over a mesh's model
axes and each batch over its batch axis. ``fit``/``evaluate``/``predict`` place the
step state and the batches accordingly (``lamina/distribution/placement.py``).
"""

from __future__ import annotations

import warnings

import jax
import numpy as np

from lamina.distribution.context import distribution_scope
from lamina.distribution.devices import list_devices
from lamina.distribution.layouts import DeviceMesh, LayoutMap, TensorLayout, mesh_axes

DEFAULT_BATCH_DIM_NAME = "batch"


class Distribution:
    """The base of distributions: a device mesh and the mesh axis batches split over.

    Args:
        device_mesh: the ``DeviceMesh``.
        batch_dim_name: the mesh axis the batch dimension is split over.
        auto_shard_dataset: in a multi-process cluster, whether every process passes
            the whole data set (each then places only its share of every global
            batch) rather than its own share (True, the default).
    """

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"{type(self).__name__} expects a DeviceMesh, received "
                            f"{type(device_mesh).__name__}: {device_mesh!r}.")
        if batch_dim_name is not None and batch_dim_name not in device_mesh.axis_names:
            raise ValueError(f"batch_dim_name {batch_dim_name!r} is not an axis of the mesh: "
                             f"its axes are {device_mesh.axis_names}.")
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self.auto_shard_dataset = bool(auto_shard_dataset)
        self._num_processes = jax.process_count()
        self._process_id = jax.process_index()

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def num_processes(self) -> int:
        """The number of processes in the cluster."""
        return self._num_processes

    @property
    def num_model_replicas(self) -> int:
        """How many copies of the model the batch is split over."""
        return self._device_mesh.axis_size(self._batch_dim_name)

    @property
    def data_shard_id(self) -> int:
        """Which share of the data this process feeds."""
        replicas = self.num_model_replicas
        if replicas >= self._num_processes:
            return self._process_id
        return self._process_id // (self._num_processes // replicas)

    def get_data_layout(self, data_shape) -> TensorLayout:
        """The layout of a batch of shape ``data_shape``: split over the batch axis along
        its first dimension."""
        axes = [None] * len(data_shape)
        axes[0] = self._batch_dim_name
        return TensorLayout(axes, self._device_mesh)

    def get_variable_layout(self, variable) -> TensorLayout:
        """The layout of ``variable`` (replicated here; subclasses split some)."""
        return TensorLayout([None] * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path):
        """The layout of an intermediate tensor named ``path``, or None (left to XLA)."""
        return None

    def scope(self):
        """A context manager under which this distribution is the current one."""
        return distribution_scope(self)

    def place_variable(self, variable):
        """``variable``'s value placed with its layout (how new Variables are placed)."""
        from lamina.distribution.placement import put

        return put(variable._value, self.variable_sharding(variable))

    def variable_sharding(self, variable) -> jax.sharding.NamedSharding:
        """The sharding of ``variable``'s layout, checked against its shape."""
        layout = self.get_variable_layout(variable)
        shape = tuple(variable.shape)
        if len(layout.axes) != len(shape):
            raise ValueError(f"The layout {layout.axes} of variable '{variable.path}' has "
                             f"{len(layout.axes)} entries, but the variable has shape {shape}.")
        for dim, entry in zip(shape, layout.axes):
            names = mesh_axes([entry])
            parts = int(np.prod([self._device_mesh.axis_size(n) for n in names]))
            if dim % parts:
                raise ValueError(f"Variable '{variable.path}' of shape {shape} cannot take "
                                 f"layout {layout.axes}: its dimension of size {dim} does not "
                                 f"split into {parts} equal parts over mesh axes {names}.")
        return layout.backend_layout

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self._device_mesh}>"


class DataParallel(Distribution):
    """Data parallelism: every device holds all the variables and a share of each batch.

    Args:
        device_mesh: a ``DeviceMesh``; its first axis is the batch axis (a mesh with
            more axes gets a warning). Give this or ``devices``, not both.
        devices: the devices of a one-axis mesh named ``"batch"``.
        auto_shard_dataset: see ``Distribution``.

    Without either, the mesh spans ``list_devices()``.
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None and devices is not None:
            raise ValueError("DataParallel takes device_mesh or devices, not both.")
        if device_mesh is None:
            devices = list_devices() if devices is None else list(devices)
            device_mesh = DeviceMesh((len(devices),), (DEFAULT_BATCH_DIM_NAME,), devices)
        elif not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"DataParallel expects device_mesh to be a DeviceMesh, received "
                            f"{type(device_mesh).__name__}: {device_mesh!r}.")
        elif len(device_mesh.shape) != 1:
            warnings.warn(f"DataParallel expects a one-axis mesh; {device_mesh} has "
                          f"{len(device_mesh.shape)} axes: batches split over the first, "
                          f"{device_mesh.axis_names[0]!r}.", stacklevel=2)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    @property
    def num_model_replicas(self) -> int:
        return int(self.device_mesh.devices.size)


class ModelParallel(Distribution):
    """Model parallelism: variables split by a ``LayoutMap``, batches over one mesh axis.

    Variables whose path no key of ``layout_map`` matches are replicated.

    Args:
        layout_map: the ``LayoutMap`` (its mesh is the distribution's mesh).
        batch_dim_name: the mesh axis batches split over (default: the first).
        auto_shard_dataset: see ``Distribution``.
        device_mesh: accepted for compatibility; must be the layout map's mesh.
    """

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True,
                 device_mesh=None):
        if layout_map is None:
            raise ValueError("ModelParallel needs a layout_map (a LayoutMap).")
        if not isinstance(layout_map, LayoutMap):
            raise TypeError(f"layout_map must be a LayoutMap, received "
                            f"{type(layout_map).__name__}: {layout_map!r}.")
        mesh = layout_map.device_mesh
        if device_mesh is not None and device_mesh is not mesh:
            raise ValueError(f"ModelParallel: device_mesh {device_mesh} differs from the "
                             f"layout map's mesh {mesh}; leave device_mesh out.")
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0], auto_shard_dataset)
        self._layout_map = layout_map
        replicas = self.num_model_replicas
        if self.num_processes > replicas and self.num_processes % replicas:
            raise ValueError(f"ModelParallel: {self.num_processes} processes do not divide "
                             f"evenly among {replicas} model replicas (the size of the batch "
                             f"axis {self.batch_dim_name!r}).")

    def get_variable_layout(self, variable) -> TensorLayout:
        layout = self._layout_map[variable.path]
        return layout if layout is not None else super().get_variable_layout(variable)

    def get_tensor_layout(self, path):
        return self._layout_map[path]
