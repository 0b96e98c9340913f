"""Arrow columns straight from fixed-width bytes: rins, codes and strings without Python loops.

Used by the tables stage and by the CBS layout writer (``cbs.py``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from kansenkluis.errors import InternalError

#: "000" ... "999" as bytes: a rin is three lookups instead of nine divisions
_TRIPLETS = np.frombuffer("".join(f"{i:03d}" for i in range(1000)).encode(), np.uint8).reshape(
    1000, 3
)


def rin_digits(values: np.ndarray) -> np.ndarray:
    """The 9-digit zero-padded decimal ASCII of each rin number, one row of 9 bytes each."""
    v = values.astype(np.int32)  # rin numbers are below 10**9 < 2**31
    hi, rest = np.divmod(v, 1_000_000)
    mid, lo = np.divmod(rest, 1000)
    out = np.empty((len(v), 9), np.uint8)
    out[:, 0:3] = _TRIPLETS[hi]
    out[:, 3:6] = _TRIPLETS[mid]
    out[:, 6:9] = _TRIPLETS[lo]
    return out


def ascii_rows(codes: list[str]) -> np.ndarray:
    """Fixed-width ASCII codes (wijkcode, BRIN) as one row of bytes each."""
    width = len(codes[0])
    if any(len(code) != width or not code.isascii() for code in codes):
        raise InternalError("SYNTH_CODE_WIDTH", "codes of one kind must be ASCII of one width")
    return np.frombuffer("".join(codes).encode("ascii"), np.uint8).reshape(len(codes), width)


def string_column(rows: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array straight from fixed-width byte rows (much faster than a string take).

    Rows where ``valid`` is False become null.
    """
    n, width = rows.shape
    if n * width >= 2**31:  # pragma: no cover - 200 million rows, far beyond national scale
        raise InternalError("SYNTH_TOO_LARGE", "a string column exceeds 2 GB")
    if valid is None:
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows))
        )
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    return pa.StringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        pa.py_buffer(np.ascontiguousarray(rows[valid])),
        pa.py_buffer(np.packbits(valid, bitorder="little")),
        null_count=int(n - valid.sum()),
    )


def code_column(names: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """String codes by index; a negative index becomes null."""
    return pa.array(list(names), pa.string()).take(pa.array(idx, pa.int64(), mask=idx < 0))
