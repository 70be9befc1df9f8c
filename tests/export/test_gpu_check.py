"""benchmarks/gpu_check.py where there is no GPU: its exit, and its CPU-side logic."""

import importlib.util
import os

import jax
import pytest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "gpu_check.py")


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exits_with_status_2_and_says_why_without_a_gpu(gpu_check, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.main(["--rounds", "0"])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "JAX sees no GPU" in message and 'pip install "lamina[cuda]"' in message
    assert "JAX_PLATFORMS='cpu' is set" in message  # the tests' conftest sets it


def test_check_table(gpu_check):
    row = {"workload": "mlp", "vs_cpu": 0.0, "vs_cpu_ok": True, "vs_keras": 3e-7,
           "vs_keras_ok": True, "export": 0.0, "export_ok": True}
    lines = gpu_check.format_checks([row, dict(row, vs_keras=0.5, vs_keras_ok=False)])
    lines = lines.splitlines()
    assert lines[0] == "workload | GPU vs CPU | GPU vs Keras | export vs predict"
    assert lines[2] == "mlp | 0.00e+00 ok | 3.00e-07 ok | 0.00e+00 ok"
    assert lines[3] == "mlp | 0.00e+00 ok | 5.00e-01 FAIL | 0.00e+00 ok"
    assert gpu_check.max_diff([1.0, 2.0], [1.5, 2.0]) == 0.5
    assert not gpu_check.close([1.0], [1.001]) and gpu_check.close([1.0], [1.00001])


@pytest.mark.slow
def test_output_check_on_cpu(gpu_check, tmp_path):
    """The whole output check with the CPU standing in for the GPU."""
    cpu = jax.devices("cpu")[0]
    row = gpu_check.check_outputs("mlp", cpu, cpu, 8, str(tmp_path))
    assert row["vs_cpu"] == 0.0
    assert row["vs_keras"] < 1e-5 and row["export"] < 1e-5
    assert row["vs_cpu_ok"] and row["vs_keras_ok"] and row["export_ok"]
