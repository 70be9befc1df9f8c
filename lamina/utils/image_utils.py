"""Image arrays and files: ``img_to_array``, ``array_to_img``, ``load_img``, ``save_img``.

``img_to_array`` needs only NumPy; the others use Pillow (an optional dependency,
imported when first needed).
"""

from __future__ import annotations

import io
import pathlib
import warnings

import numpy as np

from lamina import backend
from lamina import dtypes as _dtypes

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil_image(feature: str):
    try:
        from PIL import Image  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise ImportError(f"`{feature}` requires Pillow (the PIL package): "
                          "pip install pillow") from e
    return Image


def _data_format(data_format) -> str:
    data_format = backend.image_data_format() if data_format is None else str(data_format)
    data_format = data_format.lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    return data_format


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """An image (a PIL image or array-like) as a rank-3 NumPy array.

    Args:
        img: the image, ``(height, width)`` or ``(height, width, channels)``.
        data_format: ``"channels_last"`` gives ``(height, width, channels)``,
            ``"channels_first"`` ``(channels, height, width)``; default
            ``image_data_format()``.
        dtype: the array's dtype (default ``floatx()``).

    Raises:
        ValueError: the image is not of rank 2 or 3.
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=_dtypes.standardize(dtype))
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[..., None]
    raise ValueError(f"Unsupported image shape: {x.shape}")


def array_to_img(x, data_format=None, scale: bool = True, dtype=None):
    """A rank-3 array as a PIL image (RGBA, RGB, or grayscale for 4, 3, 1 channels).

    Args:
        x: the image array.
        data_format: the layout of ``x`` (default ``image_data_format()``).
        scale: rescale the values to ``[0, 255]`` first.
        dtype: the dtype ``x`` is read as (default ``floatx()``).

    Raises:
        ImportError: Pillow is not installed.
        ValueError: ``x`` is not of rank 3 or has an unsupported number of channels.
    """
    data_format = _data_format(data_format)
    image = _pil_image("array_to_img")
    x = np.array(x, dtype=_dtypes.standardize(dtype))
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with "
                         f"shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def save_img(path, x, data_format=None, file_format=None, scale: bool = True, **kwargs) -> None:
    """Saves an image array to a file.

    Args:
        path: the file path (or a file object).
        x: the image array.
        data_format: the layout of ``x``.
        file_format: the format (default: from the file extension; ``"jpg"`` means
            JPEG, where RGBA images are converted to RGB with a warning).
        scale: rescale the values to ``[0, 255]`` first.
        **kwargs: passed to ``PIL.Image.save``.
    """
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, color_mode: str = "rgb", target_size=None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Loads an image file as a PIL image.

    Args:
        path: a path or an ``io.BytesIO``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: ``(height, width)`` to resize to, or None.
        interpolation: the resampling method (``"nearest"``, ``"bilinear"``,
            ``"bicubic"``, ``"hamming"``, ``"box"``, ``"lanczos"``).
        keep_aspect_ratio: crop the centre to the target aspect ratio before resizing.

    Raises:
        ImportError: Pillow is not installed.
        TypeError: ``path`` is neither path-like nor a BytesIO.
        ValueError: an unknown ``color_mode`` or ``interpolation``.
    """
    image = _pil_image("load_img")
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    modes = {"grayscale": ("L", ("L", "I;16", "I")), "rgba": ("RGBA", ("RGBA",)),
             "rgb": ("RGB", ("RGB",))}
    if color_mode not in modes:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    convert_to, accepted = modes[color_mode]
    if img.mode not in accepted:
        img = img.convert(convert_to)
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported "
                         f"methods are {', '.join(_RESAMPLING)}")
    resample = getattr(image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, (width * size[1]) // size[0])
    crop_w = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])
