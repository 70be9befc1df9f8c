"""model.summary() against Keras 3's text: nested models expanded, positions, line_length,
show_trainable, layer_range, the seed's models."""

import re

import pytest
from oracle import keras
from test_seed_models import headline, tweets

import lamina


def nested(K):
    """A functional model holding a functional model and a Sequential, all names given."""
    L = K.layers
    inp = K.Input((8,), name="x")
    inner_in = K.Input((8,), name="inner_x")
    h = L.BatchNormalization(name="bn")(L.Dense(4, name="d1")(inner_in))
    inner = K.Model(inner_in, h, name="inner")
    seq = K.Sequential([K.Input((4,), name="seq_x"), L.Dense(3, name="s1"),
                        L.Dense(2, name="s2")], name="seq")
    side = L.Dense(4, name="side")(inp)
    out = seq(L.Add(name="add")([inner(inp), side]))
    model = K.Model(inp, [out, side], name="outer")
    model.get_layer("side").trainable = False
    return model


def chain(K):
    L = K.layers
    inner = K.Sequential([K.Input((5,), name="cx"), L.Dense(3, name="c1")], name="inner_seq")
    return K.Sequential([K.Input((5,), name="sx"), inner, L.Dropout(0.1, name="drop"),
                         L.Dense(2, name="last")], name="outer_seq")


def summary(model, **kwargs) -> str:
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1  # one call with the whole text, as Keras 3
    return calls[0]


@pytest.fixture(scope="module")
def models():
    return {name: (build(keras), build(lamina)) for name, build in
            [("nested", nested), ("chain", chain)]}


CASES = [dict(), dict(expand_nested=True), dict(expand_nested=True, show_trainable=True),
         dict(expand_nested=True, line_length=70), dict(layer_range=["side", "seq"])]


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("name", ["nested", "chain"])
def test_summary_text_equals_keras(models, monkeypatch, name, kwargs):
    monkeypatch.setenv("COLUMNS", "200")  # Keras caps the line by the terminal's width
    km, lm = models[name]
    if name == "chain" and "layer_range" in kwargs:
        kwargs = dict(layer_range=["inner_seq", "drop"])
    expected, got = summary(km, **kwargs), summary(lm, **kwargs)
    assert got == expected
    if kwargs.get("expand_nested"):
        assert "   └ d1 (Dense)" in got or "   └ c1 (Dense)" in got


@pytest.mark.parametrize("positions", [[0.4, 0.6, 0.7, 1.0], [30, 50, 62, 90]])
def test_positions_and_narrow_terminal_equal_keras(models, monkeypatch, positions):
    monkeypatch.setenv("COLUMNS", "80")  # default width: 80 - 4 columns
    km, lm = models["nested"]
    assert summary(lm, expand_nested=True) == summary(km, expand_nested=True)
    # (Keras crops a table wider than the terminal; lamina prints the width asked for.)
    monkeypatch.setenv("COLUMNS", "200")
    got = summary(lm, positions=positions, line_length=90)
    if positions[-1] <= 1:  # Keras reads positions as fractions only
        assert got == summary(km, positions=positions, line_length=90)
    header = got.splitlines()[1]
    assert len(header) == 90
    # A column ends at each position, less the borders and padding taken evenly.
    if positions[-1] > 1:
        assert [len(part) for part in header[1:-1].split("┳")] == [29, 19, 10, 27]
    with pytest.raises(ValueError, match="Insufficient console width"):
        lm.summary(positions=[0.01, 0.5, 0.7, 1.0], print_fn=print)
    with pytest.raises(ValueError, match="positions must give the end of each"):
        lm.summary(positions=[0.5, 1.0], print_fn=print)
    with pytest.raises(ValueError, match="do not match the layer names"):
        lm.summary(layer_range=["nope", "add"], print_fn=print)


def _rows(text: str) -> list:
    """The table's rows as lists of cells, words joined across wrapped lines, the
    numbers Keras and lamina append to generated names removed."""
    text = re.sub(r"(?<=[a-z])_\d+(?=[\s\[(])", "", text)
    rows, current = [], None
    for line in text.splitlines():
        if line.startswith(("├", "└")):
            rows.append(current)
            current = None
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            current = cells if current is None else [
                f"{a} {b}".strip() for a, b in zip(current, cells)]
    return rows


@pytest.mark.parametrize("build", [headline, tweets])
def test_seed_models_rows_equal_keras(monkeypatch, build):
    monkeypatch.setenv("COLUMNS", "200")
    km, lm = build(keras), build(lamina)
    for kwargs in (dict(), dict(show_trainable=True, expand_nested=True)):
        expected, got = summary(km, **kwargs), summary(lm, **kwargs)
        assert _rows(got) == _rows(expected)
        assert got.splitlines()[-3:] == expected.splitlines()[-3:]  # the parameter counts
    assert any(r[0] == "lstm (LSTM)" for r in _rows(got))


def test_no_print_fn_prints_and_optimizer_params(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    texts = []
    for K in (keras, lamina):
        model = chain(K)
        model.compile(optimizer="adam", loss="mse")
        model.optimizer.build(model.trainable_variables)
        model.summary()
        texts.append(capsys.readouterr().out)
    assert texts[1] == texts[0]
    # Adam: iteration, learning rate and two slots per weight, counted in the total.
    assert texts[1].splitlines()[-4:] == [" Total params: 80 (320.00 B)",
                                          " Trainable params: 26 (104.00 B)",
                                          " Non-trainable params: 0 (0.00 B)",
                                          " Optimizer params: 54 (216.00 B)"]
