"""Half floats to float32 through the table (core/exr/half.py): bit-exact with numpy's own
conversion for every one of the 65,536 values, in any layout a reader hands over."""
import numpy as np
import pytest

from depth_cloud.core.exr.half import BLOCK, to_float32


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def test_every_half_value_converts_as_numpy_does():
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)  # NaNs, infinities, subnormals, -0
    assert np.array_equal(_bits(to_float32(every)), _bits(every.astype(np.float32)))


@pytest.mark.parametrize("layout", ["plane", "rgba", "strided rows", "column view", "small", "big endian"])
def test_layouts(layout):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 1 << 16, size=(301, 517, 4), dtype=np.uint16).view(np.float16)
    values = {"plane": base[..., 0].copy(), "rgba": base, "strided rows": base[::2, 3:500, 1],
              "column view": base[:, :, 2], "small": base[:3, :5, 0],
              "big endian": base[..., 0].astype(">f2")}[layout]
    got = to_float32(values)
    assert got.dtype == np.float32 and got.shape == values.shape
    assert np.array_equal(_bits(got), _bits(values.astype(np.float32)))
    if layout != "small":
        assert values.size >= BLOCK  # the table path, not the fallback


def test_into_a_view_and_other_types():
    rng = np.random.default_rng(4)
    src = rng.random((400, 300), dtype=np.float32).astype(np.float16)
    out = np.full((400, 600), -1.0, np.float32)
    to_float32(src, out=out[:, ::2])
    assert np.array_equal(out[:, ::2], src.astype(np.float32)) and np.all(out[:, 1::2] == -1.0)
    ints = np.arange(70000, dtype=np.uint32).reshape(700, 100)
    assert np.array_equal(to_float32(ints), ints.astype(np.float32))
