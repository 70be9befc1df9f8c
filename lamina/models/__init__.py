"""Models, as ``keras.models``."""

from lamina.models.cloning import clone_model
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model"]
