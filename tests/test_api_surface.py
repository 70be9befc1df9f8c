"""Keras 3's public API surface, module by module, is present in lamina.

For every checked Keras module, each public name (``dir(module)`` without a leading
underscore) must exist in the lamina counterpart unless it is on the exclusion
list below, with the reason and the issue that will add it. A whole module can
be excluded (e.g. ``ops`` while lamina.ops is being written): its names are then
not required, but its coverage is still reported.

Run with ``-s`` to see the coverage table (lamina names present / Keras names).
"""

import importlib
import importlib.util
import warnings

import pytest
from oracle import keras  # noqa: F401 - sets up Keras on the JAX backend

# Keras modules checked ("" is the top-level package). Submodules missing from
# Keras itself (e.g. ops.core, ops.math in 3.15) are skipped.
MODULES = [
    "", "ops", "ops.numpy", "ops.nn", "ops.linalg", "ops.image", "ops.core", "ops.math",
    "tree", "config", "random", "backend", "layers", "losses", "metrics", "optimizers",
    "optimizers.schedules", "callbacks", "utils", "models", "saving", "activations",
    "initializers", "regularizers", "constraints", "distribution", "mixed_precision",
    "export",
]

NOT_YET = "not built yet (outside issues 9-13's deliverables; needs its own issue)"
NOT_PLANNED = "not planned"

# module -> (reason, issue): every name of the Keras module may be missing.
WHOLE_MODULE_EXCLUSIONS = {}

# module -> {name: (reason, issue)}.
EXCLUSIONS = {
    "": {
        "applications": ("pretrained model zoo (needs downloaded weights)", NOT_PLANNED),
        "datasets": ("dataset downloaders (need network access)", NOT_PLANNED),
        "distillation": ("knowledge-distillation API", NOT_PLANNED),
        "dtype_policies": ("quantized dtype policies; plain policies are lamina.DTypePolicy "
                           "and lamina.mixed_precision", NOT_PLANNED),
        "legacy": ("Keras 2 compatibility namespace", NOT_PLANNED),
        "preprocessing": ("legacy preprocessing namespace", NOT_PLANNED),
        "quantizers": ("int8/int4/float8/GPTQ quantization; lamina.Quantizer is the base "
                       "class only", NOT_PLANNED),
        "src": ("Keras's private implementation package", NOT_PLANNED),
        "visualization": ("bounding-box and image plotting (matplotlib)", NOT_YET),
        "wrappers": ("scikit-learn wrappers", NOT_PLANNED),
    },
    "layers": {
        "TFSMLayer": ("loads TensorFlow SavedModels (needs TensorFlow)", NOT_PLANNED),
        "TorchModuleWrapper": ("wraps torch modules (torch backend only)", NOT_PLANNED),
    },
    "optimizers": {
        "legacy": ("Keras 2 optimizer namespace", NOT_PLANNED),
    },
    "utils": {
        "FeatureSpace": ("structured-data preprocessing", NOT_YET),
        "legacy": ("Keras 2 compatibility namespace", NOT_PLANNED),
    },
    "saving": {
        "KerasFileEditor": ("inspecting/editing .keras files", NOT_YET),
    },
}


def _keras_module(path):
    try:
        return importlib.import_module("keras" + (f".{path}" if path else ""))
    except ImportError:
        return None


def _lamina_module(path):
    """The lamina counterpart of a Keras module path, or None when it does not exist."""
    name = "lamina" + (f".{path}" if path else "")
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except ImportError:
        return None


def keras_names(path) -> list[str]:
    """Keras's public names in a module."""
    return sorted(n for n in dir(_keras_module(path)) if not n.startswith("_"))


def present_names(path) -> set[str]:
    """Keras's public names that the lamina counterpart of ``path`` has."""
    module = _lamina_module(path)
    if module is None:
        return set()
    present = set()
    for name in keras_names(path):
        full = f"{path}.{name}" if path else name
        # A submodule counts when lamina has it as a module (loading it sets the attribute).
        if hasattr(module, name) or (
                _keras_module(full) is not None and _lamina_module(full) is not None):
            present.add(name)
    return present


def missing_names(path) -> list[str]:
    """Keras names that lamina lacks and that no exclusion covers."""
    if path in WHOLE_MODULE_EXCLUSIONS:
        return []
    excluded = EXCLUSIONS.get(path, {})
    present = present_names(path)
    return [n for n in keras_names(path) if n not in present and n not in excluded]


CHECKED = [m for m in MODULES if _keras_module(m) is not None]


@pytest.mark.parametrize("path", CHECKED, ids=[m or "keras" for m in CHECKED])
def test_lamina_has_keras_public_names(path):
    missing = missing_names(path)
    label = f"keras.{path}" if path else "keras"
    assert not missing, (f"lamina lacks these public names of {label} (add them, or add an "
                         f"exclusion with a reason and an issue): {missing}")


def test_exclusions_are_well_formed_and_current():
    for path, (reason, issue) in WHOLE_MODULE_EXCLUSIONS.items():
        assert reason and issue and path in MODULES
    for path, entries in EXCLUSIONS.items():
        assert path in MODULES, path
        names = set(keras_names(path))
        for name, (reason, issue) in entries.items():
            assert reason and issue, (path, name)
            # An exclusion must name something Keras has (catches typos).
            assert name in names, f"exclusion of {path}.{name}: Keras has no such name"
    stale = [f"{path or 'keras'}.{name}" for path, entries in EXCLUSIONS.items()
             for name in entries if name in present_names(path)]
    if stale:
        # Reported rather than failed: another change may land the name at any time.
        warnings.warn(f"Exclusions no longer needed (lamina has these now): {stale}",
                      stacklevel=1)


def test_the_check_fails_when_lamina_loses_a_name(monkeypatch):
    import lamina.tree

    assert missing_names("tree") == []
    monkeypatch.delattr(lamina.tree, "flatten")
    assert missing_names("tree") == ["flatten"]


def test_a_missing_module_counts_as_missing(monkeypatch):
    monkeypatch.setitem(EXCLUSIONS, "config", {})
    real = _lamina_module
    monkeypatch.setitem(globals(), "_lamina_module",
                        lambda path: None if path == "config" else real(path))
    assert missing_names("config") == keras_names("config")


def coverage_table() -> list[tuple[str, int, int]]:
    """``(module, lamina names present, Keras names)`` for every checked module."""
    return [(f"keras.{m}" if m else "keras", len(present_names(m)), len(keras_names(m)))
            for m in CHECKED]


def test_print_coverage_table():
    rows = coverage_table()
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'module':<{width}}  present / keras"]
    for name, present, total in rows:
        lines.append(f"{name:<{width}}  {present:>7} / {total:<5} ({100 * present / total:5.1f}%)")
    present = sum(r[1] for r in rows)
    total = sum(r[2] for r in rows)
    lines.append(f"{'total':<{width}}  {present:>7} / {total:<5} ({100 * present / total:5.1f}%)")
    print("\n" + "\n".join(lines))
    assert all(0 <= p <= t for _, p, t in rows)
