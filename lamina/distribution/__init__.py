"""``keras.distribution``: device meshes, layouts, data and model parallelism on
``jax.sharding``, and multi-process training on ``jax.distributed``.

    mesh = DeviceMesh((2, 2), ("batch", "model"))
    layout_map = LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    set_distribution(ModelParallel(layout_map=layout_map))
    model = build_model()          # variables are created sharded
    model.fit(x, y)                # batches split over "batch"
"""

from lamina.distribution.context import distribution, set_distribution
from lamina.distribution.devices import get_device_count, initialize, list_devices
from lamina.distribution.distributions import (
    DataParallel,
    Distribution,
    ModelParallel,
)
from lamina.distribution.layouts import (
    DeviceMesh,
    LayoutMap,
    TensorLayout,
    distribute_tensor,
)

__all__ = [
    "DataParallel", "DeviceMesh", "Distribution", "LayoutMap", "ModelParallel", "TensorLayout",
    "distribute_tensor", "distribution", "get_device_count", "initialize", "list_devices",
    "set_distribution",
]
