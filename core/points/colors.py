"""Color transfer functions (display-referred sRGB <-> scene-linear Rec.709)."""
from __future__ import annotations

import numpy as np


def srgb_to_linear(v: float | np.ndarray) -> np.ndarray:
    """The sRGB EOTF (IEC 61966-2-1), elementwise, float32."""
    v = np.asarray(v, dtype=np.float32)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: float | np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_to_linear` (values clipped to 0..1 first)."""
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)
