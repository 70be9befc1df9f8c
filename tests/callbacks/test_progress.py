"""Progress output of real fit/evaluate/predict on a terminal and off one; RemoteMonitor
against a local server; SwapEMAWeights against Keras."""

import http.server
import io
import json
import re
import sys
import threading
import urllib.parse
import warnings

import numpy as np
import pytest
from oracle import assert_close, keras

import lamina
import lamina.utils.progbar as lamina_progbar
from lamina.callbacks import CallbackList, RemoteMonitor, SwapEMAWeights

BAR = "\u2501" * 20
RNG = np.random.default_rng(1)
X = RNG.standard_normal((70, 4)).astype("float32")
Y = RNG.standard_normal((70, 2)).astype("float32")


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def build(K, **optimizer_kwargs):
    inputs = K.Input((4,))
    model = K.Model(inputs, K.layers.Dense(2)(K.layers.Dense(3)(inputs)))
    model.compile(optimizer=K.optimizers.SGD(0.1, **optimizer_kwargs), loss="mse",
                  metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def model():
    return build(lamina)


def run_all(model, monkeypatch, tty, verbose):
    out = Stream(tty)
    monkeypatch.setattr(sys, "stdout", out)
    model.fit(X, Y, epochs=2, batch_size=16, validation_split=0.2, verbose=verbose)
    model.evaluate(X, Y, batch_size=32, verbose=verbose)
    model.predict(X, batch_size=32, verbose=verbose)
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    return out.getvalue()


NUM = r"-?\d+\.\d{4}(e[-+]\d+)?"
TIME = r"\d+(s|ms|us)/step"


def test_not_a_terminal_one_line_per_epoch_evaluate_and_predict(model, monkeypatch):
    text = run_all(model, monkeypatch, tty=False, verbose=1)
    assert "\r" not in text and "\x1b" not in text  # no redraws, no colours
    lines = text.splitlines()
    assert len(lines) == 6
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    epoch = rf"4/4 {BAR} \d+s {TIME} - loss: {NUM} - mae: {NUM} - val_loss: {NUM} - val_mae: {NUM}"
    assert re.fullmatch(epoch, lines[1]) and re.fullmatch(epoch, lines[3])
    assert re.fullmatch(rf"3/3 {BAR} \d+s {TIME} - loss: {NUM} - mae: {NUM}", lines[4])
    assert re.fullmatch(rf"3/3 {BAR} \d+s {TIME}", lines[5])


def test_verbose2_one_line_per_epoch_without_bar(model, monkeypatch):
    for tty in (True, False):
        lines = run_all(model, monkeypatch, tty=tty, verbose=2).splitlines()
        assert len(lines) == 6 and "\u2501" not in "".join(lines)
        assert re.fullmatch(rf"4/4 - \d+s - {TIME} - loss: {NUM} - mae: {NUM} - val_loss: "
                            rf"{NUM} - val_mae: {NUM}", lines[1])
        assert re.fullmatch(rf"3/3 - \d+s - {TIME} - loss: {NUM} - mae: {NUM}", lines[4])
        assert re.fullmatch(rf"3/3 - \d+s - {TIME}", lines[5])


def test_terminal_redraws_in_place(model, monkeypatch):
    text = run_all(model, monkeypatch, tty=True, verbose=1)
    plain = re.sub(r"\x1b\[\d+m", "", text)
    # Each bar ends with its line finished; the redraws start with "\r".
    finished = [line.split("\r")[-1] for line in plain.split("\n") if "\r" in line]
    assert len(finished) == 4  # two epochs, evaluate, predict
    assert finished[0].startswith(f"4/4 {BAR} ") and "val_loss" in finished[0]
    assert finished[3].startswith(f"3/3 {BAR} ")
    assert "\x1b[32m" in text  # the done part of the bar in green


def test_at_most_ten_redraws_a_second(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(lamina_progbar, "_now", lambda: clock[0])
    out = Stream(True)
    monkeypatch.setattr(sys, "stdout", out)
    cl = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=1000)
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    for b in range(1000):  # 1000 steps of 2 ms: 2 seconds
        clock[0] += 0.002
        cl.on_train_batch_end(b, {"loss": 1.0})
    cl.on_epoch_end(0, {"loss": 1.0})
    assert 18 <= out.getvalue().count("\r") <= 21


# ---- RemoteMonitor ----------------------------------------------------------------

class Recorder(http.server.BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.posts = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_epoch_logs(model, server):
    # The shapes of the fixture's training runs: no new compilation.
    history = model.fit(X[:56], Y[:56], epochs=2, batch_size=16, verbose=0,
                        callbacks=[RemoteMonitor(root=server, headers={"X-Run": "7"})])
    assert [p[0] for p in Recorder.posts] == ["/publish/epoch/end/"] * 2
    for epoch, (_, headers, body) in enumerate(Recorder.posts):
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert headers["X-Run"] == "7"
        sent = json.loads(urllib.parse.parse_qs(body.decode())["data"][0])
        assert sent == {"epoch": epoch, "loss": pytest.approx(history.history["loss"][epoch]),
                        "mae": pytest.approx(history.history["mae"][epoch])}
    Recorder.posts = []
    monitor = RemoteMonitor(root=server, path="/p", send_as_json=True)
    monitor.on_epoch_end(3, {"loss": np.float32(0.5), "acc": np.array(0.25)})
    (path, headers, body), = Recorder.posts
    assert path == "/p" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"epoch": 3, "loss": 0.5, "acc": 0.25}


def test_remote_monitor_unreachable_server_warns():
    monitor = RemoteMonitor(root="http://127.0.0.1:9", timeout=2.0)  # discard port: closed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor.on_epoch_end(0, {"loss": 1.0})
    assert any("Could not reach RemoteMonitor root server" in str(w.message) for w in caught)


# ---- SwapEMAWeights ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ema_runs():
    """The same EMA-trained model in Keras and lamina, with SwapEMAWeights(swap_on_epoch)
    and a callback after it recording the weights it sees at each epoch end."""
    models = [build(K, use_ema=True, ema_momentum=0.8) for K in (keras, lamina)]
    models[1].set_weights(models[0].get_weights())
    runs = []
    for model, K, swap in zip(models, (keras, lamina),
                              (keras.callbacks.SwapEMAWeights, SwapEMAWeights)):
        seen = []
        spy = K.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs, m=model, s=seen: (
            s.append([np.asarray(w) for w in m.get_weights()])))
        model.fit(X[:32], Y[:32], epochs=3, batch_size=16, shuffle=False, verbose=0,
                  callbacks=[swap(swap_on_epoch=True), spy])
        runs.append((model, seen))
    return runs


def test_swap_on_epoch_matches_keras(ema_runs):
    (km, k_seen), (lm, l_seen) = ema_runs
    # Callbacks after the swap see the moving averages at each epoch end...
    assert_close(l_seen, k_seen, rtol=1e-5, atol=1e-6)
    # ...and the model keeps them after the last epoch.
    assert_close(lm.get_weights(), km.get_weights(), rtol=1e-5, atol=1e-6)


def test_swap_around_evaluation_and_prediction_and_errors(ema_runs, model):
    ema = ema_runs[1][0]
    raw = [np.asarray(v.value) for v in ema.trainable_variables]
    averages = [a + 1.0 for a in raw]  # after the last epoch they are equal: make them differ
    ema.optimizer.state = {**ema.optimizer.state, "average": averages}
    cl = CallbackList([SwapEMAWeights()], model=ema, epochs=1)
    for begin, end in ((cl.on_test_begin, cl.on_test_end),
                       (cl.on_predict_begin, cl.on_predict_end)):
        begin()
        assert_close([np.asarray(v.value) for v in ema.trainable_variables], averages)
        assert_close([np.asarray(a) for a in ema.optimizer.state["average"]], raw)
        end()
        assert_close([np.asarray(v.value) for v in ema.trainable_variables], raw)
        assert_close([np.asarray(a) for a in ema.optimizer.state["average"]], averages)
    with pytest.raises(ValueError, match="use_ema=True"):
        CallbackList([SwapEMAWeights()], model=model).on_test_begin()
    unbuilt = build(lamina, use_ema=True)
    with pytest.raises(ValueError, match="not built"):
        CallbackList([SwapEMAWeights()], model=unbuilt).on_predict_begin()


def test_validation_in_fit_uses_the_averages_as_keras():
    """SwapEMAWeights() (no swap at epoch end) evaluates fit's validation data with the
    moving averages, as Keras does: the val_loss history equals Keras's and differs
    from a run without the callback."""
    initial = build(keras, use_ema=True, ema_momentum=0.5).get_weights()

    def val_losses(K, callbacks):
        model = build(K, use_ema=True, ema_momentum=0.5)
        model.set_weights(initial)
        return model.fit(X[:32], Y[:32], epochs=2, batch_size=16, shuffle=False,
                         verbose=0, validation_data=(X[32:48], Y[32:48]),
                         callbacks=callbacks).history["val_loss"]

    theirs = val_losses(keras, [keras.callbacks.SwapEMAWeights()])
    ours = val_losses(lamina, [SwapEMAWeights()])
    assert_close(ours, theirs, rtol=1e-5)
    assert not np.allclose(val_losses(lamina, []), ours, rtol=1e-4)
