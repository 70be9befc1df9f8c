"""Two processes on 127.0.0.1 (gloo collectives on CPU, 2 devices each) train one model
with DataParallel: both end with identical weights, equal to one process training
on all the data."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import two_process_scenario as scenario
from oracle import assert_close

import lamina

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_workers(out: Path) -> list[dict]:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join(
                   [str(HERE), str(HERE.parent.parent), os.environ.get("PYTHONPATH", "")]))
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(HERE / "two_process_worker.py"), str(i),
                               str(port), str(out)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for i in range(scenario.PROCESSES)]
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in procs:  # one that failed leaves the other waiting on it
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for i, proc in enumerate(procs):
        assert proc.returncode == 0, f"process {i} failed:\n" + logs[i][-4000:]
    return [dict(np.load(out / f"process_{i}.npz")) for i in range(scenario.PROCESSES)]


def test_two_processes_train_like_one(tmp_path):
    results = _run_workers(tmp_path)
    x, y = scenario.data()
    whole = scenario.run_whole_data(scenario.build(lamina), x, y)
    reference = scenario.build(lamina)
    reference.fit(x, y, batch_size=scenario.GLOBAL_BATCH, epochs=scenario.EPOCHS,
                  shuffle=False, verbose=0)
    n_weights = len(whole["weights"])
    for r in results:
        assert r["devices"].tolist() == [4, 2, 2]  # 4 devices over 2 processes
    first, second = results
    for key in first:  # both processes hold the same numbers
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    for r in results:
        assert_close([r[f"whole_{i}"] for i in range(n_weights)], whole["weights"])
        assert_close(r["loss"], whole["loss"])
        assert_close(r["evaluate"], whole["evaluate"])
        assert_close(r["predict"], whole["predict"])
        assert_close([r[f"shares_{i}"] for i in range(n_weights)], reference.get_weights())
