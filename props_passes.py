"""Settings of masks, normals and passes kept as attributes (saved in the .blend).

``PassOptions`` is a mixin of the scene settings (``scene.depth_cloud``) and of a sequence
object's settings (``object.depth_cloud.sequence``), so every build, sequence and playback
reads the same five options (``glue.build.READING_OPTIONS``). ``MaskPicker`` adds, on the
scene, the names found in the current file's Cryptomatte manifests (filled by *Find Mask
Names*) and a searchable field that adds the picked name to the mask.
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, CollectionProperty, FloatProperty, StringProperty


class DepthCloudMaskName(bpy.types.PropertyGroup):
    """One name of a Cryptomatte manifest (``name``), and the layer holding it."""

    layer: StringProperty(name="Layer")


def _add_pick(self, _context):
    pick = self.mask_pick.strip()
    if not pick:
        return
    current = [m.strip() for m in self.mask.split(",") if m.strip()]
    if pick not in current:
        current.append(pick)
        self.mask = ", ".join(current)
    self.mask_pick = ""  # re-enters once with an empty value


class PassOptions:
    """Mask, normals and attribute options (a mixin of PropertyGroups)."""

    mask: StringProperty(
        name="Mask", description="Cryptomatte names or wildcards (Suzanne, Tree*), or indices of the mask pass "
                                 "(3, 1-4), separated by commas; empty: every pixel")
    mask_pass: StringProperty(
        name="Mask Pass", description="CryptoObject, CryptoMaterial, CryptoAsset, Object Index, Material Index "
                                      "or any pass/channel (an AOV); empty: the Cryptomatte layer holding the names")
    mask_threshold: FloatProperty(
        name="Threshold", default=0.5, soft_min=0.0, soft_max=1.0,
        description="A pixel belongs when its summed Cryptomatte coverage (or the mask pass value) reaches this")
    normals: BoolProperty(name="Normals from Normal Pass", default=True,
                          description="Use the file's Normal pass (world space) as the points' normals")
    attributes: StringProperty(
        name="Attributes", description="Passes or AOVs kept as point attributes of the same name, separated by "
                                       "commas (e.g. rough, tint, Object Index)")


class MaskPicker:
    """The scene's list of mask names found in the file (a mixin of the scene settings)."""

    mask_names: CollectionProperty(type=DepthCloudMaskName)
    mask_pick: StringProperty(name="Add Name", update=_add_pick,
                              description="Search the names found in the file's Cryptomatte manifests; the pick "
                                          "is added to the mask")
    show_masks: BoolProperty(name="Masks and Attributes", default=False)


classes = (DepthCloudMaskName,)
register, unregister = bpy.utils.register_classes_factory(classes)
