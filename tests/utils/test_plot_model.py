"""plot_model without graphviz or pydot: valid SVG, one box per layer, one edge per
connection, nested models framed on request, PNG through the optional rasterizer."""

import re
import sys
import xml.etree.ElementTree as ET

import pytest
from oracle import keras
from test_seed_models import headline, tweets
from test_summary_nested import nested

import lamina
from lamina.utils import model_to_dot, plot_model
from lamina.utils.svg_diagram import CHAR_WIDTH, TEXT_SIZE, TITLE_SIZE

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def no_graphviz(monkeypatch):
    # None in sys.modules makes `import pydot` / `import graphviz` raise ImportError.
    for name in ("pydot", "graphviz", "pydotplus"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="module")
def models():
    return {"headline": headline(lamina), "tweets": tweets(lamina), "nested": nested(lamina)}


def draw(model, tmp_path, **kwargs):
    path = tmp_path / "model.svg"
    plot_model(model, to_file=str(path), **kwargs)
    root = ET.parse(path).getroot()  # valid XML
    assert root.tag == f"{SVG}svg"
    boxes = {g.get("data-name"): g for g in root.iter(f"{SVG}g") if g.get("class") == "layer"}
    edges = [(p.get("data-source"), p.get("data-target")) for p in root.iter(f"{SVG}path")
             if p.get("class") == "edge"]
    frames = [g.get("data-name") for g in root.iter(f"{SVG}g") if g.get("class") == "cluster"]
    return root, boxes, edges, frames


def rect(box):
    r = next(box.iter(f"{SVG}rect"))
    return tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))


def connections(model):
    """Distinct (producer, consumer) layer pairs of the model's graph."""
    pairs = []
    for node in model._nodes:
        for t in node.input_tensors:
            pair = (t._keras_history[0].name, node.operation.name)
            if pair not in pairs:
                pairs.append(pair)
    return pairs


@pytest.mark.parametrize("name", ["headline", "tweets", "nested"])
def test_one_box_per_layer_and_one_edge_per_connection(models, tmp_path, name):
    model = models[name]
    _, boxes, edges, frames = draw(model, tmp_path, show_shapes=True, show_dtype=True,
                                   show_layer_activations=True, show_trainable=True)
    assert sorted(boxes) == sorted(op.name for op in model.operations)
    assert sorted(edges) == sorted(connections(model))
    assert frames == []
    # Boxes do not overlap, and every text fits its box (fixed-width text measure).
    placed = [rect(b) for b in boxes.values()]
    for i, (x1, y1, w1, h1) in enumerate(placed):
        for x2, y2, w2, h2 in placed[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
    for box in boxes.values():
        width = rect(box)[2]
        for text in box.iter(f"{SVG}text"):
            size = float(text.get("font-size"))
            assert len("".join(text.itertext())) * size * CHAR_WIDTH <= width + 1e-6
    assert {TEXT_SIZE, TITLE_SIZE} <= {float(t.get("font-size")) for b in boxes.values()
                                       for t in b.iter(f"{SVG}text")}


def test_box_contents_as_keras_shows_them(models, tmp_path):
    _, boxes, _, _ = draw(models["headline"], tmp_path, show_shapes=True, show_dtype=True,
                          show_layer_activations=True, show_trainable=True)
    text = {name: " ".join("".join(t.itertext()) for t in box.iter(f"{SVG}text"))
            for name, box in boxes.items()}
    assert text["main_output"] == ("main_output (Dense) Activation: sigmoid Input shape: "
                                   "(None, 64) Output shape: (None, 1) Output dtype: float32 "
                                   "Trainable")
    assert text["main_input"] == "main_input (InputLayer) Output shape: (None, 100) " \
                                 "Output dtype: int32"
    concat = [n for n in text if n.startswith("concatenate")][0]
    assert "Input shape: [(None, 32), (None, 5)]" in text[concat]
    _, boxes, _, _ = draw(models["headline"], tmp_path, show_layer_names=False)
    assert {"".join(next(b.iter(f"{SVG}text")).itertext()) for b in boxes.values()} == {
        "InputLayer", "Embedding", "LSTM", "Dense", "Concatenate"}


def test_top_to_bottom_and_left_to_right(models, tmp_path):
    for rankdir, axis in (("TB", 1), ("LR", 0)):
        _, boxes, _, _ = draw(models["headline"], tmp_path, rankdir=rankdir)
        pos = {name: rect(box) for name, box in boxes.items()}
        # Every edge runs down (TB) or right (LR).
        for source, target in connections(models["headline"]):
            assert pos[source][axis] + pos[source][axis + 2] < pos[target][axis]
        # The second input sits just before where it is used (the concatenation).
        concat = [n for n in pos if n.startswith("concatenate")][0]
        assert pos["aux_input"][axis] > pos["main_input"][axis]
        assert pos[concat][axis] - pos["aux_input"][axis] < 2.5 * pos["aux_input"][axis + 2] + 100


def test_nested_models_are_boxes_or_frames(models, tmp_path):
    model = models["nested"]
    _, boxes, edges, frames = draw(model, tmp_path)
    assert sorted(boxes) == ["add", "inner", "seq", "side", "x"]
    assert sorted(edges) == [("add", "seq"), ("inner", "add"), ("side", "add"),
                             ("x", "inner"), ("x", "side")]
    root, boxes, edges, frames = draw(model, tmp_path, expand_nested=True)
    assert sorted(boxes) == ["add", "bn", "d1", "inner_x", "s1", "s2", "side", "x"]
    # Edges into a framed model reach its Input (functional) or first layer (Sequential).
    assert sorted(edges) == [("add", "s1"), ("bn", "add"), ("d1", "bn"), ("inner_x", "d1"),
                             ("s1", "s2"), ("side", "add"), ("x", "inner_x"), ("x", "side")]
    assert sorted(frames) == ["inner", "seq"]
    frame_rects = {g.get("data-name"): rect(g) for g in root.iter(f"{SVG}g")
                   if g.get("class") == "cluster"}

    def inside(box, frame):
        x, y, w, h = box
        fx, fy, fw, fh = frame
        return fx <= x and x + w <= fx + fw and fy <= y and y + h <= fy + fh

    def disjoint(a, b):
        return a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or \
            b[1] + b[3] <= a[1]

    members = {"inner": {"inner_x", "d1", "bn"}, "seq": {"s1", "s2"}}
    for frame, names in members.items():
        for name, box in boxes.items():
            if name in names:
                assert inside(rect(box), frame_rects[frame])
            else:
                assert disjoint(rect(box), frame_rects[frame])


def test_keras_draws_the_same_boxes(tmp_path):
    km, lm = nested(keras), nested(lamina)
    _, boxes, _, _ = draw(lm, tmp_path)
    assert sorted(boxes) == sorted(op.name for op in km._operations)


def test_png_through_the_optional_rasterizer(models, tmp_path, monkeypatch):
    pytest.importorskip("resvg_py")
    path = tmp_path / "model.png"
    plot_model(models["tweets"], to_file=str(path), show_shapes=True, dpi=96)
    small = path.read_bytes()
    assert small[:8] == b"\x89PNG\r\n\x1a\n"
    svg_width = float(ET.parse(_svg(models["tweets"], tmp_path)).getroot().get("width"))
    assert abs(int.from_bytes(small[16:20], "big") - svg_width) <= 1
    plot_model(models["tweets"], to_file=str(path), show_shapes=True, dpi=192)
    assert abs(int.from_bytes(path.read_bytes()[16:20], "big") - 2 * svg_width) <= 2
    monkeypatch.setitem(sys.modules, "resvg_py", None)
    with pytest.raises(ImportError, match=re.escape("lamina[plot]")):
        plot_model(models["tweets"], to_file=str(tmp_path / "other.png"))


def _svg(model, tmp_path):
    path = tmp_path / "again.svg"
    plot_model(model, to_file=str(path), show_shapes=True)
    return path


def test_bad_arguments_and_model_to_dot(models, tmp_path):
    model = models["tweets"]
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        plot_model(model, to_file=str(tmp_path / "model.pdf"))
    with pytest.raises(ValueError, match="rankdir"):
        plot_model(model, to_file=str(tmp_path / "model.svg"), rankdir="BT")
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        plot_model(model, to_file=str(tmp_path / "model.svg"), splinez="ortho")
    with pytest.raises(NotImplementedError, match="plot_model"):
        model_to_dot(model)
    unbuilt = lamina.Sequential([lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="not been built"):
        plot_model(unbuilt, to_file=str(tmp_path / "model.svg"))


def test_layer_range(models, tmp_path):
    _, boxes, edges, _ = draw(models["nested"], tmp_path, layer_range=["side", "seq"])
    assert sorted(boxes) == ["add", "seq", "side"]
    assert sorted(edges) == [("add", "seq"), ("side", "add")]
