"""Damaged copies of an EXR for the readers' tests: cut short, and bytes flipped past the headers
(chunk tables and pixel data), seeded."""
import numpy as np


def damaged_copies(tmp_path, path, flips: int = 12) -> list:
    """Paths of 4 truncated copies of ``path`` and ``flips`` copies with 6 bytes flipped."""
    data = open(path, "rb").read()
    out = []
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7, 400):
        p = tmp_path / f"cut_{cut}.exr"
        p.write_bytes(data[:cut])
        out.append(str(p))
    rng = np.random.default_rng(4)
    for k in range(flips):
        b = bytearray(data)
        for i in rng.integers(len(data) // 8, len(data), 6):
            b[i] ^= 0x5A
        p = tmp_path / f"flip_{k}.exr"
        p.write_bytes(bytes(b))
        out.append(str(p))
    return out
