"""lamina.tree against keras.tree: the same results, types and errors over a table."""

import collections
import time

import numpy as np
import pytest
from oracle import keras

import lamina
from lamina import tree

Pair = collections.namedtuple("Pair", ["b", "a"])
OtherPair = collections.namedtuple("Pair", ["b", "a"])


class MyList(list):
    pass


class MyDict(dict):
    pass


NESTED = {"b": [1, (2, 3)], "a": Pair(4, {"z": 5, "y": None}), "n": None, "e": [], "d": {}}

# Each case is called with the tree module (keras.tree or lamina.tree).
CASES = {
    "is_nested list": lambda t: [t.is_nested(x) for x in (
        [], (), {}, None, 1, "ab", np.zeros(3), {1, 2}, collections.deque([1]), Pair(1, 2),
        MyList([1]), MyDict(a=1), time.gmtime(0), collections.OrderedDict(a=1))],
    "flatten nested": lambda t: t.flatten(NESTED),
    "flatten leaf": lambda t: t.flatten(3),
    "flatten None": lambda t: t.flatten(None),
    "flatten [None]": lambda t: t.flatten([None]),
    "flatten empty": lambda t: (t.flatten([]), t.flatten({}), t.flatten(())),
    "flatten int keys": lambda t: t.flatten({100: "world!", 6: "Hello"}),
    "flatten mixed keys": lambda t: t.flatten({"x": 1, 2: 2, (1,): 3}),
    "flatten ordered": lambda t: t.flatten(collections.OrderedDict([("b", 1), ("a", 2)])),
    "flatten defaultdict": lambda t: t.flatten(collections.defaultdict(list, {"b": 1, "a": 2})),
    "flatten struct_time": lambda t: t.flatten(time.gmtime(0)),
    "flatten subclasses are leaves": lambda t: t.flatten([MyList([1, 2]), MyDict(a=1)]),
    "flatten_with_path": lambda t: t.flatten_with_path(NESTED),
    "flatten_with_path leaf": lambda t: t.flatten_with_path(3),
    "flatten_with_path ordered": lambda t: t.flatten_with_path(
        collections.OrderedDict([("b", 1), ("a", [2])])),
    "map keeps dict order": lambda t: t.map_structure(lambda x: x * 2, {"b": 1, "a": 2}),
    "map nested": lambda t: t.map_structure(str, NESTED),
    "map None leaf": lambda t: t.map_structure(str, [1, None]),
    "map None not leaf": lambda t: t.map_structure(str, [1, None], none_is_leaf=False),
    "map top None not leaf": lambda t: t.map_structure(str, None, none_is_leaf=False),
    "map leaf": lambda t: t.map_structure(str, 5),
    "map two": lambda t: t.map_structure(lambda x, y: x + y, [1, (2,)], [3, (4,)]),
    "map three": lambda t: t.map_structure(lambda *a: sum(a), {"a": 1, "b": [2]},
                                           {"b": [3], "a": 4}, {"a": 5, "b": [6]}),
    "map two Nones": lambda t: t.map_structure(lambda x, y: (x, y), [None], [None]),
    "map length mismatch": lambda t: t.map_structure(lambda x, y: x, [1, 2], [3]),
    "map list vs tuple": lambda t: t.map_structure(lambda x, y: x, [1, 2], (3, 4)),
    "map deeper second": lambda t: t.map_structure(lambda x, y: x, [1, 2], [[3], 4]),
    "map shallower second": lambda t: t.map_structure(lambda x, y: x, [[3], 4], [1, 2]),
    "map dict keys differ": lambda t: t.map_structure(lambda x, y: x, {"a": 1}, {"b": 1}),
    "map dict vs ordered": lambda t: t.map_structure(
        lambda x, y: x + y, {"a": 1, "b": 2}, collections.OrderedDict([("b", 10), ("a", 20)])),
    "map ordered vs dict": lambda t: t.map_structure(
        lambda x, y: x + y, collections.OrderedDict([("b", 10), ("a", 20)]), {"a": 1, "b": 2}),
    "map namedtuple vs tuple": lambda t: t.map_structure(lambda x, y: x, Pair(1, 2), (1, 2)),
    "map None vs 1 (not leaf)": lambda t: t.map_structure(lambda x, y: x, [None], [1],
                                                          none_is_leaf=False),
    "map 1 vs None (not leaf)": lambda t: t.map_structure(lambda x, y: x, [1], [None],
                                                          none_is_leaf=False),
    "map no structure": lambda t: t.map_structure(str),
    "map defaultdict": lambda t: t.map_structure(
        lambda x: x + 1, collections.defaultdict(list, {"b": 1, "a": 2})),
    "map deque": lambda t: t.map_structure(lambda x: x + 1, collections.deque([1, 2], maxlen=5)),
    "map namedtuple": lambda t: t.map_structure(lambda x: x + 1, Pair(1, 2)),
    "map struct_time": lambda t: t.map_structure(lambda x: x, time.gmtime(0)),
    "up_to": lambda t: t.map_structure_up_to([0, 0], len, [[1, 1], [2, 2]]),
    "up_to nested": lambda t: t.map_structure_up_to([0, [0, 0]], str, [[1, 1], [2, 2]]),
    "up_to two": lambda t: t.map_structure_up_to([0, 0], lambda a, b: (a, b), [[1], 2], [3, [4]]),
    "up_to dict": lambda t: t.map_structure_up_to({"a": 0, "b": 0}, str, {"b": [1], "a": (2,)}),
    "up_to None in structure": lambda t: t.map_structure_up_to([0, 0], str, [[1], None]),
    "up_to leaf": lambda t: t.map_structure_up_to(0, str, [[1], None]),
    "up_to shallower": lambda t: t.map_structure_up_to([0, [0]], str, [1, 2]),
    "up_to list vs tuple": lambda t: t.map_structure_up_to([0, 0], str, ([1], 2)),
    "up_to extra keys": lambda t: t.map_structure_up_to({"a": 0}, str, {"b": [1], "a": (2,)}),
    "up_to no structure": lambda t: t.map_structure_up_to([0, 0], str),
    "same ok": lambda t: t.assert_same_structure([(0, 1)], [(2, 3)]),
    "same list vs tuple": lambda t: t.assert_same_structure([0, 1], (2, 3)),
    "same dict vs ordered": lambda t: t.assert_same_structure(
        {"a": 1, "b": 2}, collections.OrderedDict([("b", 1), ("a", 2)])),
    "same leaf vs None": lambda t: t.assert_same_structure(1, None),
    "same leaf vs list": lambda t: t.assert_same_structure(1, [1]),
    "same array vs leaf": lambda t: t.assert_same_structure(np.zeros(2), 1),
    "same namedtuple classes": lambda t: t.assert_same_structure(Pair(1, 2), OtherPair(1, 2)),
    "same namedtuple": lambda t: t.assert_same_structure(Pair(1, [2]), Pair(3, [4])),
    "same dict keys": lambda t: t.assert_same_structure({"a": 1}, {"a": 1, "b": 2}),
    "paths ok": lambda t: t.assert_same_paths([0, 1], (2, 3)),
    "paths namedtuples": lambda t: t.assert_same_paths(Pair(0, 1), OtherPair(2, 3)),
    "paths differ": lambda t: t.assert_same_paths([0, 1], {"a": 1}),
    "pack dict": lambda t: t.pack_sequence_as({"key3": "", "key1": "", "key2": ""},
                                              ["value1", "value2", "value3"]),
    "pack nested": lambda t: t.pack_sequence_as((("a", "b"), ("c", "d", "e"), "f"),
                                                [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    "pack deep dicts": lambda t: t.pack_sequence_as(
        {"key3": {"c": ("alpha", "beta"), "a": ("gamma")}, "key1": {"e": "val1", "d": "val2"}},
        ["val2", "val1", 3.0, 1.0, 2.0]),
    "pack leaf": lambda t: t.pack_sequence_as("a", [1]),
    "pack None": lambda t: t.pack_sequence_as([None, 1], [1, 2]),
    "pack tuple input": lambda t: t.pack_sequence_as(["a", "b"], (1, 2)),
    "pack iterator": lambda t: t.pack_sequence_as(["a", "b"], iter((1, 2))),
    "pack namedtuple": lambda t: t.pack_sequence_as(Pair(1, [2]), [5, 6]),
    "pack too many": lambda t: t.pack_sequence_as(["a"], [1, 2]),
    "pack too few": lambda t: t.pack_sequence_as(["a", "b"], [1]),
    "pack roundtrip": lambda t: t.pack_sequence_as(NESTED, t.flatten(NESTED)),
    "lists_to_tuples": lambda t: t.lists_to_tuples([1, [2, {"a": [3]}], (4, [5]), Pair([1], 2)]),
    "map_shape_structure": lambda t: t.map_shape_structure(
        lambda s: ("S", s), [(1, None), {"a": [2, 3], "b": (None,)}, []]),
    "map_shape_structure leaf": lambda t: t.map_shape_structure(lambda s: ("S", s), 3),
    "map_shape_structure not shapes": lambda t: t.map_shape_structure(
        lambda s: ("S", s), [None, (1, "a"), {"k": (2, 3.0)}]),
    "traverse top down": lambda t: _traced(t, True),
    "traverse bottom up": lambda t: _traced(t, False),
    "traverse MAP_TO_NONE": lambda t: t.traverse(
        lambda x: t.MAP_TO_NONE if isinstance(x, tuple) else None, [(1, 2), [3]]),
    "traverse replace top down": lambda t: t.traverse(
        lambda x: x * 10 if isinstance(x, int) else None, [(1, 2), [3], {"b": 1, "a": 2}]),
    "traverse stops descent": lambda t: t.traverse(
        lambda x: "T" if isinstance(x, tuple) else None, [(1, [2]), [3]]),
    "traverse replace bottom up": lambda t: t.traverse(
        lambda x: sum(x) if isinstance(x, tuple) else None, [(1, 2), [3]], top_down=False),
    "traverse None": lambda t: t.traverse(lambda x: None, None),
    "traverse not callable": lambda t: t.traverse(3, [1]),
}


def _traced(t, top_down):
    seen = []
    out = t.traverse(seen.append, [(1, 2), [3], {"a": 4}], top_down=top_down)
    return out, seen


def _outcome(fn, module):
    try:
        return "ok", fn(module)
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return "raised", type(e)


def _typed(x):
    """A comparable form that also records container types (dict key order included)."""
    if isinstance(x, dict):
        return (type(x).__name__, [(k, _typed(v)) for k, v in x.items()])
    if isinstance(x, (list, tuple, collections.deque)):
        return (type(x).__name__, [_typed(v) for v in x])
    if isinstance(x, np.ndarray):
        return ("ndarray", x.tolist())
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_tree_matches_keras(name):
    fn = CASES[name]
    expected = _outcome(fn, keras.tree)
    actual = _outcome(fn, tree)
    assert actual[0] == expected[0], (name, actual, expected)
    if expected[0] == "raised":
        assert issubclass(actual[1], expected[1]) or actual[1] is expected[1], (name, actual)
    else:
        assert _typed(actual[1]) == _typed(expected[1]), name


def test_public_names_match_keras():
    keras_names = {n for n in dir(keras.tree) if not n.startswith("_")}
    assert keras_names <= set(dir(tree))
    assert lamina.tree is tree


def test_map_structure_up_to_none_placeholders_as_documented():
    # Keras documents None leaves in the shallow structure as placeholders (its
    # optree implementation rejects them); lamina follows the documentation.
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == [
        "[1, 1]", ["2", "2"]]


def test_check_types_is_deprecated():
    with pytest.warns(DeprecationWarning):
        tree.assert_same_structure([1], [2], check_types=True)


def test_namedtuple_path_uses_indices_and_jax_arrays_are_leaves():
    import jax.numpy as jnp

    assert tree.flatten_with_path(Pair(jnp.ones(2), 3))[1] == ((1,), 3)
    assert not tree.is_nested(jnp.ones(2))
    assert not tree.is_nested(lamina.Variable(1.0))
