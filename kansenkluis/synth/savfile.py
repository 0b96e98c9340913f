"""A fast writer of plain SPSS ``.sav`` files from numpy arrays (synthetic data only).

pyreadstat writes a national CBS-style world (some 200 million text cells) at about half a
microsecond per cell, through Python objects: minutes. This writer lays the cases out with numpy
and writes them in one go: an uncompressed system file with strings up to 255 bytes, numbers as
doubles (NaN is system-missing), long variable names and value labels of short strings. That is
all the synthetic CBS files need; the files are read back with pyreadstat (readstat), which is
what checks them (``tests/unit/test_savfile.py``). Ingest never uses this module.

Layout (the SPSS system-file format): a 176-byte header, one variable record per 8-byte segment,
value-label records, the machine-integer, long-name and encoding records, the dictionary
terminator, then the cases, each ``segments * 8`` bytes, strings padded with spaces.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SYSMIS = -np.finfo(np.float64).max
CHUNK = 1 << 20


def _text(values: np.ndarray) -> np.ndarray:
    """Any column of text as fixed-width ASCII bytes (None is empty)."""
    if values.dtype.kind == "S":
        return values
    if values.dtype.kind == "U":
        return np.char.encode(values, "ascii")
    # through Arrow: padded to one width, the string data is the fixed-width array (no copy per
    # value, unlike numpy's object -> str -> bytes casts)
    arr = pc.fill_null(pa.array(values, type=pa.string(), from_pandas=True), "")
    if len(arr) == 0:
        return np.zeros(0, "S1")
    if not pc.all(pc.string_is_ascii(arr)).as_py():
        raise ValueError("text columns must be ASCII")
    width = max(1, pc.max(pc.binary_length(arr)).as_py() or 0)
    padded = pc.utf8_rpad(arr, width=width, padding=" ")
    start = int(np.frombuffer(padded.buffers()[1], np.int32)[padded.offset])
    return np.frombuffer(padded.buffers()[2], f"S{width}", count=len(padded), offset=start)


def write_sav(
    path: Path,
    columns: Mapping[str, np.ndarray],
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Write ``columns`` (float arrays are numeric, anything else text) to ``path``."""
    labels = labels or {}
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    data: list[np.ndarray] = []
    widths: list[int] = []  # 0 = numeric, else the string width
    for name in names:
        col = np.asarray(columns[name])
        if len(col) != n:
            raise ValueError(f"column {name} has {len(col)} rows, not {n}")
        if col.dtype.kind == "f":
            data.append(np.where(np.isnan(col), SYSMIS, col).astype("<f8"))
            widths.append(0)
        else:
            text = _text(col)
            width = max(1, text.dtype.itemsize)
            if width > 255:
                raise ValueError(f"column {name} holds text longer than 255 bytes")
            data.append(text)
            widths.append(width)
    segments = [1 if w == 0 else (w + 7) // 8 for w in widths]
    case_size = sum(segments)
    short = [f"V{i:07d}" for i in range(len(names))]

    out = bytearray()
    out += b"$FL2"
    out += b"@(#) SPSS DATA FILE kansenkluis synthetic".ljust(60)
    out += struct.pack("<iiiii", 2, case_size, 0, 0, n)
    out += struct.pack("<d", 100.0)
    out += b"01 Jan 25" + b"00:00:00" + b" " * 64 + b"\0" * 3
    index: dict[str, int] = {}  # 1-based dictionary index of each variable
    position = 1
    for name, s_name, width, seg in zip(names, short, widths, segments, strict=True):
        index[name] = position
        fmt = (5 << 16) | (8 << 8) | 2 if width == 0 else (1 << 16) | (width << 8)
        out += struct.pack("<iiiiii", 2, width, 0, 0, fmt, fmt) + s_name.encode().ljust(8)
        for _ in range(seg - 1):
            out += struct.pack("<iiiiii", 2, -1, 0, 0, 0, 0) + b" " * 8
        position += seg
    for name, value_labels in labels.items():
        if name not in index:
            continue
        width = widths[names.index(name)]
        if width > 8:
            raise ValueError(f"value labels need a numeric or short text column ({name})")
        out += struct.pack("<ii", 3, len(value_labels))
        for value, label in value_labels.items():
            key = struct.pack("<d", float(value)) if width == 0 else value.encode().ljust(8)[:8]
            shown = label.encode()[:255]
            size = (1 + len(shown) + 7) // 8 * 8
            out += key + bytes([len(shown)]) + shown.ljust(size - 1)
        out += struct.pack("<iii", 4, 1, index[name])
    out += struct.pack("<iiii", 7, 3, 4, 8) + struct.pack("<8i", 1, 0, 0, -1, 1, 1, 2, 65001)
    long_names = "\t".join(f"{s}={name}" for s, name in zip(short, names, strict=True)).encode()
    out += struct.pack("<iiii", 7, 13, 1, len(long_names)) + long_names
    out += struct.pack("<iiii", 7, 20, 1, 5) + b"UTF-8"
    out += struct.pack("<ii", 999, 0)

    with path.open("wb") as f:
        f.write(out)
        row_bytes = case_size * 8
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            block = np.full((stop - start, row_bytes), 32, np.uint8)
            offset = 0
            for col, width, seg in zip(data, widths, segments, strict=True):
                part = col[start:stop]
                if width == 0:
                    block[:, offset : offset + 8] = part.view(np.uint8).reshape(-1, 8)
                else:
                    cells = np.frombuffer(part.tobytes(), np.uint8).reshape(-1, part.dtype.itemsize)
                    cells = np.where(cells == 0, 32, cells).astype(np.uint8)
                    block[:, offset : offset + cells.shape[1]] = cells
                offset += seg * 8
            f.write(block.tobytes())
