"""Mask names for the panel: the current frame's Cryptomatte manifests -> ``mask_names``."""
from __future__ import annotations

from ..core.errors import SourceFileError
from ..core.exr import cryptomatte
from .source import settings_spec


def fill_mask_names(scene, frame: int | None = None):
    """Fill ``scene.depth_cloud.mask_names`` with every manifest name of the frame's EXR (read
    from its header only); returns ``(count, problems)``. Raises when the file has no
    Cryptomatte layer with a manifest; the list is only replaced on success."""
    settings = scene.depth_cloud
    spec = settings_spec(settings)
    path, _ = spec.paths(scene.frame_current if frame is None else int(frame))
    layers = cryptomatte.read_layers(path)
    named = [lay for lay in layers if lay.manifest is not None]
    problems = [f"{path}: Cryptomatte layer {lay.name!r}: {lay.manifest_problem}" for lay in layers
                if lay.manifest is None]
    if not named:
        raise SourceFileError(path, "no Cryptomatte layer with a manifest (enable Cryptomatte Object/Material/"
                                    "Asset in View Layer Properties > Passes)" + (f"; {'; '.join(problems)}"
                                                                                   if problems else ""))
    settings.mask_names.clear()
    for lay in named:
        for name in lay.names():
            item = settings.mask_names.add()
            item.name, item.layer = name, lay.name
    return len(settings.mask_names), problems
