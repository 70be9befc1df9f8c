"""Preprocessing layers usable inside models: Normalization, Rescaling, CategoryEncoding,
Discretization and Hashing."""

from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashing import Hashing
from lamina.layers.preprocessing.normalization import Normalization
from lamina.layers.preprocessing.rescaling import Rescaling

__all__ = ["CategoryEncoding", "Discretization", "Hashing", "Normalization", "Rescaling"]
