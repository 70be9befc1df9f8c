"""The guide's models train on lamina: losses fall and accuracies end well above chance."""

import importlib.util
import pathlib

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[1] / "examples" / "seed_examples.py"


@pytest.fixture(scope="module")
def results():
    spec = importlib.util.spec_from_file_location("seed_examples", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main()


def _falls(values, factor=0.7):
    return values[-1] < factor * values[0]


def test_classifier_learns(results):
    h = results["classifier"].history
    assert _falls(h["loss"]) and h["accuracy"][-1] > 0.9  # chance: 0.1


def test_reapplied_model_gives_identical_predictions(results):
    assert results["reapplied_gap"] == 0.0


def test_time_distributed_model_learns(results):
    assert results["video"].history["accuracy"][-1] > 0.9


def test_each_headline_run_reports_its_own_time(results):
    # Both fits train 4 epochs of an LSTM: neither takes under 50 ms.
    assert len(results["headline_seconds"]) == 2
    assert all(seconds > 0.05 for seconds in results["headline_seconds"])


def test_headline_model_learns_with_seed_compile_and_dicts(results):
    first, second = results["headline"]
    h = first.history
    assert set(h) == {"loss", "main_output_loss", "aux_output_loss", "main_output_accuracy",
                      "aux_output_accuracy"}
    # The auxiliary head sees only the LSTM, which learns the word rule more slowly.
    assert _falls(h["loss"]) and _falls(h["aux_output_loss"], 0.9)
    assert h["main_output_accuracy"][-1] > 0.85 and h["aux_output_accuracy"][-1] > 0.7
    assert second.history["main_output_accuracy"][-1] > 0.9


def test_tweet_model_learns(results):
    h = results["tweets"].history
    assert _falls(h["loss"]) and h["accuracy"][-1] > 0.7  # chance: 0.5
