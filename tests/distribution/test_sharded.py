"""Runs sharded_cases.py on 4 forced host devices, in a pytest subprocess (the flag
must be set before JAX starts, and the rest of the suite keeps one device)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _run_cases(marker: str) -> None:
    cases = HERE / "sharded_cases.py"
    text = cases.read_text()
    slow = len(re.findall(r"^@pytest\.mark\.slow\ndef test_", text, re.M))
    total = len(re.findall(r"^def test_", text, re.M))
    expected = slow if marker == "slow" else total - slow
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu", KERAS_BACKEND="jax")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-m", marker, str(cases)], cwd=HERE.parent.parent, env=env,
                          capture_output=True, text=True, timeout=600)
    report = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, report
    assert re.search(rf"\b{expected} passed\b", proc.stdout), report
    assert " skipped" not in proc.stdout, report


def test_sharded_cases_pass_on_four_devices():
    _run_cases("not slow")


@pytest.mark.slow
def test_slow_sharded_cases_pass_on_four_devices():
    _run_cases("slow")
