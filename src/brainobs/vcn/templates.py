"""The natural movie and scene templates of Visual Coding (reference/format_ecephys.md §1.2.1).

The warehouse serves each movie as a NumPy ``.npy`` array (the cache names it ``.h5``, as the
reference does, and reads it with ``numpy.load``) and each scene as an 8-bit TIFF image. Both
are read without pickles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainobs.errors import CorruptFileError, InvalidInputError


def read_natural_movie(path: Path) -> np.ndarray:
    """Return a movie template's frames (frame x height x width), never unpickling."""
    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except (ValueError, OSError) as exc:
        raise CorruptFileError(f"{path} is not a NumPy movie template: {exc}") from exc


def read_natural_scene(path: Path) -> np.ndarray:
    """Return a scene template (height x width) from its TIFF image."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with the plot extra
        raise InvalidInputError(
            "Reading natural scene templates needs Pillow: pip install 'brainobs[plot]'."
        ) from None
    try:
        with Image.open(path) as image:
            return np.asarray(image)
    except OSError as exc:
        raise CorruptFileError(f"{path} is not a readable TIFF scene template: {exc}") from exc
