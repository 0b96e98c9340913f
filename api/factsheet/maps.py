"""Server-side SVG maps: the wijken of a gemeente, or the gemeenten of the country, in classes.

Like the charts (``charts.py``) a map is inline SVG with presentation attributes only: no
script, no tiles, no external file, the same markup in HTML and PDF. A map shows:

- every area in the colour of its **class** (``Klassen``): at most five classes with round
  bounds, from a sequential ColorBrewer scheme (YlGnBu) that stays ordered in lightness, so
  that it reads for colour-blind readers and in grey print;
- a **wijkgroep** (or a region pool on the national map) as one merged area with one figure,
  a dashed outline and its figure written on it;
- a **withheld** area hatched: diagonal lines for "te weinig leerlingen", cross-hatching for a
  secondary suppression, light grey without hatching where the release has no cell at all;
- a legend with the classes in percentages, the reference figures (gemeente and nation) and
  every status that occurs, with its reason in words.

Areas carry ``data-wijken`` (the CBS codes drawn in that area), ``data-waarde``,
``data-klasse`` and ``data-status``, which the comparison page's script and the browser tests
read. An interactive map (the comparison page) makes every area focusable with a label of its
own; the factsheet's map is one image with a ``<title>`` and a ``<desc>``, next to the table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from markupsafe import Markup, escape

from kansenkluis.domain import CellStatus

from . import geo
from .charts import BACKGROUND, FONT, GEMEENTE, LAND, MUTED, TEXT, Reference, _fmt, _haloed, _text
from .sentences import format_percentage, pct

#: ColorBrewer YlGnBu (colour-blind safe, print friendly), light to dark, per number of classes.
SCHEMES: dict[int, tuple[str, ...]] = {
    1: ("#41b6c4",),
    2: ("#a1dab4", "#225ea8"),
    3: ("#edf8b1", "#7fcdbb", "#2c7fb8"),
    4: ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"),
    5: ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
}
#: every fill a map may use for a class
CLASS_COLOURS: frozenset[str] = frozenset(c for s in SCHEMES.values() for c in s)
MAX_CLASSES = 5
#: candidate class widths in percentage points, smallest first
STEPS = (0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0, 20.0, 25.0)

HATCH = "#575757"  # lines of the withheld patterns (>= 4.5:1 on white)
MISSING = "#e3e3e3"  # no cell at all: light grey, no hatching
BORDER = "#ffffff"  # between areas
OUTLINE = "#1a1a1a"  # the gemeente (or country) outline and wijkgroep outlines

#: an area the caller may not see (a regiocoordinator's token covers other gemeenten)
BUITEN = "buiten_toegang"
WITHHELD_TEXT: dict[str, str] = {
    CellStatus.SUPPRESSED_PRIMARY.value: "te weinig leerlingen om te publiceren",
    CellStatus.SUPPRESSED_SECONDARY.value: "niet gepubliceerd (bescherming kleine aantallen)",
    "missing": "geen cijfer in deze release",
    BUITEN: "niet in uw toegang",
}
PUBLISHED = CellStatus.PUBLISHED.value

LEGEND_FONT = 11.0
CHAR_W = 5.9  # average width of an 11 px Liberation Sans character


@dataclass(frozen=True)
class Klassen:
    """Class bounds ``breaks[i] <= v < breaks[i+1]``; the last class includes its top."""

    breaks: tuple[float, ...]

    @property
    def colours(self) -> tuple[str, ...]:
        return SCHEMES[len(self.breaks) - 1]

    def index(self, value: float) -> int:
        for i in range(len(self.breaks) - 2, -1, -1):
            if value >= self.breaks[i] - 1e-9:
                return i
        return 0

    def colour(self, value: float) -> str:
        return self.colours[self.index(value)]

    def label(self, i: int) -> str:
        low, high = _bound(self.breaks[i]), _bound(self.breaks[i + 1])
        if i == len(self.breaks) - 2:
            return f"{low} tot en met {high}%"
        return f"{low} tot {high}%"

    def contains(self, value: float) -> bool:
        return self.breaks[0] - 1e-9 <= value <= self.breaks[-1] + 1e-9


def _bound(v: float) -> str:
    return format_percentage(v).removesuffix(",0")


def klassen(values: Sequence[float | None]) -> Klassen | None:
    """Round, equal-width classes over the published values (None when there are none)."""
    vs = [v for v in values if v is not None]
    if not vs:
        return None
    low, high = min(vs), max(vs)
    for step in STEPS:
        start = math.floor(low / step + 1e-9) * step
        n = int((high - start) // step + 1e-9) + 1
        # a maximum on a bound closes the last class instead of opening a new one
        if n > 1 and abs(start + (n - 1) * step - high) < 1e-9:
            n -= 1
        if n <= MAX_CLASSES:
            top = min(start + n * step, 100.0)
            breaks = [start + i * step for i in range(n)] + [top]
            return Klassen(tuple(round(b, 4) for b in breaks))
    return Klassen((0.0, 20.0, 40.0, 60.0, 80.0, 100.0))


class RowLike(Protocol):
    """What a map reads of a wijk row (``render.WijkRij``)."""

    @property
    def code(self) -> str: ...
    @property
    def naam(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def percentage(self) -> float | None: ...
    @property
    def groep_code(self) -> str | None: ...
    @property
    def groep_naam(self) -> str | None: ...
    @property
    def groep_status(self) -> str | None: ...


@dataclass(frozen=True)
class Gebied:
    """One area on a map: a wijk, a wijkgroep (merged wijken) or a gemeente."""

    key: str
    codes: frozenset[str]
    naam: str
    percentage: float | None
    #: published, suppressed_primary, suppressed_secondary or missing
    status: str
    groep: bool = False

    @property
    def tekst(self) -> str:
        value = pct(self.percentage) if self.percentage is not None else None
        reason = value or WITHHELD_TEXT.get(self.status, WITHHELD_TEXT["missing"])
        prefix = "wijkgroep " if self.groep else ""
        return f"{prefix}{self.naam}: {reason}"


def wijk_gebieden(gemeentecode: str, rows: Sequence[RowLike]) -> tuple[list[Gebied], int]:
    """The areas of a gemeente's wijk map, and how many release wijken are not on the map.

    Every wijk of the gemeente in the 2025 geography is in exactly one area: its own, its
    wijkgroep's, or a grey one when the release has no cell for it.
    """
    geography = geo.geography()
    on_map = set(geography.wijken_of(gemeentecode))
    by_code = {r.code: r for r in rows}
    areas: list[Gebied] = []
    groups: dict[str, list[RowLike]] = {}
    for code in sorted(on_map):
        row = by_code.get(code)
        if row is None:
            naam = geography.wijken[code].naam
            areas.append(Gebied(code, frozenset({code}), naam, None, "missing"))
        elif row.status == CellStatus.POOLED.value and row.groep_code:
            groups.setdefault(row.groep_code, []).append(row)
        else:
            status = row.status if row.percentage is None else PUBLISHED
            areas.append(Gebied(code, frozenset({code}), row.naam, row.percentage, status))
    for key, members in sorted(groups.items()):
        first = members[0]
        status = PUBLISHED if first.percentage is not None else (first.groep_status or "missing")
        areas.append(
            Gebied(
                key,
                frozenset(m.code for m in members),
                first.groep_naam or key,
                first.percentage,
                status,
                groep=True,
            )
        )
    off_map = sum(1 for r in rows if r.code not in on_map)
    return areas, off_map


@dataclass(frozen=True)
class Paneel:
    """One map of a figure: its areas and the reference figures written under it."""

    titel: str
    gebieden: tuple[Gebied, ...]
    referenties: tuple[Reference, ...]


def _patterns(map_id: str) -> str:
    return (
        f'<pattern id="{map_id}-p1" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{BACKGROUND}"/>'
        f'<rect width="1.6" height="6" fill="{HATCH}"/></pattern>'
        f'<pattern id="{map_id}-p2" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{BACKGROUND}"/>'
        f'<rect width="1.4" height="6" fill="{HATCH}"/><rect width="6" height="1.4" '
        f'fill="{HATCH}"/></pattern>'
    )


def _fill(map_id: str, area: Gebied, classes: Klassen | None) -> str:
    if area.percentage is not None and classes is not None:
        return classes.colour(area.percentage)
    if area.status == CellStatus.SUPPRESSED_PRIMARY.value:
        return f"url(#{map_id}-p1)"
    if area.status == CellStatus.SUPPRESSED_SECONDARY.value:
        return f"url(#{map_id}-p2)"
    if area.status == BUITEN:
        return BACKGROUND
    return MISSING


@dataclass
class _Flow:
    """Legend items laid out left to right, wrapping at ``width``."""

    x0: float
    y: float
    width: float
    parts: list[str]
    x: float = 0.0
    line_h: float = 17.0
    #: one item per line (a legend beside the map)
    column: bool = False

    def __post_init__(self) -> None:
        self.x = self.x0

    def item(self, symbol: str, label: str, **attrs: str | float) -> None:
        w = 24 + len(label) * CHAR_W + 14
        if self.x > self.x0 and self.x + w > self.x0 + self.width:
            self.newline()
        self.parts.append(symbol.format(x=_fmt(self.x), y=_fmt(self.y - 10)))
        self.parts.append(_text(self.x + 24, self.y, label, font_size=LEGEND_FONT, **attrs))
        self.x += w
        if self.column:
            self.newline()

    def heading(self, label: str) -> None:
        if self.x > self.x0:
            self.newline()
        self.parts.append(
            _text(self.x0, self.y, label, font_size=LEGEND_FONT, font_weight="bold", fill=TEXT)
        )
        self.newline()

    def newline(self) -> None:
        self.x = self.x0
        self.y += self.line_h


def _swatch(fill: str, stroke: str = MUTED, dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<rect x="{{x}}" y="{{y}}" width="18" height="12" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="0.8"{extra}/>'
    )


def _legend(
    map_id: str,
    classes: Klassen | None,
    areas: Sequence[Gebied],
    references: Sequence[Reference],
    flow: _Flow,
    what: str,
) -> None:
    parts = flow.parts
    parts.append('<g class="legenda">')
    if classes is not None:
        flow.heading(f"Percentage per {what}")
        for i, colour in enumerate(classes.colours):
            symbol = _swatch(colour).replace(
                "<rect ",
                f'<rect class="klasse" data-klasse="{i}" data-van="{classes.breaks[i]:g}" '
                f'data-tot="{classes.breaks[i + 1]:g}" ',
                1,
            )
            flow.item(symbol, classes.label(i))
        flow.newline()
    for ref in references:
        if ref.percentage is None:
            flow.item(_swatch(BACKGROUND), f"{ref.label}: niet gepubliceerd")
            continue
        colour = (
            classes.colour(ref.percentage)
            if classes is not None and classes.contains(ref.percentage)
            else BACKGROUND
        )
        stroke = GEMEENTE if ref.label.startswith("Gemeente") else LAND
        flow.item(_swatch(colour, stroke=stroke), f"{ref.label}: {pct(ref.percentage)}")
    if references:
        flow.newline()
    if any(a.groep for a in areas):
        flow.item(
            _swatch(BACKGROUND, stroke=OUTLINE, dash="3 2"),
            "wijkgroep: samengevoegde wijken met één cijfer"
            if what == "wijk"
            else "regio: samengevoegde gemeenten met één cijfer",
        )
    statuses = {a.status for a in areas if a.percentage is None}
    for status, fill in (
        (CellStatus.SUPPRESSED_PRIMARY.value, f"url(#{map_id}-p1)"),
        (CellStatus.SUPPRESSED_SECONDARY.value, f"url(#{map_id}-p2)"),
        ("missing", MISSING),
        (BUITEN, BACKGROUND),
    ):
        if status in statuses:
            symbol = _swatch(fill).replace(
                "<rect ", f'<rect class="status" data-status="{status}" ', 1
            )
            flow.item(symbol, WITHHELD_TEXT[status])
    if flow.x > flow.x0:
        flow.newline()
    parts.append("</g>")


def _areas_svg(
    map_id: str,
    builder: geo.PathBuilder,
    areas: Sequence[Gebied],
    classes: Klassen | None,
    interactive: bool,
    outline_codes: frozenset[str],
    label_groups: bool = True,
    border: float = 0.7,
) -> str:
    fills: list[str] = []
    outlines: list[str] = []
    labels: list[str] = []
    for area in areas:
        rings = geo.merged_rings(area.codes)
        d = builder.rings(rings)
        if not d:
            continue
        klasse = (
            str(classes.index(area.percentage))
            if classes is not None and area.percentage is not None
            else ""
        )
        value = "" if area.percentage is None else f"{area.percentage:g}"
        attrs = (
            f'class="gebied" data-code="{escape(area.key)}" '
            f'data-wijken="{escape(";".join(sorted(area.codes)))}" data-waarde="{value}" '
            f'data-klasse="{klasse}" data-status="{area.status}"'
        )
        if interactive:
            attrs += f' tabindex="0" role="img" aria-label="{escape(area.tekst)}"'
        fills.append(
            f'<path {attrs} d="{d}" fill="{_fill(map_id, area, classes)}" stroke="{BORDER}" '
            f'stroke-width="{border:g}" stroke-linejoin="round">'
            # a tooltip where a pointer can reach it; a printed map does without
            + (f"<title>{escape(area.tekst)}</title>" if interactive else "")
            + "</path>"
        )
        if area.groep:
            outlines.append(
                f'<path d="{d}" fill="none" stroke="{OUTLINE}" stroke-width="1.1" '
                f'stroke-dasharray="4 2" pointer-events="none"/>'
            )
            if label_groups and area.percentage is not None:
                x, y = geo.label_point(rings, builder)
                text = pct(area.percentage)
                labels.append(
                    _haloed(
                        x - len(text) * 3.2,
                        y + 4,
                        text,
                        font_size=11,
                        font_weight="bold",
                        pointer_events="none",  # the area under the label stays pointable
                    ).replace("<rect ", '<rect pointer-events="none" ', 1)
                )
    outline = builder.rings(geo.merged_rings(outline_codes))
    outer = (
        f'<path class="omtrek" d="{outline}" fill="none" stroke="{OUTLINE}" stroke-width="1.4" '
        f'stroke-linejoin="round" pointer-events="none"/>'
    )
    marker = (
        f'<path class="markering" fill="none" stroke="{GEMEENTE}" stroke-width="3" '
        f'stroke-linejoin="round" pointer-events="none"/>'
        if interactive
        else ""
    )
    return "".join([*fills, *outlines, outer, marker, *labels])


def _open(
    map_id: str, width: float, height: float, title: str, desc: str, interactive: bool
) -> str:
    role = "group" if interactive else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kaart" role="{role}" '
        f'width="{_fmt(width)}" height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        f'aria-labelledby="{map_id}-titel {map_id}-uitleg" font-family="{FONT}" font-size="12" '
        f'fill="{TEXT}"><title id="{map_id}-titel">{escape(title)}</title>'
        f'<desc id="{map_id}-uitleg">{escape(desc)}</desc>'
        f"<defs>{_patterns(map_id)}</defs>"
    )


def wijk_map(
    map_id: str,
    title: str,
    desc: str,
    gemeentecode: str,
    panels: Sequence[Paneel],
    classes: Klassen | None,
    *,
    interactive: bool = False,
    width: float = 720.0,
    legend_below: bool = False,
) -> Markup:
    """One figure: one map per panel (side by side), one shared legend.

    One panel: the map on the left, the legend on the right. Several panels (the breakdowns of
    one indicator): small maps in a row with their reference figures under them, and the
    classes and statuses below all of them.
    """
    geography = geo.geography()
    codes = frozenset(geography.wijken_of(gemeentecode))
    if not codes:
        return Markup("")
    bbox = geography.bbox(codes)
    parts: list[str] = []
    all_areas = [a for p in panels for a in p.gebieden]
    if len(panels) == 1 and legend_below:
        projection = geo.Projection.fit(bbox, width, 460.0)
        builder = geo.PathBuilder(projection)
        parts.append(_areas_svg(map_id, builder, panels[0].gebieden, classes, interactive, codes))
        flow = _Flow(x0=0, y=projection.height + 16, width=width, parts=parts)
        _legend(map_id, classes, all_areas, panels[0].referenties, flow, "wijk")
        height = flow.y
    elif len(panels) == 1:
        map_w = min(400.0, width * 0.56)
        projection = geo.Projection.fit(bbox, map_w, 270.0)
        builder = geo.PathBuilder(projection)
        parts.append(_areas_svg(map_id, builder, panels[0].gebieden, classes, interactive, codes))
        flow = _Flow(x0=map_w + 16, y=16, width=width - map_w - 16, parts=parts, column=True)
        _legend(map_id, classes, all_areas, panels[0].referenties, flow, "wijk")
        height = max(projection.height, flow.y) + 4
    else:
        gap = 12.0
        panel_w = (width - gap * (len(panels) - 1)) / len(panels)
        projection = geo.Projection.fit(bbox, panel_w, 210.0)
        y_map = 20.0
        panel_bottom = 0.0
        for i, panel in enumerate(panels):
            x = i * (panel_w + gap)
            builder = geo.PathBuilder(projection, offset=(x, y_map))
            parts.append(_text(x, 13, panel.titel, font_size=12, font_weight="bold", fill=TEXT))
            parts.append(
                _areas_svg(f"{map_id}", builder, panel.gebieden, classes, interactive, codes)
            )
            ref_flow = _Flow(x0=x, y=y_map + projection.height + 14, width=panel_w, parts=parts)
            parts.append('<g class="legenda">')
            for ref in panel.referenties:
                text = (
                    f"{ref.label}: {pct(ref.percentage)}"
                    if ref.percentage is not None
                    else f"{ref.label}: niet gepubliceerd"
                )
                ref_flow.parts.append(_text(x, ref_flow.y, text, font_size=LEGEND_FONT))
                ref_flow.newline()
            parts.append("</g>")
            panel_bottom = max(panel_bottom, ref_flow.y)
        flow = _Flow(x0=0, y=panel_bottom + 8, width=width, parts=parts)
        _legend(map_id, classes, all_areas, (), flow, "wijk")
        height = flow.y
    svg = _open(map_id, width, height, title, desc, interactive) + "".join(parts) + "</svg>"
    return Markup(svg)  # noqa: S704 - every text goes through escape() or _text


def map_desc(naam: str, gebied: str, panels: Sequence[Paneel], classes: Klassen | None) -> str:
    """The text alternative of a map: what it shows, per class how many areas, what is withheld."""
    parts = [f"Kaart van {naam} per wijk in {gebied}."]
    if classes is not None:
        parts.append(
            "Klassen: " + "; ".join(classes.label(i) for i in range(len(classes.colours))) + "."
        )
    for panel in panels:
        head = f"{panel.titel}: " if panel.titel else ""
        counts = [0] * (len(classes.colours) if classes else 0)
        withheld = 0
        for area in panel.gebieden:
            if area.percentage is not None and classes is not None:
                counts[classes.index(area.percentage)] += len(area.codes)
            else:
                withheld += len(area.codes)
        per_class = ", ".join(
            f"{n} in {classes.label(i)}" for i, n in enumerate(counts) if n and classes
        )
        line = f"{head}wijken {per_class}" if per_class else f"{head}geen wijk met een cijfer"
        if withheld:
            line += f"; {withheld} zonder gepubliceerd cijfer"
        parts.append(line + ".")
    parts.append("De tabel geeft alle cijfers per wijk.")
    return " ".join(parts)


def country_map(
    map_id: str,
    title: str,
    desc: str,
    areas: Sequence[Gebied],
    classes: Klassen | None,
    references: Sequence[Reference],
    *,
    width: float = 720.0,
) -> Markup:
    """The gemeenten (or region pools) of the whole country, with the legend on the right."""
    geography = geo.geography()
    everything = frozenset(geography.wijken)
    map_w = min(440.0, width * 0.6)
    projection = geo.Projection.fit(geography.bbox(everything), map_w, 560.0)
    builder = _country_builder(projection)
    parts = [
        _areas_svg(
            map_id, builder, areas, classes, False, everything, label_groups=False, border=0.4
        )
    ]
    flow = _Flow(x0=map_w + 16, y=16, width=width - map_w - 16, parts=parts, column=True)
    _legend(map_id, classes, areas, references, flow, "gemeente")
    height = max(projection.height, flow.y) + 4
    svg = _open(map_id, width, height, title, desc, False) + "".join(parts) + "</svg>"
    return Markup(svg)  # noqa: S704 - every text goes through escape() or _text


@lru_cache(maxsize=4)
def _country_builder(projection: geo.Projection) -> geo.PathBuilder:
    # The arcs of the whole country, simplified once per process and size (frozen projection).
    return geo.PathBuilder(projection)
