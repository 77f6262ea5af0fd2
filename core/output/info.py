"""What a file holds, for ``depth_cloud info``: read from headers only (no pixel decoding)
unless statistics are asked for.

EXR: parts, view layers and passes (Blender ``Layer.Pass.Channel`` names), channels with pixel
types, data/display windows, compression, the camera Blender recorded (``Camera``), a Depth
Cloud header camera (``core.header_camera``), which channels a build would use, and the guessed
depth convention with the reason for the guess. PLY: elements, properties and comments.
"""
from __future__ import annotations

import os

import numpy as np

from ..camera.from_header import blender_camera_name, camera_from_header, describe_cameras
from ..errors import CameraError, SourceFileError, ViewError
from ..exr import cryptomatte
from ..exr import damage as exr_damage
from ..exr import read as exr
from ..exr import views as views_mod
from ..exr.header import read_exr_header
from ..fileio import require_file
from ..images import read as depth_images
from ..points import attributes
from ..points import depth as depth_mod
from ..points.deep import sample_summary
from ..points.passes import file_convention
from .ply import read_ply_header

#: Blender stamp fields worth showing.
STAMP_FIELDS = ("Scene", "Frame", "Software", "Date", "RenderTime", "File")


def _window(box):
    if box is None:
        return None
    x0, y0, x1, y1 = (int(v) for v in box)
    return {"min": [x0, y0], "max": [x1, y1], "size": [x1 - x0 + 1, y1 - y0 + 1]}


def _layers(channels) -> list:
    """``[{'name': layer, 'passes': [{'name', 'channels': [leaf...], 'types': [...]}, ...]}]``."""
    layers = {}
    for ch in channels:
        layer, pass_name, leaf = exr.split_name(ch["name"])
        passes = layers.setdefault(layer, {})
        entry = passes.setdefault(pass_name, {"name": pass_name, "channels": [], "types": []})
        entry["channels"].append(leaf)
        entry["types"].append(ch["type"])
    order = "RGBAXYZUVW"
    out = []
    for name, passes in layers.items():
        items = []
        for entry in passes.values():
            pairs = sorted(zip(entry["channels"], entry["types"]),
                           key=lambda p: (order.index(p[0]) if p[0] in order else len(order), p[0]))
            items.append({"name": entry["name"], "channels": [p[0] for p in pairs], "types": [p[1] for p in pairs]})
        out.append({"name": name, "passes": items})
    return out


def _camera_summary(model) -> dict:
    d = {"projection": model.projection, "size": [model.width, model.height],
         "location": [round(float(v), 6) for v in model.location], "clip": [model.clip_start, model.clip_end],
         "sensor_fit": model.sensor_fit, "shift": [model.shift_x, model.shift_y]}
    if model.projection == "ORTHO":
        d["ortho_scale"] = model.ortho_scale
    else:
        d["lens"] = model.lens
        d["sensor"] = [model.sensor_width, model.sensor_height]
    if (model.pixel_aspect_x, model.pixel_aspect_y) != (1.0, 1.0):
        d["pixel_aspect"] = [model.pixel_aspect_x, model.pixel_aspect_y]
    return d


def guess_convention(header: dict, depth_channel: str | None, blender_file: bool) -> tuple[str | None, str]:
    """``(convention, reason)`` as a build with convention AUTO would decide it from the header."""
    if not depth_channel:
        return None, "no depth channel"
    conv, near, far, source = file_convention(header, depth_channel)
    if source == "header":
        extra = f" (near {near:g}, far {far:g})" if conv in depth_mod.NEEDS_NEAR_FAR else ""
        return conv, f"from the file's Depth Cloud header{extra}"
    if source == "channel":
        return conv, f"channel name {depth_channel!r}"
    if blender_file:
        return depth_mod.PLANAR, "Blender Z pass (planar camera depth)"
    return depth_mod.PLANAR, "assumed: the file does not say (use --convention if it is not planar Z)"


def exr_info(path: str | os.PathLike[str], stats: bool = False, view: str | None = None) -> dict:
    """Everything ``info`` reports about an EXR file (header only unless ``stats``). Multi-view
    files: the channels a build would use are those of ``view`` (default: the file's default)."""
    path = os.fspath(path)
    hdr = read_exr_header(path)
    views = views_mod.file_views(p.attributes for p in hdr.parts)
    if view and view not in views and not (not views and views_mod.is_individual_eye_file(path, view)):
        raise ViewError(path, view, views)
    build_view = (view or views[0]) if views else None
    try:
        damage = {exr_damage.part_label(i, hdr.parts[i]): problem
                  for i, problem in exr_damage.part_problems(hdr, path).items()}
    except exr_damage.LayoutError as err:
        damage = {"file": str(err)}
    except (OSError, ValueError) as err:
        damage = {"file": f"damaged EXR ({type(err).__name__})"}
    merged = hdr.header
    parts, channels = [], []
    for i, part in enumerate(hdr.parts):
        a = part.attributes
        chans = [{"name": c.name, "type": c.pixel_type, "part": i,
                  **({"sampling": [c.x_sampling, c.y_sampling]} if (c.x_sampling, c.y_sampling) != (1, 1) else {})}
                 for c in part.channels]
        channels.extend(chans)
        parts.append({"index": i, "name": part.name, "storage": part.storage,
                      "compression": a.get("compression", ""), "data_window": _window(part.data_window),
                      "display_window": _window(part.display_window),
                      "pixel_aspect": a.get("pixelAspectRatio", 1.0), "channels": [c["name"] for c in chans]})
    names = [c["name"] for c in channels]
    part_of = {c["name"]: c["part"] for c in channels}
    if views:  # one view's channels, under their names without the view (core/views.py)
        chosen, _ = views_mod.view_channels(
            [(c["part"], hdr.parts[c["part"]].attributes, c["name"], c["part"]) for c in channels],
            views, build_view)
        names, part_of = list(chosen), chosen
    layer_names = exr.view_layers(names)
    layer = layer_names[0] if layer_names else ""
    depth_name = exr.find_depth_channel(names, layer)
    color = exr.find_color_channels(names, layer)
    position = exr.find_position_channels(names, layer)
    blender_file = "BlenderMultiChannel" in merged or str(merged.get("Software", "")).startswith("Blender") \
        or blender_camera_name(merged) is not None
    convention, why = guess_convention(merged, depth_name, blender_file)

    camera = {"blender_camera": blender_camera_name(merged), "header_camera": None}
    try:
        model = camera_from_header(merged, path)
        if model is not None:
            camera["header_camera"] = _camera_summary(model)
    except CameraError as err:
        camera["header_camera_error"] = str(err)
    disp = parts[0]["display_window"]
    camera["descriptions"] = describe_cameras(merged, size=tuple(disp["size"]) if disp else None)

    main = depth_name or (position[0] if position else None)
    main_part = part_of.get(main, 0)
    info = {
        "path": path, "format": "OpenEXR", "version": hdr.version, "multipart": hdr.multipart,
        "file_size": os.path.getsize(path), "parts": parts, "channels": channels, "layers": _layers(channels),
        "display_window": parts[0]["display_window"], "data_window": parts[main_part]["data_window"],
        "kind": "DEPTH" if depth_name else ("POSITION" if position else None),
        "depth_channel": depth_name, "convention": convention, "convention_reason": why,
        "color_channels": [c for c in color if c] if color else None, "position_channels": position,
        "camera": camera, "stamp": {k: merged[k] for k in STAMP_FIELDS if isinstance(merged.get(k), str)},
        "views": views, "view": build_view, "damage": damage,
    }
    info.update(pass_extras_info(merged, names, layer, path))
    if any(str(p["storage"]).startswith("deep") for p in parts):  # reads the sample counts
        info["deep"] = sample_summary(path)
    if stats:
        info["stats"] = channel_stats(path, build_view)
        refine_guess_with_stats(info)
    return info


def pass_extras_info(header: dict, names, layer: str, path: str) -> dict:
    """Cryptomatte layers with their manifest names, the Normal pass, and the passes a mask
    or an attribute can use (``mask_passes``: index passes and other passes by name)."""
    crypto = cryptomatte.layers(header, names, path)
    crypto_channels = {ch for lay in crypto for pair in lay.ranks for ch in pair}
    normal = attributes.find_normal_channels(names, layer)
    used = set(crypto_channels) | set(normal or ())
    passes = []
    for n in names:
        if n in used:
            continue
        lay, pass_name, _ = exr.split_name(n)
        if lay == layer and pass_name and pass_name not in passes:
            passes.append(pass_name)
    return {"cryptomatte": cryptomatte.describe(crypto), "normal_channels": normal, "mask_passes": passes}


def channel_stats(path: str | os.PathLike[str], view: str | None = None) -> dict:
    """Per channel: finite min/max, NaN/inf count and background (>= 1e9) count. Reads pixels
    (multi-view files: those of ``view``, default the file's default view)."""
    f = exr.read_exr(path, view=view or None)
    out = {}
    planes = [(name, ch.pixels) for name, ch in f.channels.items()]
    planes += [(name, np.asarray(v, np.float32)) for p in f.deep.values() for name, v in p.channels.items()]
    for name, px in planes:
        finite = np.isfinite(px)
        bg = finite & (px >= depth_mod.BACKGROUND_DEPTH)
        good = px[finite & ~bg]
        out[name] = {"min": float(good.min()) if good.size else None, "max": float(good.max()) if good.size else None,
                     "nonfinite": int(px.size - finite.sum()), "background": int(bg.sum()), "pixels": int(px.size)}
    return out


def refine_guess_with_stats(info: dict) -> None:
    """Values tell more than names when the file says nothing (e.g. a 0..1 depth map)."""
    name = info.get("depth_channel")
    if not name or "assumed" not in (info.get("convention_reason") or ""):
        return
    s = info["stats"].get(name) or {}
    lo, hi = s.get("min"), s.get("max")
    if lo is None:
        return
    if lo >= 0.0 and hi <= 1.0:
        info["convention_reason"] = (f"values {lo:.4g}..{hi:.4g} lie in 0..1: probably NORMALIZED or ZBUFFER "
                                     "(set --convention with --near/--far); planar Z assumed")
    elif s.get("background"):
        info["convention_reason"] = f"background pixels at >= 1e9 like Blender's Z pass: planar Z ({lo:.4g}..{hi:.4g})"


def ply_info(path: str | os.PathLike[str]) -> dict:
    fmt, elements, header_size, comments = read_ply_header(path)
    return {"path": os.fspath(path), "format": "PLY", "encoding": fmt, "header_bytes": header_size,
            "file_size": os.path.getsize(path), "comments": comments,
            "elements": [{"name": n, "count": c, "properties": [list(p) for p in props]} for n, c, props in elements]}


def file_info(path: str | os.PathLike[str], stats: bool = False, view: str | None = None) -> dict:
    """Info of an EXR or PLY file; a clear :class:`SourceFileError` for anything else."""
    path = require_file(path)
    if depth_images.is_depth_image(path):  # PNG, TIFF, .npy/.npz depth (core/images/read.py)
        return depth_images.image_info(path, stats)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as err:
        raise SourceFileError(path, f"cannot open ({err.strerror or err})") from err
    if magic == b"\x76\x2f\x31\x01":
        try:
            return exr_info(path, stats, view)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:  # a header nobody anticipated
            raise SourceFileError(path, f"damaged EXR header ({type(err).__name__})") from err
    if magic[:3] == b"ply":
        return ply_info(path)
    raise SourceFileError(path, "not an OpenEXR or PLY file")


# ------------------------------------------------------------------ text
def _win_text(w):
    if w is None:
        return "?"
    return f"({w['min'][0]},{w['min'][1]})-({w['max'][0]},{w['max'][1]}) {w['size'][0]}x{w['size'][1]}"


def _window_note(info) -> str:
    dw, disp = info.get("data_window"), info.get("display_window")
    if not dw or not disp or dw == disp:
        return ""
    (x0, y0), (x1, y1) = dw["min"], dw["max"]
    (dx0, dy0), (dx1, dy1) = disp["min"], disp["max"]
    if x0 >= dx0 and y0 >= dy0 and x1 <= dx1 and y1 <= dy1:
        return "  (smaller than the frame: border/crop render)"
    if "file" in (info.get("damage") or {}):
        return "  (impossible for this file: see DAMAGED)"
    return "  (reaches outside the frame: overscan)"


def format_info(info: dict) -> list:
    """Human-readable lines."""
    if info["format"] == "DEPTH_IMAGE":
        return depth_images.format_image_info(info)
    if info["format"] == "PLY":
        lines = [info["path"], f"  PLY {info['encoding']}, {info['file_size']:,} bytes"]
        for el in info["elements"]:
            props = ", ".join(" ".join(p[::-1]) if p[0] != "list" else "list " + " ".join(p[1:])
                              for p in el["properties"])
            lines.append(f"  element {el['name']}: {el['count']:,} ({props})")
        lines += [f"  comment: {c}" for c in info["comments"]]
        return lines
    parts = info["parts"]
    lines = [info["path"],
             f"  OpenEXR {'multi-part' if info['multipart'] else 'single-part'}, {len(parts)} part(s), "
             f"{info['file_size']:,} bytes",
             f"  display window {_win_text(info['display_window'])}",
             f"  data window    {_win_text(info['data_window'])}" + _window_note(info)]
    if info.get("views"):
        lines.append(f"  views: {', '.join(info['views'])} (default {info['views'][0]}); a build reads view "
                     f"{info['view']!r} (choose with --view)")
    for where, problem in (info.get("damage") or {}).items():
        lines.append(f"  DAMAGED {where}: {problem}")
    for p in parts:
        name = f" {p['name']!r}" if p["name"] else ""
        extra = f", pixel aspect {p['pixel_aspect']:g}" if p["pixel_aspect"] not in (1, 1.0) else ""
        dw = "" if p["data_window"] == info["data_window"] else f", data window {_win_text(p['data_window'])}"
        lines.append(f"  part {p['index']}{name}: {p['storage']}, {p['compression']}, "
                     f"{len(p['channels'])} channel(s){dw}{extra}")
    named = [lay for lay in info["layers"] if lay["name"]]
    lines.append("  view layers: " + (", ".join(lay["name"] for lay in named) if named
                                       else "none (single-layer file)"))
    for lay in info["layers"]:
        lines.append(f"    {lay['name'] or '(no layer)'}")
        for p in lay["passes"]:
            if len(set(p["types"])) == 1:
                chans, types = " ".join(p["channels"]), p["types"][0]
            else:  # mixed pixel types: name each channel's type
                chans, types = " ".join(f"{c}:{t}" for c, t in zip(p["channels"], p["types"])), ""
            lines.append(f"      {p['name'] or '(no pass)':<16} {chans:<12} {types}".rstrip())
    cam = info["camera"]
    lines.append(f"  camera (Blender 'Camera' header): {cam['blender_camera'] or 'none'}")
    hc = cam.get("header_camera")
    if hc:
        optics = (f"ortho scale {hc['ortho_scale']:g}" if hc["projection"] == "ORTHO"
                  else f"lens {hc['lens']:g} mm, sensor {hc['sensor'][0]:g}x{hc['sensor'][1]:g} mm")
        lines.append(f"  camera (Depth Cloud header): {hc['projection']}, {optics}, fit {hc['sensor_fit']}, "
                     f"shift {hc['shift'][0]:g},{hc['shift'][1]:g}, clip {hc['clip'][0]:g}..{hc['clip'][1]:g}, "
                     f"{hc['size'][0]}x{hc['size'][1]}, at {tuple(hc['location'])}")
    elif cam.get("header_camera_error"):
        lines.append(f"  camera (Depth Cloud header): unreadable: {cam['header_camera_error']}")
    else:
        lines.append("  camera (Depth Cloud header): none")
    for line in cam.get("descriptions", ()):
        lines.append(f"  camera description: {line}")
    for d in info.get("deep") or ():
        name = f" {d['name']!r}" if d["name"] else ""
        lines.append(f"  deep part {d['index']}{name}: {d['samples']:,} samples in {d['pixels']:,} pixels, "
                     f"{d['min']}..{d['max']} samples per pixel, {d['empty']:,} empty pixels")
    if info.get("deep"):
        lines.append("  deep: every sample with a finite depth becomes a point at its Z (assumed planar camera "
                     "depth unless --convention says otherwise)")
    lines.append(f"  pass (auto): {info['kind'] or 'none found: no depth or position channels'}")
    if info["depth_channel"]:
        lines.append(f"  depth: {info['depth_channel']}, convention {info['convention']}: {info['convention_reason']}")
    if info["position_channels"]:
        lines.append(f"  position: {', '.join(info['position_channels'])}")
    colors = ', '.join(info['color_channels']) if info['color_channels'] else 'none (points are white)'
    lines.append(f"  color: {colors}")
    for lay in info.get("cryptomatte", ()):
        if "problem" in lay:
            lines.append(f"  cryptomatte {lay['name']}: {lay['ranks']} ranks, no names ({lay['problem']})")
        else:
            shown = ", ".join(lay["names"][:40]) + (" …" if len(lay["names"]) > 40 else "")
            lines.append(f"  cryptomatte {lay['name']}: {lay['ranks']} ranks, {len(lay['names'])} names: {shown}")
    if info.get("normal_channels"):
        lines.append(f"  normals: {', '.join(info['normal_channels'])}")
    if info.get("mask_passes"):
        lines.append(f"  passes for masks/attributes: {', '.join(info['mask_passes'])}")
    for key, value in info["stamp"].items():
        lines.append(f"  {key}: {value}")
    for name, s in (info.get("stats") or {}).items():
        rng = f"{s['min']:.6g}..{s['max']:.6g}" if s["min"] is not None else "no finite value"
        extra = "".join([f", {s['nonfinite']} NaN/inf" if s["nonfinite"] else "",
                         f", {s['background']} background" if s["background"] else ""])
        lines.append(f"  stats {name}: {rng}{extra}")
    return lines
