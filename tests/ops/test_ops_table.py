"""Every case of the ops table (op_cases.py) against keras.ops.

- values, dtypes and shapes of lamina's eager results against Keras's at the default
  dtypes, for the first case of each op and the key cases (Keras's results come from
  one compiled call: compiling each Keras op eagerly would dominate the run);
- output dtypes and shapes for every dtype variant of a case (mixed int/float, half
  precision, bools, Python scalars) by calling both libraries on symbolic
  KerasTensors, also with an unknown batch size;
- the op under ``jax.jit`` where symbolic tracing does not already cover it, and on
  lamina Variables;
- (slow) every case and dtype variant eagerly against Keras's eager results.
"""

from __future__ import annotations

import json
import types

import jax
import numpy as np
import pytest
from op_cases import CASES, FUNCTION_CASES, Spec
from oracle import keras

import lamina
from lamina import ops as lops

ALL_CASES = CASES + FUNCTION_CASES


def _fast_eager_cases() -> list:
    """Indices of the cases whose values the default run compares: the first case of
    each op and the cases marked ``_key`` (each eager call compiles a program, so
    comparing every case eagerly is left to the slow run)."""
    seen, chosen = set(), []
    for index, case in enumerate(ALL_CASES):
        if case["name"] not in seen or case["key"]:
            chosen.append(index)
        seen.add(case["name"])
    return chosen


FAST_EAGER = _fast_eager_cases()


def _case_id(case) -> str:
    return case["name"]


def _resolve(module, name):
    for part in name.split("."):
        module = getattr(module, part)
    return module


def _specs(value) -> list:
    if isinstance(value, Spec):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _specs(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _specs(v)]
    return []


def _fill(value, make):
    """``value`` with each Spec replaced by ``make(spec)`` (in argument order)."""
    if isinstance(value, Spec):
        return make(value)
    if isinstance(value, list):
        return [_fill(v, make) for v in value]
    if isinstance(value, tuple):
        return tuple(_fill(v, make) for v in value)
    if isinstance(value, dict):
        return {k: _fill(v, make) for k, v in value.items()}
    return value


def _variants(case) -> list:
    default = tuple(s.dtype for s in _specs((case["args"], case["kwargs"])))
    variants = [default]
    for v in case["dt"]:
        if len(v) == len(default) and v not in variants:
            variants.append(v)
    return variants


def _arguments(case, dtypes, seed=0):
    rng = np.random.default_rng(seed)
    it = iter(dtypes)
    return _fill((case["args"], case["kwargs"]), lambda spec: spec.make(rng, next(it)))


def _symbolic_arguments(case, dtypes, tensor_class, batch_none: bool = False):
    it = iter(dtypes)

    def make(spec):
        shape = spec.shape
        if batch_none and len(shape) >= 2:
            shape = (None,) + shape[1:]
        return tensor_class(shape, dtype=next(it))

    return _fill((case["args"], case["kwargs"]), make)


def _leaves(out) -> list:
    return jax.tree_util.tree_leaves(out)


def _dtype(x) -> str:
    return lamina.backend.standardize_dtype(x.dtype)


def _tolerance(case, dtype: str):
    if dtype == "float16":
        return 2e-2, 2e-2
    if dtype == "bfloat16":
        return 5e-2, 5e-2
    return case["tol"] or (1e-5, 1e-5)


def _compare(case, got, expected, what: str) -> None:
    got_leaves, expected_leaves = _leaves(got), _leaves(expected)
    assert len(got_leaves) == len(expected_leaves), (
        f"{what}: {len(got_leaves)} outputs, Keras gives {len(expected_leaves)}")
    for g, e in zip(got_leaves, expected_leaves):
        if isinstance(e, (bool, int, float, str)):  # Python results: shape(), dtype(), ...
            assert type(g) is type(e) and g == e, f"{what}: {g!r}, Keras gives {e!r}"
            continue
        assert type(g) is not np.ndarray or type(e) is np.ndarray, (
            f"{what}: a NumPy array where Keras gives {type(e).__name__}")
        g, e = np.asarray(g), np.asarray(e)
        assert g.shape == e.shape, f"{what}: shape {g.shape}, Keras gives {e.shape}"
        assert _dtype(g) == _dtype(e), f"{what}: dtype {_dtype(g)}, Keras gives {_dtype(e)}"
        if case["values"]:
            rtol, atol = _tolerance(case, _dtype(e))
            if _dtype(e) == "bfloat16":
                g, e = g.astype("float32"), e.astype("float32")
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=what)


def _split_arrays(args, kwargs):
    """The NumPy arrays among the arguments, and a function putting values back."""
    leaves, treedef = jax.tree_util.tree_flatten(
        (args, kwargs), is_leaf=lambda x: isinstance(x, np.ndarray) or callable(x))
    positions = [i for i, x in enumerate(leaves) if isinstance(x, np.ndarray)]

    def rebuild(values):
        full = list(leaves)
        for i, v in zip(positions, values):
            full[i] = v
        return jax.tree_util.tree_unflatten(treedef, full)

    return [leaves[i] for i in positions], rebuild


class _Raised:
    def __init__(self, error):
        self.error = error


@pytest.fixture(scope="module")
def keras_results():
    """Keras's results for every case at its default dtypes: one compiled call for the
    cases that trace (results equal to Keras's eager ones), eager calls for the rest."""
    traced, results = [], {}
    for index in FAST_EAGER:
        case = ALL_CASES[index]
        args, kwargs = _arguments(case, _variants(case)[0])
        arrays, rebuild = _split_arrays(args, kwargs)
        if case["jit"]:
            traced.append((index, arrays, rebuild))
        else:
            results[index] = (args, kwargs)

    def run_all(all_arrays):
        outputs = []
        for (index, _, rebuild), arrays in zip(traced, all_arrays):
            a, k = rebuild(arrays)
            try:
                out = _resolve(keras.ops, ALL_CASES[index]["name"])(*a, **k)
            except Exception:  # noqa: BLE001 - retried eagerly below
                out = None
            if out is not None and not all(isinstance(x, jax.Array) for x in _leaves(out)):
                out = None  # Python values: compare the eager call
            outputs.append(out)
        return outputs

    compiled = jax.jit(run_all)([arrays for _, arrays, _ in traced])
    for (index, arrays, rebuild), out in zip(traced, compiled):
        results[index] = out if out is not None else rebuild(arrays)
    expected = {}
    for index, value in results.items():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
            args, kwargs = value
            try:
                value = _resolve(keras.ops, ALL_CASES[index]["name"])(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - recorded, lamina may accept the input
                value = _Raised(e)
        expected[index] = value
    return expected


@pytest.mark.parametrize("index", FAST_EAGER, ids=[_case_id(ALL_CASES[i]) for i in FAST_EAGER])
def test_op_matches_keras(index, keras_results):
    case = ALL_CASES[index]
    expected = keras_results[index]
    if isinstance(expected, _Raised):
        pytest.skip(f"Keras raises {type(expected.error).__name__}: {expected.error}")
    args, kwargs = _arguments(case, _variants(case)[0])
    got = _resolve(lops, case["name"])(*args, **kwargs)
    _compare(case, got, expected, f"{case['name']} with default dtypes")


@pytest.mark.slow
@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_op_dtype_variants_match_keras_eagerly(case):
    lamina_op, keras_op = _resolve(lops, case["name"]), _resolve(keras.ops, case["name"])
    for dtypes in _variants(case):
        what = f"{case['name']} with dtypes {dtypes}"
        args, kwargs = _arguments(case, dtypes)
        try:
            expected = keras_op(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - lamina may accept more inputs
            print(f"{what}: Keras raises {type(e).__name__}: {e}")
            continue
        _compare(case, lamina_op(*args, **kwargs), expected, what)


def _batch_none_applies(case) -> bool:
    if not case["batch"]:
        return False
    specs = _specs((case["args"], case["kwargs"]))
    leading = {s.shape[0] for s in specs if len(s.shape) >= 2}
    return len(leading) == 1 and all(len(s.shape) >= 2 for s in specs)


def _check_symbolic(got, expected, what: str) -> list:
    """Mismatches between lamina's output KerasTensors and Keras's outputs."""
    got_leaves, expected_leaves = _leaves(got), _leaves(expected)
    if len(got_leaves) != len(expected_leaves):
        return [f"{what}: {len(got_leaves)} outputs, Keras gives {len(expected_leaves)}"]
    problems = []
    for g, e in zip(got_leaves, expected_leaves):
        assert isinstance(g, lamina.KerasTensor), what
        # An unknown dimension of lamina's matches any size of a concrete Keras result.
        shape_ok = len(g.shape) == len(np.shape(e)) and all(
            d is None and not isinstance(e, keras.KerasTensor) or d == k
            for d, k in zip(g.shape, np.shape(e)))
        if not shape_ok or g.dtype != _dtype(e):
            problems.append(f"{what}: {g.shape} {g.dtype}, Keras gives {tuple(np.shape(e))} "
                            f"{_dtype(e)}")
    return problems


@pytest.mark.parametrize("case", [c for c in CASES if c["sym"]], ids=_case_id)
def test_op_dtypes_and_shapes_on_symbolic_tensors_match_keras(case):
    """Every dtype variant on KerasTensors. Where Keras's own symbolic result disagrees
    with its eager result (a Keras inconsistency), lamina must give the eager one."""
    name = case["name"]
    lamina_op, keras_op = _resolve(lops, name), _resolve(keras.ops, name)
    for dtypes in _variants(case):
        # The unknown batch size is checked at the default dtypes (the first variant).
        unknown = _batch_none_applies(case) and dtypes == _variants(case)[0]
        for batch_none in (False, True) if unknown else (False,):
            what = f"{name} with dtypes {dtypes} (unknown batch: {batch_none})"
            kargs, kkwargs = _symbolic_arguments(case, dtypes, keras.KerasTensor, batch_none)
            largs, lkwargs = _symbolic_arguments(case, dtypes, lamina.KerasTensor, batch_none)
            try:
                expected = keras_op(*kargs, **kkwargs)
            except Exception:  # noqa: BLE001 - Keras cannot infer it; see below
                expected = None
            try:
                got = lamina_op(*largs, **lkwargs)
            except Exception as e:  # noqa: BLE001 - acceptable only where Keras fails too
                if expected is None or _keras_eager_raises(case, dtypes):
                    continue
                raise AssertionError(f"{what}: lamina raises where Keras does not") from e
            if expected is None:
                continue  # lamina infers more than Keras
            problems = _check_symbolic(got, expected, what)
            if problems:
                args, kwargs = _arguments(case, dtypes)
                try:
                    eager = keras_op(*args, **kwargs)
                except Exception:  # noqa: BLE001 - Keras rejects these dtypes eagerly
                    continue
                problems = _check_symbolic(got, eager, what + " vs Keras eager")
            assert not problems, problems


def _keras_eager_raises(case, dtypes) -> bool:
    args, kwargs = _arguments(case, dtypes)
    try:
        _resolve(keras.ops, case["name"])(*args, **kwargs)
    except Exception:  # noqa: BLE001 - any error
        return True
    return False


def _jit_call(op, args, kwargs):
    arrays, rebuild = _split_arrays(args, kwargs)

    def run(*values):
        a, k = rebuild(values)
        return op(*a, **k)

    return jax.jit(run)(*arrays)


_JIT_OR_VARIABLE = [i for i, c in enumerate(ALL_CASES)
                    if c["jit"] and (not c["sym"] or i in FAST_EAGER)]


@pytest.mark.parametrize("index", _JIT_OR_VARIABLE,
                         ids=[_case_id(ALL_CASES[i]) for i in _JIT_OR_VARIABLE])
def test_op_under_jit_and_on_variables(index):
    """Symbolic calls trace each op already; ops without symbolic cases (functions,
    constants) are compiled here. The ops of the eagerly compared cases also take a
    lamina Variable."""
    case = ALL_CASES[index]
    op = _resolve(lops, case["name"])
    args, kwargs = _arguments(case, _variants(case)[0])
    eager = op(*args, **kwargs)
    if not case["sym"]:
        _compare(case, _jit_call(op, args, kwargs), eager, f"{case['name']} under jit")
    if index in FAST_EAGER and args and isinstance(case["args"][0], Spec):
        variable = lamina.Variable(args[0], dtype=str(args[0].dtype))
        _compare(case, op(variable, *args[1:], **kwargs), eager,
                 f"{case['name']} on a Variable")


# Ops that return functions; tests/ops/test_op_semantics.py checks them.
_TESTED_ELSEWHERE = {"custom_gradient", "vectorize"}


def test_every_keras_op_name_has_a_table_case():
    covered = {c["name"].split(".")[-1] for c in ALL_CASES} | _TESTED_ELSEWHERE
    names = {n for n in dir(keras.ops) if not n.startswith("_")
             and not isinstance(getattr(keras.ops, n), types.ModuleType)}
    names |= {n for n in dir(keras.ops.image) if not n.startswith("_")}
    untested = sorted(n for n in names if n not in covered and (
        hasattr(lops, n) or hasattr(lops.image, n)))
    assert not untested, f"ops without a table case: {untested}"


def _json(value):
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("case", [c for c in CASES if c["sym"]], ids=_case_id)
def test_op_nodes_record_keras_operations(case):
    """The operation a symbolic call records has Keras's class name, module and config
    (the entry a functional model's config holds for it)."""
    dtypes = _variants(case)[0]
    kargs, kkwargs = _symbolic_arguments(case, dtypes, keras.KerasTensor)
    largs, lkwargs = _symbolic_arguments(case, dtypes, lamina.KerasTensor)
    try:
        expected = _leaves(_resolve(keras.ops, case["name"])(*kargs, **kkwargs))[0]
    except Exception:  # noqa: BLE001 - Keras cannot call it symbolically
        return
    got = _leaves(_resolve(lops, case["name"])(*largs, **lkwargs))[0]
    keras_op = expected._keras_history.operation
    lamina_op = got._keras_history[0]
    assert type(lamina_op).__name__ == type(keras_op).__name__
    assert lamina_op._keras_module == type(keras_op).__module__
    try:
        keras_config = keras.saving.serialize_keras_object(keras_op)["config"]
    except NotImplementedError:
        return  # Keras cannot serialize this op (array arguments); lamina can
    lamina_config = lamina.saving.serialize_keras_object(lamina_op)["config"]
    keras_config.pop("name", None)  # Keras leaves it out for a few ops (ExtractPatches)
    lamina_config.pop("name")
    if not case["config"]:
        return
    assert _json(lamina_config) == _json(keras_config)
