"""Models, as ``keras.models``."""

from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialized weights."""
    if input_tensors is not None or clone_function is not None:
        raise NotImplementedError("clone_model(input_tensors=..., clone_function=...) is not "
                                  "supported by lamina yet.")
    return type(model).from_config(model.get_config())


__all__ = ["Functional", "Model", "Sequential", "clone_model"]
