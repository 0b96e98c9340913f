"""The CBS 2025 wijk polygons (TopoJSON, RD New) as SVG paths, decoded once per process.

The file ``kansenkluis/data/geo/wijken_2025.topojson`` holds every wijk as rings of *arcs*; a
boundary that two wijken share is one arc, used by both in opposite directions. That topology
is what this module builds on:

- **Merging** a set of wijken (a wijkgroep, a gemeente, a region pool) needs no polygon union:
  the arcs used by exactly one member are the outline of the set, and chaining them end to start
  gives its rings (``merged_rings``). Because every ring keeps its winding, the SVG ``nonzero``
  fill rule draws holes as holes.
- **Simplifying** for the screen is done per arc (points closer than a fraction of a pixel are
  dropped), so two neighbours keep exactly the same shared boundary and no slivers appear.

Coordinates are RD New (EPSG:28992) in whole metres: a plane, so the map projection is a scale
and a flip of the y axis. Only reference geography is read here, never anything from a release.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kansenkluis.config import geo_dir
from kansenkluis.errors import InternalError

TOPOJSON = "wijken_2025.topojson"
#: the one object in the file
OBJECT = "wijk_2025"

#: A ring is a tuple of arc references: i for arc i, ~i (= -i-1) for arc i reversed.
Ring = tuple[int, ...]
#: A polygon is its outer ring followed by its holes.
Polygon = tuple[Ring, ...]


@dataclass(frozen=True)
class Wijk:
    code: str
    naam: str
    gemeentecode: str
    polygons: tuple[Polygon, ...]

    @property
    def rings(self) -> Iterable[Ring]:
        for polygon in self.polygons:
            yield from polygon


class Arcs:
    """The arcs in absolute RD metres, each decoded on first use (a gemeente's map needs a
    hundred of the 10,240)."""

    def __init__(self, raw: list[list[list[int]]], scale: list[float], translate: list[float]):
        self._raw = raw
        self._factor = np.asarray(scale, dtype=np.float64)
        self._offset = np.asarray(translate, dtype=np.float64)
        self._decoded: list[np.ndarray | None] = [None] * len(raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, index: int) -> np.ndarray:
        arc = self._decoded[index]
        if arc is None:
            delta = np.asarray(self._raw[index], dtype=np.float64).reshape(-1, 2)
            arc = np.cumsum(delta, axis=0) * self._factor + self._offset
            self._decoded[index] = arc
        return arc


@dataclass(frozen=True)
class Geography:
    """Arcs (absolute RD metres) and the wijken that use them."""

    arcs: Arcs
    wijken: dict[str, Wijk]
    by_gemeente: dict[str, tuple[str, ...]]

    def wijken_of(self, gemeentecode: str) -> tuple[str, ...]:
        return self.by_gemeente.get(gemeentecode, ())

    def bbox(self, codes: Iterable[str]) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y) of the arcs of these wijken."""
        used = {_arc_index(a) for code in codes for ring in self.wijken[code].rings for a in ring}
        if not used:
            raise InternalError("GEO_EMPTY", "no geometry for the requested wijken")
        points = np.concatenate([self.arcs[i] for i in used])
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True)
class Gemeente:
    code: str
    naam: str
    corop_code: str
    corop_naam: str
    provincie_naam: str


@lru_cache(maxsize=1)
def gemeenten() -> dict[str, Gemeente]:
    """The 342 gemeenten of 2025 with their COROP region and provincie (``gemeenten.csv``)."""
    with (geo_dir() / "gemeenten.csv").open(encoding="utf-8", newline="") as f:
        return {
            row["gemeentecode"]: Gemeente(
                code=row["gemeentecode"],
                naam=row["gemeentenaam"],
                corop_code=row["corop_code"],
                corop_naam=row["corop_naam"],
                provincie_naam=row["provincie_naam"],
            )
            for row in csv.DictReader(f)
        }


def _arc_index(ref: int) -> int:
    return ref if ref >= 0 else ~ref


@lru_cache(maxsize=1)
def geography() -> Geography:
    """The shipped wijk geometry (parsed once per process; arcs decoded as they are used)."""
    path = geo_dir() / TOPOJSON
    try:
        topo = json.loads(path.read_text(encoding="utf-8"))
        scale = topo["transform"]["scale"]
        translate = topo["transform"]["translate"]
        geometries = topo["objects"][OBJECT]["geometries"]
        raw_arcs = topo["arcs"]
    except (OSError, ValueError, KeyError) as exc:
        raise InternalError(
            "GEO_UNREADABLE", f"the shipped geography {TOPOJSON} cannot be read"
        ) from exc
    arcs = Arcs(raw_arcs, scale, translate)
    wijken: dict[str, Wijk] = {}
    by_gemeente: dict[str, list[str]] = defaultdict(list)
    for geom in geometries:
        props = geom["properties"]
        if geom["type"] == "Polygon":
            polygons: list[list[list[int]]] = [geom["arcs"]]
        elif geom["type"] == "MultiPolygon":
            polygons = geom["arcs"]
        else:  # pragma: no cover - the shipped file holds polygons only (tested)
            continue
        code = props["statcode"]
        wijken[code] = Wijk(
            code=code,
            naam=props["statnaam"],
            gemeentecode=props["gmCode"],
            polygons=tuple(tuple(tuple(ring) for ring in poly) for poly in polygons),
        )
        by_gemeente[props["gmCode"]].append(code)
    return Geography(
        arcs=arcs,
        wijken=wijken,
        by_gemeente={g: tuple(sorted(c)) for g, c in by_gemeente.items()},
    )


@lru_cache(maxsize=4096)
def merged_rings(codes: frozenset[str]) -> tuple[Ring, ...]:
    """The outline of a set of wijken as rings of arc references (shared arcs dropped)."""
    geo = geography()
    refs: list[int] = []
    count: dict[int, int] = defaultdict(int)
    for code in sorted(codes):
        for ring in geo.wijken[code].rings:
            for ref in ring:
                refs.append(ref)
                count[_arc_index(ref)] += 1
    outer = [r for r in refs if count[_arc_index(r)] == 1]
    if len(codes) == 1:
        # One wijk: its own rings, in their own order (no chaining needed).
        (code,) = codes
        return tuple(geo.wijken[code].rings)

    def ends(ref: int) -> tuple[tuple[float, float], tuple[float, float]]:
        arc = geo.arcs[_arc_index(ref)]
        a, b = (arc[0], arc[-1]) if ref >= 0 else (arc[-1], arc[0])
        return (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))

    starting: dict[tuple[float, float], list[int]] = defaultdict(list)
    for ref in outer:
        starting[ends(ref)[0]].append(ref)
    used: set[int] = set()
    rings: list[Ring] = []
    for first in outer:
        if first in used:
            continue
        chain = [first]
        used.add(first)
        origin, end = ends(first)
        while end != origin:
            candidates = [r for r in starting.get(end, []) if r not in used]
            if not candidates:  # pragma: no cover - the shipped topology is closed (tested)
                break
            ref = candidates[0]
            chain.append(ref)
            used.add(ref)
            end = ends(ref)[1]
        rings.append(tuple(chain))
    return tuple(rings)


@dataclass(frozen=True)
class Projection:
    """RD metres to SVG user units: a uniform scale, a flip of y and an offset."""

    x0: float
    y1: float
    scale: float
    dx: float
    dy: float
    width: float
    height: float

    @classmethod
    def fit(
        cls,
        bbox: tuple[float, float, float, float],
        max_width: float,
        max_height: float,
        pad: float = 4.0,
    ) -> Projection:
        x0, y0, x1, y1 = bbox
        span_x, span_y = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        scale = min((max_width - 2 * pad) / span_x, (max_height - 2 * pad) / span_y)
        width = span_x * scale + 2 * pad
        height = span_y * scale + 2 * pad
        return cls(x0=x0, y1=y1, scale=scale, dx=pad, dy=pad, width=width, height=height)

    def points(self, xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        out[:, 0] = (xy[:, 0] - self.x0) * self.scale + self.dx
        out[:, 1] = (self.y1 - xy[:, 1]) * self.scale + self.dy
        return out


class PathBuilder:
    """SVG path data for rings under one projection, arcs simplified once and shared."""

    #: grid (in SVG units) to which points snap; consecutive equal points are dropped
    GRID = 0.5

    def __init__(self, projection: Projection, offset: tuple[float, float] = (0.0, 0.0)) -> None:
        self.projection = projection
        self.offset = offset
        self.geo = geography()
        self._arcs: dict[int, list[str]] = {}

    def _arc(self, index: int) -> list[str]:
        cached = self._arcs.get(index)
        if cached is None:
            xy = self.projection.points(self.geo.arcs[index])
            xy[:, 0] += self.offset[0]
            xy[:, 1] += self.offset[1]
            snapped = np.round(xy / self.GRID) * self.GRID
            keep = np.ones(len(snapped), dtype=bool)
            keep[1:] = np.any(snapped[1:] != snapped[:-1], axis=1)
            keep[-1] = True  # arcs must keep their end point: the next arc starts there
            cached = [f"{_num(x)} {_num(y)}" for x, y in snapped[keep]]
            self._arcs[index] = cached
        return cached

    def ring(self, ring: Ring) -> str:
        points: list[str] = []
        for ref in ring:
            arc = self._arc(_arc_index(ref))
            seq = arc if ref >= 0 else arc[::-1]
            # consecutive arcs share their junction point: keep it once
            points.extend(seq if not points else seq[1:])
        if len(points) < 3:
            return ""
        return "M" + "L".join(points) + "Z"

    def rings(self, rings: Sequence[Ring]) -> str:
        return "".join(self.ring(r) for r in rings)


def label_point(rings: Sequence[Ring], builder: PathBuilder) -> tuple[float, float]:
    """A point inside the largest ring, in SVG units: the middle of its widest horizontal chord
    through the ring's vertical middle (a centroid can fall outside a bent wijk)."""
    best: tuple[float, float, float] | None = None  # (area, x, y)
    for ring in rings:
        pts: list[np.ndarray] = []
        for ref in ring:
            arc = builder.projection.points(builder.geo.arcs[_arc_index(ref)])
            pts.append(arc if ref >= 0 else arc[::-1])
        xy = np.concatenate(pts)
        xy[:, 0] += builder.offset[0]
        xy[:, 1] += builder.offset[1]
        x, y = xy[:, 0], xy[:, 1]
        area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        if best is not None and abs(area) <= best[0]:
            continue
        mid_y = (float(y.min()) + float(y.max())) / 2
        xs: list[float] = []
        for i in range(len(xy) - 1):
            ya, yb = y[i], y[i + 1]
            if (ya <= mid_y < yb) or (yb <= mid_y < ya):
                t = (mid_y - ya) / (yb - ya)
                xs.append(float(x[i] + t * (x[i + 1] - x[i])))
        xs.sort()
        chords = [(xs[i + 1] - xs[i], (xs[i] + xs[i + 1]) / 2) for i in range(0, len(xs) - 1, 2)]
        if not chords:
            continue
        _, cx = max(chords)
        best = (abs(area), cx, mid_y)
    if best is None:
        return builder.projection.width / 2, builder.projection.height / 2
    return best[1], best[2]


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")
