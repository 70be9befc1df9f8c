"""Meshes, layouts, the layout map and the distribution objects on one device, against
Keras 3's ``keras.distribution`` (the multi-device runs are in test_sharded.py)."""

import jax
import numpy as np
import pytest
from oracle import keras

import lamina
from lamina import distribution as ld

PATTERNS = {".*dense.*kernel": (None, "model"), ".*dense.*bias": ("model",),
            "encoder/conv2d_1/kernel": (None, None, None, "model"), "head": ("batch",)}
PATHS = ["dense/kernel", "dense_1/bias", "my_model/dense_2/kernel", "encoder/conv2d_1/kernel",
         "encoder/conv2d_12/kernel", "head", "head/kernel", "conv3d/kernel", "xdense/kernelx",
         "DENSE/kernel"]


def _maps():
    ours = ld.LayoutMap(ld.DeviceMesh((1, 1), ("batch", "model"), ["cpu:0"]))
    theirs = keras.distribution.LayoutMap(
        keras.distribution.DeviceMesh((1, 1), ("batch", "model"), ["cpu:0"]))
    for key, axes in PATTERNS.items():
        ours[key] = axes
        theirs[key] = axes
    return ours, theirs


def test_layout_map_matches_paths_as_keras():
    ours, theirs = _maps()
    for path in PATHS:
        mine, kept = ours[path], theirs[path]
        assert (mine is None) == (kept is None), path
        if kept is not None:
            assert mine.axes == kept.axes, path
            assert mine.device_mesh is ours.device_mesh
    assert ours["dense/kernel"].axes == (None, "model")
    assert ours["conv3d/kernel"] is None
    assert list(ours) == list(theirs) and len(ours) == len(PATTERNS)
    ours[".*kernel"] = (None, None)  # now "dense/kernel" matches two keys
    theirs[".*kernel"] = (None, None)
    with pytest.raises(ValueError, match="matches several"):
        ours["dense/kernel"]
    with pytest.raises(ValueError):
        theirs["dense/kernel"]
    assert ours["head/kernel"].axes == (None, None)
    del ours[".*kernel"]
    assert ours["dense/kernel"].axes == (None, "model")


def test_layout_map_refuses_bad_entries():
    ours, _ = _maps()
    with pytest.raises(ValueError, match="already holds key"):
        ours["head"] = ("batch",)
    with pytest.raises(TypeError, match="TensorLayouts or tuples"):
        ours["other"] = "model"
    with pytest.raises(ValueError, match="does not have"):
        ours["other"] = ("data",)
    with pytest.raises(TypeError, match="DeviceMesh"):
        ld.LayoutMap((2, 2))


def test_mesh_and_layout():
    mesh = ld.DeviceMesh((1,), ["batch"])
    assert mesh.shape == (1,) and mesh.axis_names == ("batch",)
    assert mesh.devices.shape == (1,) and mesh.devices[0] == "cpu:0"
    assert isinstance(mesh.backend_mesh, jax.sharding.Mesh)
    assert mesh.backend_mesh.shape == {"batch": 1}
    layout = ld.TensorLayout((None, "batch"), mesh)
    assert layout.backend_layout.spec == jax.sharding.PartitionSpec(None, "batch")
    with pytest.raises(ValueError, match="cannot be replaced"):
        layout.device_mesh = mesh
    with pytest.raises(ValueError, match="no device mesh"):
        _ = ld.TensorLayout((None,)).backend_layout
    with pytest.raises(ValueError, match="holds 2 devices, but 1"):
        ld.DeviceMesh((2,), ["batch"])
    with pytest.raises(ValueError, match="same length"):
        ld.DeviceMesh((1,), ["batch", "model"])
    with pytest.raises(ValueError, match="Unknown device"):
        _ = ld.DeviceMesh((1,), ["batch"], ["cpu:7"]).backend_mesh
    for fn in (keras.distribution.DeviceMesh, ld.DeviceMesh):
        with pytest.raises(ValueError):
            fn((2,), ["batch"], ["cpu:0"])


def test_devices_as_keras():
    assert ld.list_devices() == keras.distribution.list_devices()
    assert ld.list_devices("CPU") == keras.distribution.list_devices("cpu") == ["cpu:0"]
    assert ld.get_device_count() == keras.distribution.get_device_count() == 1
    with pytest.raises(TypeError, match="device_type"):
        ld.list_devices(0)


def test_distributions_as_keras():
    ours, theirs = ld.DataParallel(), keras.distribution.DataParallel()
    for attr in ("batch_dim_name", "num_model_replicas", "num_processes", "data_shard_id",
                 "auto_shard_dataset"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.get_data_layout((8, 3)).axes == theirs.get_data_layout((8, 3)).axes
    assert ours.get_tensor_layout("dense/kernel") is None
    mine_map, their_map = _maps()
    mp = ld.ModelParallel(layout_map=mine_map, batch_dim_name="batch")
    kp = keras.distribution.ModelParallel(layout_map=their_map, batch_dim_name="batch")
    assert mp.num_model_replicas == kp.num_model_replicas == 1
    assert mp.get_tensor_layout("dense/bias").axes == kp.get_tensor_layout("dense/bias").axes
    with pytest.raises(ValueError, match="layout_map"):
        ld.ModelParallel()
    with pytest.raises(TypeError, match="LayoutMap"):
        ld.ModelParallel(layout_map={"a": (None,)})
    with pytest.raises(ValueError, match="not an axis"):
        ld.ModelParallel(layout_map=mine_map, batch_dim_name="data")
    with pytest.raises(ValueError, match="not both"):
        ld.DataParallel(device_mesh=ld.DeviceMesh((1,), ["batch"]), devices=["cpu:0"])
    with pytest.warns(UserWarning, match="one-axis mesh"):
        two = ld.DataParallel(device_mesh=mine_map.device_mesh)
    assert two.batch_dim_name == "batch"


def test_set_distribution_and_scope():
    assert ld.distribution() is None
    dp = ld.DataParallel()
    with dp.scope():
        assert ld.distribution() is dp
        inner = ld.DataParallel(devices=["cpu:0"])
        with inner.scope():
            assert ld.distribution() is inner
        assert ld.distribution() is dp
    assert ld.distribution() is None
    ld.set_distribution(dp)
    try:
        assert ld.distribution() is dp
    finally:
        ld.set_distribution(None)
    with pytest.raises(TypeError, match="expects a Distribution"):
        ld.set_distribution("data_parallel")


def test_variables_created_under_a_distribution_take_their_layout():
    mesh = ld.DeviceMesh((1, 1), ("batch", "model"), ["cpu:0"])
    layout_map = ld.LayoutMap(mesh)
    layout_map["dense/kernel"] = (None, "model")
    parallel = ld.ModelParallel(layout_map=layout_map)
    with parallel.scope():
        layer = lamina.layers.Dense(3, name="dense")
        layer.build((None, 2))
    # One device: the placed arrays stay single-device (equivalent); the specs are the
    # map's (test_sharded.py checks the split arrays on 4 devices).
    kernel = parallel.variable_sharding(layer.kernel)
    assert kernel.spec == jax.sharding.PartitionSpec(None, "model")
    assert layer.kernel.value.sharding.is_equivalent_to(kernel, 2)
    assert parallel.variable_sharding(layer.bias).spec == jax.sharding.PartitionSpec(None)
    layout_map["dense_bad/kernel"] = ("model",)
    with ld.ModelParallel(layout_map=layout_map).scope():
        with pytest.raises(ValueError, match="has 1 entries, but the variable has shape"):
            lamina.layers.Dense(3, name="dense_bad").build((None, 2))


def test_distribute_tensor_eager_traced_and_symbolic():
    sharding = ld.TensorLayout(("batch", None), ld.DeviceMesh((1,), ["batch"]))
    x = np.ones((2, 3), "float32")
    out = ld.distribute_tensor(x, sharding)
    assert out.sharding.spec == jax.sharding.PartitionSpec("batch", None)
    assert ld.distribute_tensor(out, sharding) is out
    traced = jax.jit(lambda a: ld.distribute_tensor(a * 2, sharding))(x)
    np.testing.assert_array_equal(traced, 2 * x)
    symbolic = lamina.Input((3,))
    assert ld.distribute_tensor(symbolic, sharding) is symbolic
    with pytest.raises(TypeError, match="TensorLayout or a jax.sharding.Sharding"):
        ld.distribute_tensor(x, ("batch", None))


def test_initialize_checks_its_arguments():
    with pytest.raises(ValueError, match="lists 2 processes"):
        ld.initialize("10.0.0.1:1234,10.0.0.2:2345", num_processes=3, process_id=0)
    with pytest.raises(ValueError, match="process_id must lie"):
        ld.initialize("10.0.0.1:1234", num_processes=2, process_id=2)
    with pytest.raises(TypeError, match="job_addresses"):
        ld.initialize(1234, num_processes=2, process_id=0)
