"""How cloud objects are drawn and rendered: the Geometry Nodes modifier and the materials.

One concern a module: ``nodes`` (the shared node group), ``materials`` (the shared unlit/lit
materials), ``modifier`` (a cloud's modifier and its inputs), ``surface`` (the companion
surface object), ``cloud`` (a cloud's display set up and changed), ``scene`` (every cloud of a
scene at once).

Every cloud object keeps its PointCloud data (one point per pixel) and gets one
"Depth Cloud Display" Geometry Nodes modifier. Its exposed inputs change the look live,
without a rebuild:

- **Mode**: *Points* (spheres of the stored ``radius`` x Size), *Pixel Squares* (one quad
  per point, instanced, aligned with the source camera's image plane and sized to the
  pixel footprint, so the squares tile the frame from that camera) or *Surface* (the
  mesh of a companion object, see below).
- **Size**: a multiplier of the point radius / square size.
- **Lit**: the unlit material (emission of the ``Col`` attribute: renders reproduce the
  source pixels) or the lit one (diffuse).
- Camera Rotation, Pixel Size, Orthographic: the source camera, set at build time.

The surface (``core.grid_mesh``) is a Mesh; a PointCloud object cannot hold one, so it lives
in a companion object that is in no collection (only the modifier's *Surface* input uses
it) and is made when the Surface mode is first chosen, from the points already in the
cloud: no source file is read again.

The node group and the two materials exist once per .blend and are shared by every cloud
(found again by a version marker, also after save and reload).
"""
from .cloud import apply_settings, prepare_point_set, setup_cloud, setup_points_display
from .modifier import display_modifier, input_identifiers, stored_camera
from .nodes import MODES, POINTS, SQUARES, SURFACE
from .scene import apply_to_objects, apply_to_scene, cloud_objects

__all__ = ["apply_settings", "prepare_point_set", "setup_cloud", "setup_points_display", "display_modifier",
           "input_identifiers", "stored_camera", "MODES", "POINTS", "SQUARES", "SURFACE", "apply_to_objects",
           "apply_to_scene", "cloud_objects"]
