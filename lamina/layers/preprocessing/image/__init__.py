"""Image preprocessing and augmentation layers (Keras 3's image layers on JAX)."""

from lamina.layers.preprocessing.image.affine import (
    RandomElasticTransform,
    RandomPerspective,
    RandomRotation,
    RandomShear,
    RandomTranslation,
    RandomZoom,
)
from lamina.layers.preprocessing.image.color import (
    RandomBrightness,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomContrast,
    RandomGrayscale,
    RandomHue,
    RandomSaturation,
)
from lamina.layers.preprocessing.image.geometry import (
    CenterCrop,
    MaxNumBoundingBoxes,
    RandomCrop,
    RandomFlip,
    Resizing,
)
from lamina.layers.preprocessing.image.histogram import (
    AutoContrast,
    ContrastLimitedAdaptiveHistogramEqualization,
    Equalization,
)
from lamina.layers.preprocessing.image.mixing import CutMix, MixUp, RandomErasing
from lamina.layers.preprocessing.image.pipeline import Pipeline
from lamina.layers.preprocessing.image.policies import AugMix, RandAugment
from lamina.layers.preprocessing.image.tone import (
    RandomGaussianBlur,
    RandomInvert,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)

__all__ = [
    "AugMix", "AutoContrast", "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization",
    "CutMix", "Equalization", "MaxNumBoundingBoxes", "MixUp", "Pipeline", "RandAugment",
    "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast",
    "RandomCrop", "RandomElasticTransform", "RandomErasing", "RandomFlip",
    "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
    "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
    "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom", "Resizing",
    "Solarization",
]
