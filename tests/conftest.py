"""Test setup: the repository is the ``depth_cloud`` package; Blender tests run on the real
``bpy`` module (the PyPI wheel) and reset to factory settings around each test."""
import hashlib
import os
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One link per checkout, so several checkouts can run tests at the same time.
_LINK_DIR = os.path.join(tempfile.gettempdir(),
                         f"depth_cloud_import_{os.getuid()}_{hashlib.sha1(REPO.encode()).hexdigest()[:10]}")
os.makedirs(_LINK_DIR, exist_ok=True)
_LINK = os.path.join(_LINK_DIR, "depth_cloud")
if os.path.realpath(_LINK) != REPO:
    tmp = _LINK + f".{os.getpid()}"
    os.symlink(REPO, tmp)
    os.replace(tmp, _LINK)
if _LINK_DIR not in sys.path:
    sys.path.insert(0, _LINK_DIR)
# The tests' helper modules (scenes, paths, …) and, for the few helpers one test file shares
# with another, every folder of tests (the folders mirror core/ and glue/'s wings).
_TESTS = os.path.dirname(os.path.abspath(__file__))
for _root, _dirs, _files in os.walk(_TESTS):
    _dirs[:] = sorted(d for d in _dirs if d not in ("__pycache__", "data"))
    if any(f.startswith("test_") and f.endswith(".py") for f in _files) and _root not in sys.path:
        sys.path.insert(0, _root)
sys.path.insert(0, _TESTS)

#: tests/app holds the real-application lane (scripts run inside a real Blender by
#: tools/app_lane.sh), not pytest tests: never collected by the bpy-wheel suites.
collect_ignore = ["app"]

try:
    import bpy  # noqa: F401
    HAVE_BPY = True
except ImportError:
    HAVE_BPY = False


#: EEVEE renders take 25-45 s each on a 2-core machine without a GPU: tools/run_tests.sh runs
#: them on the oldest and the newest supported Blender (DEPTH_CLOUD_EEVEE=1), not on every one.
#: The ``eevee`` marker is registered in pyproject.toml.
RUN_EEVEE = os.environ.get("DEPTH_CLOUD_EEVEE") == "1"


def pytest_collection_modifyitems(config, items):
    if HAVE_BPY:
        if not RUN_EEVEE:
            skip_eevee = pytest.mark.skip(reason="EEVEE test: runs on the oldest and newest Blender only "
                                                 "(tools/run_tests.sh sets DEPTH_CLOUD_EEVEE=1 there)")
            for item in items:
                if "eevee" in item.keywords:
                    item.add_marker(skip_eevee)
        return
    skip = pytest.mark.skip(reason="needs the bpy module (Blender tests)")
    for item in items:
        if "tests/blender" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def dc():
    """The registered extension package (registered once per test session)."""
    import depth_cloud
    from scenes import add_bundled_modules
    add_bundled_modules()
    depth_cloud.register()
    yield depth_cloud
    depth_cloud.unregister()


@pytest.fixture
def scene(dc):
    """A factory-fresh empty scene around each test."""
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)
