"""The model, data and runs of the two-process test, shared by its workers
(two_process_worker.py) and its single-process reference (test_multi_process.py)."""

import numpy as np

N, GLOBAL_BATCH, EPOCHS, PROCESSES = 64, 16, 2, 2


def data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(N, 5)).astype("float32"), rng.normal(size=(N, 3)).astype("float32")


def build(lib):
    lib.utils.set_random_seed(11)
    inp = lib.Input((5,))
    h = lib.layers.Dense(8, activation="tanh", name="dense")(inp)
    out = lib.layers.Dense(3, name="head")(h)
    model = lib.Model(inp, out)
    model.compile(lib.optimizers.Adam(0.02), "mse", metrics=["mae"])
    return model


def run_whole_data(model, x, y) -> dict:
    """Every process (or the one reference process) passes all the data, shuffled."""
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=True, verbose=0)
    return {"weights": model.get_weights(), "loss": history.history["loss"],
            "evaluate": model.evaluate(x, y, batch_size=GLOBAL_BATCH, verbose=0),
            "predict": model.predict(x, batch_size=GLOBAL_BATCH, verbose=0)}


def own_share(x, y, process: int):
    """Batches of process ``process``'s share: its half of every global batch in data
    order (the global batch is the processes' shares in process order)."""
    local = GLOBAL_BATCH // PROCESSES
    for _ in range(EPOCHS):
        for start in range(0, N, GLOBAL_BATCH):
            rows = slice(start + process * local, start + (process + 1) * local)
            yield x[rows], y[rows]
