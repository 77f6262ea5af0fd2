"""Depth (or world position) from images and arrays: PNG, TIFF, NumPy (``read``)."""
