"""The text-classification example trains to high accuracy (slow: ~15 s on 2 cores)."""

import importlib.util
import pathlib

import pytest


@pytest.mark.slow
def test_text_classification_example_learns():
    path = pathlib.Path(__file__).parents[3] / "examples" / "text_classification.py"
    spec = importlib.util.spec_from_file_location("text_classification", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(quick=True)
    assert result["accuracy"] > 0.9
