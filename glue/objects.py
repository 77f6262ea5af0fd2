"""The scene's cloud objects: the "Depth Clouds" collection, finding the object built from a
source and frame, and putting a new datablock into an object (or a new one)."""
from __future__ import annotations

import bpy

from ..core.points.inputs import SourceSpec
from . import datablock

COLLECTION_NAME = "Depth Clouds"


def cloud_collection(scene):
    coll = bpy.data.collections.get(COLLECTION_NAME)
    if coll is None:
        coll = bpy.data.collections.new(COLLECTION_NAME)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    return coll


def put_cloud_data(scene, ob, name: str, data):
    """``(object, new)``: ``ob`` showing ``data`` instead of its old datablock (freed), or, when
    ``ob`` is None, a new object ``name`` holding ``data`` in the "Depth Clouds" collection."""
    if ob is not None:
        datablock.replace_data(ob, data)
        return ob, False
    ob = bpy.data.objects.new(name, data)
    cloud_collection(scene).objects.link(ob)
    return ob, True


def find_cloud_object(scene, spec: SourceSpec, frame: int, view: str = ""):
    """The cloud object already built from the same source, frame (and view) in this scene."""
    for ob in scene.objects:
        s = ob.depth_cloud
        if s.is_cloud and s.source == spec.path and s.color_source == spec.color_path and s.frame == frame \
                and s.view == (view or ""):
            return ob
    return None
