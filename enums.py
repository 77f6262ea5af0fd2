"""Enum items and defaults shared by the settings, the UI, the glue and the CLI (plain data; no
registration)."""

#: Where Render Passes writes its EXRs unless told otherwise (relative to the .blend).
DEFAULT_CACHE_DIR = "//depth_cloud_cache/"

SOURCE_MODES = [
    ('MULTILAYER', "Multilayer EXR", "One EXR per frame holding depth (or position) and color"),
    ('SEPARATE', "Separate Files", "Depth (or position) EXR and a color file (EXR, PNG or JPG)"),
]
KINDS = [
    ('AUTO', "Auto", "Depth if the file has a depth channel, else a world position pass"),
    ('DEPTH', "Depth", "A depth pass unprojected through the camera"),
    ('POSITION', "World Position", "A world position pass (needs no camera)"),
]
DEEP_SAMPLES = [
    ('ALL', "All Samples", "Deep files: every sample of every pixel becomes a point"),
    ('FRONT', "Front Sample", "Deep files: only the nearest sample of each pixel (the surface a flat render shows)"),
]
CONVENTIONS = [
    ('AUTO', "Auto", "From the file (self-describing renders), else planar Z"),
    ('PLANAR', "Planar Z", "Distance from the camera plane: Blender's Z pass"),
    ('RAY_DISTANCE', "Ray Distance", "Distance from the camera centre along the pixel's ray"),
    ('NORMALIZED', "Normalized", "0..1 mapped linearly to Near..Far (a Map Range'd Z)"),
    ('ZBUFFER', "Z-Buffer", "OpenGL non-linear window depth 0..1 with Near/Far"),
    ('INVERSE', "Inverse Depth", "1 / Z"),
]

DISPLAY_MODES = [
    ('POINTS', "Points", "Spheres sized by each pixel's footprint", 'POINTCLOUD_DATA', 0),
    ('SQUARES', "Pixel Squares", "One square per pixel facing the source camera; they tile its frame exactly",
     'MESH_PLANE', 1),
    ('SURFACE', "Surface", "The pixel grid as a mesh, open at depth jumps", 'MESH_GRID', 2),
]
SHADINGS = [
    ('UNLIT', "Unlit", "Emission of the source colors: renders reproduce the source image"),
    ('LIT', "Lit", "Diffuse shading of the source colors, lit by the scene"),
]
CLEANUP_MODES = [
    ('FLYING', "Flying Pixels",
     "Drop pixels whose depth jumps against both opposite neighbours (between two surfaces)"),
    ('EDGES', "All Edge Pixels", "Drop every pixel that touches a depth jump, on both sides"),
]
