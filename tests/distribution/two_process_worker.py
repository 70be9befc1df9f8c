"""One process of test_multi_process.py: joins a 2-process cluster on 127.0.0.1 and
trains with DataParallel over both processes' devices; writes its results to
``<out>/process_<id>.npz``.

Usage: python two_process_worker.py <process_id> <port> <out>
"""

import sys

import jax

jax.config.update("jax_cpu_collectives_implementation", "gloo")

import numpy as np  # noqa: E402
import two_process_scenario as scenario  # noqa: E402

import lamina  # noqa: E402
from lamina import distribution as ld  # noqa: E402


def main(process_id: int, port: int, out: str) -> None:
    ld.initialize(f"127.0.0.1:{port}", num_processes=scenario.PROCESSES, process_id=process_id)
    x, y = scenario.data()
    with ld.DataParallel().scope():  # auto_shard_dataset: each places its share
        model = scenario.build(lamina)
        whole = scenario.run_whole_data(model, x, y)
    with ld.DataParallel(auto_shard_dataset=False).scope():  # each passes its own share
        model = scenario.build(lamina)
        model.fit(scenario.own_share(x, y, process_id), epochs=scenario.EPOCHS,
                  steps_per_epoch=scenario.N // scenario.GLOBAL_BATCH, verbose=0)
        shares = model.get_weights()
    np.savez(f"{out}/process_{process_id}.npz",
             devices=np.array([jax.device_count(), jax.local_device_count(),
                               jax.process_count()]),
             loss=np.array(whole["loss"]), evaluate=np.array(whole["evaluate"]),
             predict=whole["predict"],
             **{f"whole_{i}": w for i, w in enumerate(whole["weights"])},
             **{f"shares_{i}": w for i, w in enumerate(shares)})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
