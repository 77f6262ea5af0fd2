"""Where things are, for every test wherever its folder: the repository, the tests' own data,
and the real files in ``../shared/data`` beside the repository (absent on some machines: tests
that use them skip with a reason)."""
import os

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
DATA = os.path.join(TESTS, "data")
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
OPENEXR_IMAGES = os.path.join(SHARED_DATA, "openexr-images")
