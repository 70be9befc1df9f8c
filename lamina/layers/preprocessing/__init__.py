"""Preprocessing layers usable inside models: Normalization, Rescaling, CategoryEncoding,
Discretization and Hashing."""

from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashing import Hashing
from lamina.layers.preprocessing.normalization import Normalization
from lamina.layers.preprocessing.rescaling import Rescaling

# isort: split
# The image layers (their names are in lamina/layers/preprocessing/image/__init__.py).
from lamina.layers.preprocessing import image  # noqa: E402
from lamina.layers.preprocessing.image import *  # noqa: E402, F403

__all__ = ["CategoryEncoding", "Discretization", "Hashing", "Normalization", "Rescaling",
           *image.__all__]
