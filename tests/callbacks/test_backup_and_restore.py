"""BackupAndRestore: a fit killed with SIGKILL at any point (mid-epoch, during a save)
and started again ends with bitwise the weights of an uninterrupted run; the backup
file is written atomically and read back with checks."""

import json
import os
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest
import resumable_fit

import lamina
from lamina.callbacks.backup_file import read_backup, write_backup
from lamina.training.fit_position import FitPosition, skip_batches
from lamina.training.step_state import TrainState

SCRIPT = os.path.join(os.path.dirname(__file__), "resumable_fit.py")
STEPS_PER_EPOCH = 10  # 39 training samples in batches of 4
STEPS = STEPS_PER_EPOCH * resumable_fit.EPOCHS


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    env = dict(os.environ)
    env["LAMINA_COMPILATION_CACHE_DIR"] = str(tmp_path_factory.mktemp("jax_cache"))
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(lamina.__file__)), env.get("PYTHONPATH", "")])
    return env


def _run(env, out, backup, freq, *extra):
    return subprocess.run([sys.executable, SCRIPT, str(out), str(backup), str(freq), *extra],
                          env=env, capture_output=True, text=True, timeout=300)


def _load(path):
    with np.load(path) as f:
        weights = [f[k] for k in f.files if k != "history"]
        history = json.loads(f["history"].tobytes())
    return weights, history


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory):
    """An uninterrupted run with no callbacks: batches fused into compiled loops."""
    out = tmp_path_factory.mktemp("reference") / "weights.npz"
    done = _run(env, out, out.parent / "unused", "none")
    assert done.returncode == 0, done.stderr
    return _load(out)


def _batches_left(backup):
    """How many batches a restarted run trains: those after the newest readable backup."""
    for name in ("fit_backup.h5", "fit_backup.previous.h5"):
        if (backup / name).exists():
            try:
                position = read_backup(backup / name)
            except ValueError:
                continue
            return STEPS - position.epoch * STEPS_PER_EPOCH - position.step
    return STEPS


def _kill_and_resume(env, reference, tmp_path, freq, kills, double=False):
    """Runs the script killed as each of ``kills`` says, then to the end; the final
    weights and History must equal the uninterrupted reference bitwise.

    ``kills``: ``("batch", n)`` kills after the run's n-th batch, ``("save", n)``
    inside its n-th backup write; a float n in (0, 1) is a fraction of what the run
    has left (batches, or backups it will write), drawn when the run starts.
    """
    backup = tmp_path / "backup"
    out = tmp_path / "weights.npz"
    flags = ["--double"] if double else []
    for kind, n in kills:
        if isinstance(n, float):
            left = _batches_left(backup)
            left = left - 1 if kind == "batch" else left // (
                STEPS_PER_EPOCH if freq == "epoch" else freq)
            if left < 1:
                continue
            n = 1 + int(n * left)
        killed = _run(env, out, backup, freq, *flags,
                      "--kill-after-batch" if kind == "batch" else "--kill-in-save", str(n))
        assert killed.returncode == -9, (kind, n, killed.stderr)
        assert not out.exists()
    done = _run(env, out, backup, freq, *flags)
    assert done.returncode == 0, done.stderr
    weights, history = _load(out)
    ref_weights, ref_history = reference
    assert len(weights) == len(ref_weights) == 8  # Dense (2), BatchNormalization (4), Dense (2)
    for got, want in zip(weights, ref_weights):
        assert np.array_equal(got, want)  # bitwise
    assert history == ref_history  # every epoch's logs, as if never interrupted
    assert history[1] == list(range(resumable_fit.EPOCHS))
    assert not backup.exists()  # delete_checkpoint=True


# The reference fuses batches; save_freq=2 runs batch by batch (its backups need
# batch hooks), so the resumed runs also show the fused and unfused paths agree bitwise.
@pytest.mark.parametrize("case", ["batches_then_in_save", "epoch_in_save"])
def test_killed_fit_resumes_bitwise(env, reference, tmp_path, case):
    if case == "batches_then_in_save":
        # Killed mid-epoch at a random batch, then killed again inside a backup write
        # (between the newest backup's rename to "previous" and the new one's rename).
        fraction = float(np.random.default_rng(0).uniform())
        _kill_and_resume(env, reference, tmp_path, 2, [("batch", fraction), ("save", 3)],
                         double=True)
    else:
        # Epoch-end backups keep batches fused; the kill lands in the second save,
        # so the run resumes from the first epoch's end and replays the second.
        _kill_and_resume(env, reference, tmp_path, "epoch", [("save", 2)])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 7))
def test_killed_fit_resumes_bitwise_many_seeds(env, reference, tmp_path, seed):
    rng = np.random.default_rng(seed)
    freq = int(rng.integers(1, 4))
    kills = [(kind, float(rng.uniform())) for kind in ("batch", "save", "batch")]
    _kill_and_resume(env, reference, tmp_path, freq, kills, double=bool(seed % 2))


# -- in process -------------------------------------------------------------------------

class Interrupt(lamina.callbacks.Callback):
    """Raises after ``after`` training batches (an in-process stand-in for a kill)."""

    def __init__(self, after):
        super().__init__()
        self.after, self.seen = after, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            raise KeyboardInterrupt


def _fit(callbacks, batch_size=resumable_fit.BATCH_SIZE):
    model = resumable_fit.build_model()
    x, y = resumable_fit.data()
    history = model.fit(x, y, batch_size=batch_size, epochs=resumable_fit.EPOCHS,
                        shuffle=True, validation_split=0.1, callbacks=callbacks, verbose=0)
    return model, history


def _interrupted(backup, after, **kwargs):
    with pytest.raises(KeyboardInterrupt):
        _fit([lamina.callbacks.BackupAndRestore(backup, **kwargs), Interrupt(after)])


def test_double_checkpoint_falls_back_to_previous_backup(tmp_path, reference):
    backup = tmp_path / "backup"
    _interrupted(backup, 13, save_freq=4, double_checkpoint=True)
    newest, previous = read_backup(backup / "fit_backup.h5"), read_backup(
        backup / "fit_backup.previous.h5")
    assert (newest.epoch, newest.step, previous.epoch, previous.step) == (1, 2, 0, 8)
    (backup / "fit_backup.h5").write_bytes(b"not an HDF5 file")
    with pytest.warns(UserWarning, match="resuming from the previous one"):
        model, history = _fit([lamina.callbacks.BackupAndRestore(
            backup, save_freq=4, double_checkpoint=True, delete_checkpoint=False)])
    for got, want in zip(model.weights, reference[0]):
        assert np.array_equal(np.asarray(got), want)
    assert history.epoch == [0, 1, 2]
    assert read_backup(backup / "fit_backup.h5").epoch == 2  # kept: delete_checkpoint=False


def test_unreadable_backup_without_previous_raises(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "fit_backup.h5").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="no backup in .* can be read.*not a readable HDF5"):
        _fit([lamina.callbacks.BackupAndRestore(backup)])


def test_backup_from_another_fit_is_refused(tmp_path):
    backup = tmp_path / "backup"
    _interrupted(backup, 5, save_freq=1)
    with pytest.raises(ValueError, match="'batch_size': 4.*'batch_size': 8"):
        _fit([lamina.callbacks.BackupAndRestore(backup, save_freq=1)], batch_size=8)


class Batches:
    """Streamed (not in-memory) data: a re-iterable source of (x, y) batches."""

    def __init__(self):
        self.x, self.y = resumable_fit.data()

    def __iter__(self):
        for start in range(0, 40, 8):
            yield self.x[start:start + 8], self.y[start:start + 8]


class InterruptAtEpoch(lamina.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_streamed_data_resumes_at_epoch_ends(tmp_path):
    def fit(callbacks):
        model = resumable_fit.build_model()
        model.fit(Batches(), epochs=resumable_fit.EPOCHS, callbacks=callbacks, verbose=0)
        return model

    reference = fit([])
    with pytest.raises(KeyboardInterrupt):
        fit([lamina.callbacks.BackupAndRestore(tmp_path), InterruptAtEpoch()])
    assert read_backup(tmp_path / "fit_backup.h5").epoch == 2
    resumed = fit([lamina.callbacks.BackupAndRestore(tmp_path)])
    for got, want in zip(resumed.weights, reference.weights):
        assert np.array_equal(np.asarray(got), np.asarray(want))
    assert resumed.history.epoch == [0, 1, 2]
    with pytest.raises(NotImplementedError, match="only implemented for in-memory"):
        fit([lamina.callbacks.BackupAndRestore(tmp_path / "b", save_freq=2)])


def test_epoch_end_backups_keep_batches_fused():
    # The kill tests' claim: their reference fuses batches, save_freq=2 does not.
    model = resumable_fit.build_model()

    def fused(*callbacks):
        return model._fused_steps(lamina.callbacks.CallbackList(list(callbacks), model=model),
                                  "train")

    assert fused() == fused(lamina.callbacks.BackupAndRestore("d")) == 16
    assert fused(lamina.callbacks.BackupAndRestore("d", save_freq=2)) == 1
    assert not lamina.callbacks.BackupAndRestore("d")._needs_batch_hooks("train")
    assert lamina.callbacks.BackupAndRestore("d", save_freq=3)._needs_batch_hooks("train")
    assert not lamina.callbacks.BackupAndRestore("d", save_freq=3)._needs_batch_hooks("test")


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        lamina.callbacks.BackupAndRestore("")
    for bad in ("batch", 0, 1.5, True):
        with pytest.raises(ValueError, match="save_freq"):
            lamina.callbacks.BackupAndRestore("d", save_freq=bad)
    with pytest.raises(ValueError, match="only available while `fit` runs"):
        resumable_fit.build_model().fit_position()


def test_skip_batches_keeps_call_boundaries():
    plan = [(0, 4, 3), (12, 4, 3), (24, 4, 1), (28, 2, 1)]
    assert skip_batches(plan, 0) == plan
    assert skip_batches(plan, 3) == plan[1:]
    assert skip_batches(plan, 4) == [(16, 4, 2), (24, 4, 1), (28, 2, 1)]
    assert skip_batches(plan, 8) == []


# -- the file ---------------------------------------------------------------------------

def _position(**changes):
    fields = dict(
        epoch=1, step=3,
        train_state=TrainState([np.ones((2, 3), "float32"), np.zeros((3,), "float32")],
                               [np.arange(3, dtype="float32")],
                               [np.array(7, "int32"), np.full((2, 3), 0.5, "bfloat16")],
                               [np.array(2.0, "float32")]),
        rng_key=np.array([1, 2], "uint32"), order=np.arange(5, dtype="int32")[::-1].copy(),
        order_rng_state=np.random.default_rng(3).bit_generator.state,
        history={"loss": [0.5, float("nan")]}, history_epochs=[0, 1],
        plan={"num_samples": 5, "batch_size": 2, "steps": 3, "shuffle": True})
    fields.update(changes)
    return FitPosition(**fields)


def test_backup_file_round_trips(tmp_path):
    position = _position()
    write_backup(tmp_path / "b.h5", position)
    back = read_backup(tmp_path / "b.h5")
    assert (back.epoch, back.step, back.plan, back.history_epochs) == (1, 3, position.plan, [0, 1])
    assert back.order_rng_state == position.order_rng_state
    assert back.history["loss"][0] == 0.5 and np.isnan(back.history["loss"][1])
    for field in TrainState._fields:
        for got, want in zip(getattr(back.train_state, field),
                             getattr(position.train_state, field)):
            assert got.dtype == want.dtype and got.shape == want.shape
            assert got.tobytes() == want.tobytes()
    assert np.array_equal(back.rng_key, position.rng_key)
    assert np.array_equal(back.order, position.order)
    assert [p.name for p in tmp_path.iterdir()] == ["b.h5"]  # no temporary file left


def test_failed_backup_write_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "b.h5"
    write_backup(path, _position(epoch=1))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)  # the content is written, the rename never comes
    with pytest.raises(OSError, match="disk full"):
        write_backup(path, _position(epoch=2))
    monkeypatch.undo()
    assert read_backup(path).epoch == 1
    assert [p.name for p in tmp_path.iterdir()] == ["b.h5"]


def _tamper(path, edit):
    with h5py.File(path, "r+") as f:
        edit(f)


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.attrs.__setitem__("format", "keras"), "not a lamina fit backup"),
    (lambda f: f.__delitem__("metrics_variables"), "missing group 'metrics_variables'"),
    (lambda f: f["trainable_variables"].move("1", "5"), "must hold datasets '0', '1'"),
    (lambda f: (f.__delitem__("rng_key"),
                f.__setitem__("rng_key", h5py.ExternalLink("other.h5", "/k"))),
     "external link at '/rng_key'"),
    (lambda f: (f.__delitem__("order"),
                f.create_dataset("order", shape=(10**9,), dtype="int32")),
     "declares shape \\(1000000000,\\) \\(4000000000 bytes\\) but stores only 0"),
    (lambda f: (f.__delitem__("order"), f.__setitem__("order", h5py.SoftLink("/rng_key"))),
     "soft link at '/order'"),
    (lambda f: f["optimizer_variables/1"].attrs.__setitem__("dtype", "object"),
     "cannot hold dtype"),
    (lambda f: (f.__delitem__("meta"), f.create_dataset(
        "meta", data=np.frombuffer(b'{"epoch": 1}', "uint8"))), "counters must have keys"),
    (lambda f: (f.__delitem__("meta"), f.create_dataset(
        "meta", data=np.frombuffer(b"\xff{", "uint8"))), "unreadable counters"),
])
def test_malformed_backup_files_are_refused(tmp_path, edit, message):
    path = tmp_path / "b.h5"
    write_backup(path, _position())
    _tamper(path, edit)
    with pytest.raises(ValueError, match=message):
        read_backup(path)


def test_position_checks_on_resume(tmp_path):
    """A position whose arrays do not fit the model is refused before any step."""
    backup = tmp_path / "backup"
    _interrupted(backup, 3, save_freq=1)
    good = read_backup(backup / "fit_backup.h5")
    state = good.train_state
    bad_state = state._replace(trainable_variables=[np.zeros((5, 5), "float32")]
                               + list(state.trainable_variables[1:]))
    order = np.array(good.order, copy=True)
    order[0] = order[1]
    cases = [(bad_state, good.order, "trainable_variables array 0 is float32\\(5, 5\\)"),
             (state, order, "must be a permutation of 39 samples")]
    for train_state, new_order, message in cases:
        write_backup(backup / "fit_backup.h5", FitPosition(**{
            **good.__dict__, "train_state": train_state, "order": new_order}))
        with pytest.raises(ValueError, match=message), warnings.catch_warnings():
            _fit([lamina.callbacks.BackupAndRestore(backup, save_freq=1)])
