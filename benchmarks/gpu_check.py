"""lamina on an NVIDIA GPU: outputs checked against the CPU, speed timed against Keras 3.

    pip install -e ".[cuda,test]"      # JAX's CUDA wheels, Keras 3 and the ONNX tools
    python benchmarks/gpu_check.py     # all checks, one timing round
    python benchmarks/gpu_check.py --rounds 3 --workloads mlp wide

1. Outputs: each workload's model (the seed's mlp, headline and siamese models and
   the referee's wide MLP, built by the referee's own code) is built in Keras 3 and
   twice in lamina with Keras's weights, once on the GPU and once on the CPU; the
   GPU's predictions must equal the CPU's and Keras's (float32 matmuls at "highest"
   precision), and the model exported with ``format="jax"`` and served by its
   ``serving_loader`` on the GPU must equal ``predict``.
2. Speed: the referee harness trains each workload with lamina and with Keras 3 (JAX
   backend), one process per run as ``benchmarks/suite.py`` runs it; the table gives
   the medians and lamina's speed-up over Keras.

Exits with status 2 and a message when JAX sees no GPU, 1 when an output check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

WORKLOADS = ["mlp", "headline", "siamese", "wide"]
RTOL, ATOL = 1e-4, 1e-5


def gpu_devices() -> list:
    """JAX's GPU devices; exits with status 2 and says why when there is none."""
    import jax

    try:
        devices = jax.devices("gpu")
    except RuntimeError as error:
        devices, reason = [], str(error).splitlines()[0]
    else:
        reason = "no GPU devices"
    if not devices:
        platforms = os.environ.get("JAX_PLATFORMS")
        hint = f" JAX_PLATFORMS={platforms!r} is set: unset it." if platforms else ""
        print(f"gpu_check: JAX sees no GPU ({reason}). Run it on a machine with an NVIDIA "
              f"GPU and driver, after `pip install \"lamina[cuda]\"`.{hint}", file=sys.stderr)
        sys.exit(2)
    return devices


def max_diff(a, b) -> float:
    """The largest absolute difference between two (lists of) arrays."""
    a, b = (x if isinstance(x, (list, tuple)) else [x] for x in (a, b))
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))


def close(a, b) -> bool:
    a, b = (x if isinstance(x, (list, tuple)) else [x] for x in (a, b))
    return all(np.allclose(np.asarray(x), np.asarray(y), rtol=RTOL, atol=ATOL)
               for x, y in zip(a, b))


def check_outputs(workload: str, device, reference, samples: int, folder: str) -> dict:
    """Predictions of one workload's model on ``device`` against ``reference`` (the
    CPU), Keras 3 on the default device, and the ``format="jax"`` export on ``device``."""
    import jax
    import keras
    import referee

    import lamina
    from lamina.export import serving_loader

    x, _ = referee.make_data(workload, samples, seed=0)
    with jax.default_matmul_precision("highest"):
        keras_model = referee.build_keras_model(keras, workload, {})
        weights = [np.asarray(w) for w in keras_model.get_weights()]
        expected_keras = keras_model.predict(x, batch_size=32, verbose=0)
        models = {}
        for name, where in (("device", device), ("reference", reference)):
            with lamina.device(where):
                models[name] = referee.build_keras_model(lamina, workload, {})
                models[name].set_weights(weights)
        with lamina.device(device):
            on_device = models["device"].predict(x, batch_size=32, verbose=0)
        with lamina.device(reference):
            on_reference = models["reference"].predict(x, batch_size=32, verbose=0)
        path = os.path.join(folder, workload)
        models["device"].export(path, verbose=False)  # lowered for the default backend
        with jax.default_device(device):
            served = serving_loader.load(path).serve(x)
    pairs = {"vs_cpu": (on_device, on_reference), "vs_keras": (on_device, expected_keras),
             "export": (served, on_device)}
    row = {"workload": workload}
    for key, (a, b) in pairs.items():
        row[key] = max_diff(a, b)
        row[key + "_ok"] = close(a, b)
    return row


def format_checks(rows: list[dict]) -> str:
    """A table of the output checks' largest differences, each marked ok or FAIL."""
    head = ["workload", "GPU vs CPU", "GPU vs Keras", "export vs predict"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for row in rows:
        cells = [row["workload"]] + [
            f"{row[key]:.2e} {'ok' if row[key + '_ok'] else 'FAIL'}"
            for key in ("vs_cpu", "vs_keras", "export")]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def time_workloads(workloads: list[str], rounds: int) -> str:
    """Trains each workload with lamina and Keras 3 through the referee; the table."""
    import suite

    referee_path = suite.find_referee(None)
    results = []
    root = tempfile.mkdtemp(prefix="lamina-gpu-")
    for rep in range(rounds):
        for workload in workloads:
            for lib in (["lamina", "keras"] if rep % 2 == 0 else ["keras", "lamina"]):
                cache = tempfile.mkdtemp(dir=root) if lib == "lamina" else None
                result = suite.run_one(referee_path, lib, workload, rep, cache, [])
                status = "ok" if result.get("ok") else f"FAILED: {result.get('error', '')[-300:]}"
                print(f"  round {rep} {workload:9s} {lib:7s} {status}", file=sys.stderr)
                results.append(result)
    libs = ["lamina", "keras"]
    return suite.format_table(suite.summarize(results, libs), libs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    p.add_argument("--rounds", type=int, default=1, help="timing rounds (0: no timing)")
    p.add_argument("--samples", type=int, default=64, help="samples per output check")
    args = p.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    gpu = gpu_devices()[0]
    import jax

    cpu = jax.devices("cpu")[0]
    print(f"GPU: {gpu.device_kind} ({gpu}); JAX {jax.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        rows = [check_outputs(w, gpu, cpu, args.samples, folder) for w in args.workloads]
    print("\nOutputs (largest absolute difference; float32, rtol 1e-4, atol 1e-5)")
    print(format_checks(rows))
    if args.rounds:
        print("\nTraining speed on the GPU (referee harness; medians; lamina/keras > 1: "
              "lamina faster)")
        print(time_workloads(args.workloads, args.rounds))
    failed = [r["workload"] for r in rows if not all(r[k + "_ok"] for k in
                                                      ("vs_cpu", "vs_keras", "export"))]
    if failed:
        print(f"\nOutput checks failed for {failed}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
