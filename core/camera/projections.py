"""The projection kinds of a camera model (plain names; the lowest layer of the camera code,
so depth conventions and the panoramic lens math can name them without importing the model)."""

PERSPECTIVE = "PERSP"
ORTHOGRAPHIC = "ORTHO"
PANORAMIC = "PANO"
PROJECTIONS = (PERSPECTIVE, ORTHOGRAPHIC, PANORAMIC)
