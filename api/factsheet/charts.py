"""Server-side SVG charts: no JavaScript, no external assets, the same markup for HTML and PDF.

Every chart is an inline ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that say in
words what the chart shows; the page puts a data table next to it as the full text alternative.
Colours come from one palette whose every entry has a contrast of at least 4.5:1 against the
white background (``contrast_ratio``; tested), so that bars, lines and labels stay readable
when printed in grey. Only SVG presentation attributes are used (no ``style``), so the charts
work under a ``Content-Security-Policy`` without ``'unsafe-inline'``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from .sentences import format_percentage, pct

# --- palette (all >= 4.5:1 on white; see contrast_ratio) ----------------------------------
BACKGROUND = "#ffffff"
WIJK = "#1d4f91"  # bars of wijken (and the region in the region chart)
GEMEENTE = "#a63c0a"  # the gemeente reference line
LAND = "#1a1a1a"  # the national reference line / bars
LAND_BAR = "#4a4a4a"
TEXT = "#1a1a1a"
MUTED = "#575757"
GRID = "#757575"
PALETTE: tuple[str, ...] = (WIJK, GEMEENTE, LAND, LAND_BAR, TEXT, MUTED, GRID)

FONT = "Liberation Sans, Arial, Helvetica, DejaVu Sans, sans-serif"

# Markup safety: every text node and attribute value built from data goes through escape()
# in _text and _open_svg; everything else is numbers and constants. The noqa: S704 marks below
# rely on that.

# --- layout of the wijk chart (SVG user units = CSS px at 100%) ---------------------------
WIDTH = 720
LABEL_RIGHT = 242  # wijk names are right-aligned against the plot
PLOT_X0 = 252
PLOT_X1 = 640
ROW_H = 19
GROUP_HEAD_H = 16
BAR_H = 12
AXIS_H = 30
LABEL_CHARS = 40  # about 250 px of 12 px Liberation Sans


@dataclass(frozen=True)
class Bar:
    """One figure of a wijk chart: a wijk, or a wijkgroep with its member wijken."""

    label: str
    percentage: float | None
    #: the wijken of a wijkgroep, one row each, sharing one hatched bar; empty for a wijk
    members: tuple[str, ...] = ()
    #: shown instead of a bar when ``percentage`` is None
    withheld_text: str = ""
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def pooled(self) -> bool:
        return bool(self.members)


@dataclass(frozen=True)
class Reference:
    """A gemeente, region or national figure."""

    label: str
    percentage: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    #: shown instead of a bar when ``percentage`` is None
    withheld_text: str = "niet gepubliceerd"


def _luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str = BACKGROUND) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def axis_max(values: Sequence[float | None]) -> tuple[float, float]:
    """A round upper bound of the axis and its tick step, so that small rates stay visible."""
    top = max([v for v in values if v is not None] + [1.0])
    for limit, step in ((5, 1), (10, 2), (20, 5), (25, 5), (40, 10), (50, 10), (60, 10), (80, 20)):
        if top <= limit:
            return float(limit), float(step)
    return 100.0, 20.0


def _truncate(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fmt(x: float) -> str:
    """Coordinates with at most one decimal keep the markup small and deterministic."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content: str, **attrs: str | float) -> str:
    extra = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items()
    )
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}"{extra}>{escape(content)}</text>'


def _haloed(x: float, y: float, content: str, **attrs: str | float) -> str:
    """A label on a white patch, so that grid and reference lines never run through it."""
    size = float(attrs.get("font_size", 12))
    width = len(content) * size * 0.53 + 4
    return (
        f'<rect x="{_fmt(x - 2)}" y="{_fmt(y - 11)}" width="{_fmt(width)}" height="15" '
        f'fill="{BACKGROUND}"/>' + _text(x, y, content, **attrs)
    )


def _hatch(pattern_id: str, colour: str = WIJK) -> str:
    # Diagonal white stripes on the bar colour: a wijkgroep stays recognisable without colour.
    return (
        f'<pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour}"/>'
        f'<rect width="2.5" height="6" fill="{BACKGROUND}"/></pattern>'
    )


def _open_svg(chart_id: str, height: float, title: str, desc: str, width: float = WIDTH) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="grafiek" role="img" '
        f'width="{_fmt(width)}" height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        f'aria-labelledby="{chart_id}-titel {chart_id}-uitleg" font-family="{FONT}" '
        f'font-size="12" fill="{TEXT}">'
        f'<title id="{chart_id}-titel">{escape(title)}</title>'
        f'<desc id="{chart_id}-uitleg">{escape(desc)}</desc>'
    )


def _whisker(
    x_of: Callable[[float], float], y: float, low: float | None, high: float | None
) -> str:
    if low is None or high is None:
        return ""
    x0, x1 = x_of(low), x_of(high)
    return (
        f'<g stroke="{LAND}" stroke-width="1.2">'
        f'<line x1="{_fmt(x0)}" y1="{_fmt(y)}" x2="{_fmt(x1)}" y2="{_fmt(y)}"/>'
        f'<line x1="{_fmt(x0)}" y1="{_fmt(y - 4)}" x2="{_fmt(x0)}" y2="{_fmt(y + 4)}"/>'
        f'<line x1="{_fmt(x1)}" y1="{_fmt(y - 4)}" x2="{_fmt(x1)}" y2="{_fmt(y + 4)}"/></g>'
    )


def _legend(
    chart_id: str, gemeente: Reference, land: Reference, has_pooled: bool
) -> tuple[str, float]:
    parts: list[str] = ['<g class="legenda">']
    x = 0.0
    y = 14.0

    def item(symbol: str, label: str, width: float) -> None:
        nonlocal x
        parts.append(symbol.format(x=_fmt(x), x2=_fmt(x + 18), y=_fmt(y - 9), ym=_fmt(y - 4)))
        parts.append(_text(x + 24, y, label))
        x += 24 + width

    item(f'<rect x="{{x}}" y="{{y}}" width="18" height="10" fill="{WIJK}"/>', "wijk", 40)
    if has_pooled:
        item(
            f'<rect x="{{x}}" y="{{y}}" width="18" height="10" fill="url(#{chart_id}-arcering)" '
            f'stroke="{WIJK}"/>',
            "wijkgroep (samengevoegde wijken)",
            196,
        )
    gem_label = (
        f"{gemeente.label}: {pct(gemeente.percentage)}"
        if gemeente.percentage is not None
        else f"{gemeente.label}: niet gepubliceerd"
    )
    land_label = (
        f"{land.label}: {pct(land.percentage)}"
        if land.percentage is not None
        else f"{land.label}: niet gepubliceerd"
    )
    # The reference lines wrap to a second legend line when the first is full.
    ref_width = 24 + len(gem_label) * 6.6 + 16 + 24 + len(land_label) * 6.6
    if x + ref_width > WIDTH:
        x, y = 0.0, 32.0
    item(
        f'<line x1="{{x}}" y1="{{ym}}" x2="{{x2}}" y2="{{ym}}" stroke="{GEMEENTE}" '
        f'stroke-width="3"/>',
        gem_label,
        len(gem_label) * 6.6 + 16,
    )
    item(
        f'<line x1="{{x}}" y1="{{ym}}" x2="{{x2}}" y2="{{ym}}" stroke="{LAND}" stroke-width="2" '
        f'stroke-dasharray="5 3"/>',
        land_label,
        len(land_label) * 6.6,
    )
    parts.append("</g>")
    return "".join(parts), y


def wijk_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    gemeente: Reference,
    land: Reference,
) -> Markup:
    """Horizontal bars per wijk against vertical lines for the gemeente and the nation."""
    values: list[float | None] = (
        [b.percentage for b in bars]
        + [b.ci_high for b in bars]
        + [gemeente.percentage, gemeente.ci_high, land.percentage]
    )
    top, step = axis_max(values)

    def x_of(v: float) -> float:
        return PLOT_X0 + (PLOT_X1 - PLOT_X0) * min(max(v, 0.0), top) / top

    has_pooled = any(b.pooled for b in bars)
    legend, legend_y = _legend(chart_id, gemeente, land, has_pooled)
    plot_top = legend_y + 18
    # Drawn in layers: grid, bars, reference lines, then labels on top of everything.
    rows: list[str] = []
    labels: list[str] = []
    y = plot_top
    for bar in bars:
        if bar.pooled:
            # A wijkgroep: its name on a line of its own, then its wijken, one row each, held
            # together by a bracket and one tall hatched bar (one figure for all of them).
            labels.append(
                _haloed(
                    4,
                    y + 13,
                    _truncate(f"wijkgroep {bar.label}", 110),
                    font_size=10.5,
                    font_weight="bold",
                    fill=MUTED,
                )
            )
            y += GROUP_HEAD_H
            names = bar.members
        else:
            names = (bar.label,)
        top_y, h = y, ROW_H * len(names)
        for i, name in enumerate(names):
            labels.append(
                _text(
                    LABEL_RIGHT, y + i * ROW_H + ROW_H / 2 + 4, _truncate(name), text_anchor="end"
                )
            )
        mid = top_y + h / 2
        if bar.pooled:
            rows.append(
                f'<line x1="{LABEL_RIGHT + 5}" y1="{_fmt(top_y + 3)}" x2="{LABEL_RIGHT + 5}" '
                f'y2="{_fmt(top_y + h - 3)}" stroke="{MUTED}" stroke-width="1.5"/>'
            )
        if bar.percentage is None:
            labels.append(
                _haloed(
                    PLOT_X0 + 6,
                    mid + 4,
                    bar.withheld_text or "niet gepubliceerd",
                    font_style="italic",
                    fill=MUTED,
                )
            )
        else:
            fill = f"url(#{chart_id}-arcering)" if bar.pooled else WIJK
            x1 = x_of(bar.percentage)
            bar_h = h - (ROW_H - BAR_H)
            rows.append(
                f'<rect x="{PLOT_X0}" y="{_fmt(mid - bar_h / 2)}" width="{_fmt(x1 - PLOT_X0)}" '
                f'height="{_fmt(bar_h)}" fill="{fill}" stroke="{WIJK}" stroke-width="0.8"/>'
            )
            rows.append(_whisker(x_of, mid, bar.ci_low, bar.ci_high))
            label_x = max(x1, x_of(bar.ci_high) if bar.ci_high is not None else x1) + 5
            labels.append(_haloed(label_x, mid + 4, pct(bar.percentage)))
        y += h
    plot_bottom = max(y, plot_top + ROW_H)

    grid: list[str] = []
    tick = 0.0
    while tick <= top + 1e-9:
        x = x_of(tick)
        grid.append(
            f'<line x1="{_fmt(x)}" y1="{_fmt(plot_top)}" x2="{_fmt(x)}" y2="{_fmt(plot_bottom)}" '
            f'stroke="{GRID}" stroke-width="0.4"/>'
        )
        grid.append(
            _text(
                x,
                plot_bottom + 16,
                f"{format_percentage(tick).removesuffix(',0')}%",
                text_anchor="middle",
                font_size=11,
                fill=MUTED,
            )
        )
        tick += step

    refs: list[str] = []
    if gemeente.percentage is not None:
        gx = x_of(gemeente.percentage)
        refs.append(
            f'<line x1="{_fmt(gx)}" y1="{_fmt(plot_top - 4)}" x2="{_fmt(gx)}" '
            f'y2="{_fmt(plot_bottom + 4)}" stroke="{GEMEENTE}" stroke-width="3"/>'
        )
    if land.percentage is not None:
        lx = x_of(land.percentage)
        refs.append(
            f'<line x1="{_fmt(lx)}" y1="{_fmt(plot_top - 4)}" x2="{_fmt(lx)}" '
            f'y2="{_fmt(plot_bottom + 4)}" stroke="{LAND}" stroke-width="2" '
            f'stroke-dasharray="5 3"/>'
        )
    height = plot_bottom + AXIS_H
    defs = f"<defs>{_hatch(f'{chart_id}-arcering')}</defs>" if has_pooled else ""
    body = "".join([defs, legend, *grid, *rows, *refs, *labels])
    svg = _open_svg(chart_id, height, title, desc) + body + "</svg>"
    return Markup(svg)  # noqa: S704 - text escaped


def regio_chart(
    chart_id: str,
    title: str,
    desc: str,
    groups: Sequence[tuple[str, Reference, Reference]],
) -> Markup:
    """Two bars per parents' group: the region and the nation (opleidingsmobiliteit)."""
    values: list[float | None] = []
    for _, regio, land in groups:
        values += [regio.percentage, regio.ci_high, land.percentage, land.ci_high]
    top, step = axis_max(values)

    def x_of(v: float) -> float:
        return PLOT_X0 + (PLOT_X1 - PLOT_X0) * min(max(v, 0.0), top) / top

    regio_label = groups[0][1].label if groups else "regio"
    land_label = groups[0][2].label if groups else "Nederland"
    parts = [
        '<g class="legenda">',
        f'<rect x="0" y="5" width="18" height="10" fill="{WIJK}"/>',
        _text(24, 14, regio_label),
        f'<rect x="{_fmt(40 + len(regio_label) * 6.6)}" y="5" width="18" height="10" '
        f'fill="{LAND_BAR}"/>',
        _text(64 + len(regio_label) * 6.6, 14, land_label),
        "</g>",
    ]
    plot_top = 30.0
    y = plot_top
    group_h = 44
    bars: list[str] = []
    labels: list[str] = []
    for label, regio, land in groups:
        labels.append(_text(LABEL_RIGHT, y + group_h / 2 + 4, _truncate(label), text_anchor="end"))
        for i, (ref, colour) in enumerate(((regio, WIJK), (land, LAND_BAR))):
            mid = y + 12 + i * 18
            if ref.percentage is None:
                labels.append(
                    _haloed(
                        PLOT_X0 + 6,
                        mid + 4,
                        ref.withheld_text,
                        font_style="italic",
                        fill=MUTED,
                    )
                )
                continue
            x1 = x_of(ref.percentage)
            bars.append(
                f'<rect x="{PLOT_X0}" y="{_fmt(mid - 7)}" width="{_fmt(x1 - PLOT_X0)}" '
                f'height="14" fill="{colour}"/>'
            )
            bars.append(_whisker(x_of, mid, ref.ci_low, ref.ci_high))
            label_x = max(x1, x_of(ref.ci_high) if ref.ci_high is not None else x1) + 5
            labels.append(_haloed(label_x, mid + 4, pct(ref.percentage)))
        y += group_h
    plot_bottom = y
    tick = 0.0
    grid: list[str] = []
    while tick <= top + 1e-9:
        x = x_of(tick)
        grid.append(
            f'<line x1="{_fmt(x)}" y1="{_fmt(plot_top)}" x2="{_fmt(x)}" y2="{_fmt(plot_bottom)}" '
            f'stroke="{GRID}" stroke-width="0.4"/>'
        )
        grid.append(
            _text(
                x,
                plot_bottom + 16,
                f"{format_percentage(tick).removesuffix(',0')}%",
                text_anchor="middle",
                font_size=11,
                fill=MUTED,
            )
        )
        tick += step
    height = plot_bottom + AXIS_H
    body = "".join(parts + grid + bars + labels)
    svg = _open_svg(chart_id, height, title, desc) + body + "</svg>"
    return Markup(svg)  # noqa: S704 - text escaped


def mini_bar(
    percentage: float | None,
    gemeente_pct: float | None,
    land_pct: float | None,
    top: float,
    *,
    pooled: bool = False,
    pattern_id: str = "arcering",
    width: float = 64.0,
) -> Markup:
    """A small decorative bar for a table cell (the number next to it carries the meaning)."""
    height = 14.0

    def x_of(v: float) -> float:
        return width * min(max(v, 0.0), top) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="minibalk" width="{_fmt(width)}" '
        f'height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" aria-hidden="true" '
        f'focusable="false">',
        f'<line x1="0" y1="{_fmt(height - 0.5)}" x2="{_fmt(width)}" y2="{_fmt(height - 0.5)}" '
        f'stroke="{GRID}" stroke-width="0.6"/>',
    ]
    if percentage is not None:
        fill = f"url(#{pattern_id})" if pooled else WIJK
        parts.append(
            f'<rect x="0" y="3" width="{_fmt(x_of(percentage))}" height="8" fill="{fill}" '
            f'stroke="{WIJK}" stroke-width="0.6"/>'
        )
    if gemeente_pct is not None:
        gx = x_of(gemeente_pct)
        parts.append(
            f'<line x1="{_fmt(gx)}" y1="0" x2="{_fmt(gx)}" y2="{_fmt(height)}" stroke="{GEMEENTE}" '
            f'stroke-width="2"/>'
        )
    if land_pct is not None:
        lx = x_of(land_pct)
        parts.append(
            f'<line x1="{_fmt(lx)}" y1="0" x2="{_fmt(lx)}" y2="{_fmt(height)}" stroke="{LAND}" '
            f'stroke-width="1.2" stroke-dasharray="3 2"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - text escaped


def hatch_defs(pattern_id: str = "arcering") -> Markup:
    """A hidden SVG that defines the wijkgroep hatch once for a whole page of mini bars."""
    return Markup(  # noqa: S704 - a constant apart from the pattern id
        '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" aria-hidden="true" '
        f'focusable="false" class="defs"><defs>{_hatch(pattern_id)}</defs></svg>'
    )


# --- trend chart (a gemeente against the nation over school years) -------------------------


@dataclass(frozen=True)
class TrendLijn:
    """One line of a trend panel: a value per school year, None for a gap."""

    label: str
    values: tuple[float | None, ...]
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class TrendPaneel:
    titel: str
    jaren: tuple[str, ...]
    lijnen: tuple[TrendLijn, ...]


TREND_PANEL_H = 135.0
TREND_PER_ROW = 3


def _trend_panel(x0: float, y0: float, w: float, panel: TrendPaneel) -> list[str]:
    parts: list[str] = []
    if panel.titel:
        parts.append(_text(x0, y0 + 12, _truncate(panel.titel, 38), font_weight="bold"))
        y0 += 18
    top, _ = axis_max([v for line in panel.lijnen for v in line.values])
    plot_x0, plot_x1 = x0 + 30, x0 + w - 22
    plot_y0, plot_y1 = y0 + 12, y0 + TREND_PANEL_H - 40
    n = len(panel.jaren)

    def x_of(i: int) -> float:
        return plot_x0 + (plot_x1 - plot_x0) * (i + 0.5) / n

    def y_of(v: float) -> float:
        return plot_y1 - (plot_y1 - plot_y0) * min(max(v, 0.0), top) / top

    # Every point carries its value, so the axis needs no ticks: a base line at 0% only.
    parts.append(
        f'<line x1="{_fmt(plot_x0)}" y1="{_fmt(plot_y1)}" x2="{_fmt(plot_x1)}" '
        f'y2="{_fmt(plot_y1)}" stroke="{GRID}" stroke-width="0.6"/>'
    )
    parts.append(
        _text(plot_x0 - 4, plot_y1 + 4, "0%", text_anchor="end", font_size=9.5, fill=MUTED)
    )
    for i, jaar in enumerate(panel.jaren):
        parts.append(
            _text(x_of(i), plot_y1 + 15, jaar, text_anchor="middle", font_size=10, fill=MUTED)
        )
    # Lines, broken where a year has no published figure; labels above the higher point of a
    # year and below the lower, so that two lines close together keep readable labels.
    for line in panel.lijnen:
        segment: list[str] = []
        for i, v in enumerate((*line.values, None)):
            if v is not None:
                segment.append(f"{_fmt(x_of(i))},{_fmt(y_of(v))}")
                continue
            if len(segment) > 1:
                dash = ' stroke-dasharray="5 3"' if line.dashed else ""
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{line.colour}" '
                    f'stroke-width="{1.8 if line.dashed else 2.5}"{dash}/>'
                )
            segment = []
    for i in range(n):
        present = [(line, line.values[i]) for line in panel.lijnen if line.values[i] is not None]
        ranked = sorted(present, key=lambda lv: -(lv[1] or 0.0))
        for rank, (line, v) in enumerate(ranked):
            assert v is not None
            x, y = x_of(i), y_of(v)
            if line.dashed:
                parts.append(
                    f'<rect x="{_fmt(x - 3.5)}" y="{_fmt(y - 3.5)}" width="7" height="7" '
                    f'fill="{line.colour}"/>'
                )
            else:
                parts.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="4" fill="{line.colour}"/>')
            label_y = y - 8 if rank == 0 else y + 16
            text = format_percentage(v)
            parts.append(
                _text(x, label_y, text, text_anchor="middle", font_size=10, fill=line.colour)
            )
        # A year without a published figure: a dash in the line's colour at the top of the plot.
        missing = [line for line in panel.lijnen if line.values[i] is None]
        for k, line in enumerate(missing):
            parts.append(
                _text(
                    x_of(i) + (k - (len(missing) - 1) / 2) * 12,
                    plot_y0 + 2,
                    "–",
                    text_anchor="middle",
                    font_size=12,
                    font_weight="bold",
                    fill=line.colour,
                )
            )
    return parts


def trend_chart(
    chart_id: str,
    title: str,
    desc: str,
    panels: Sequence[TrendPaneel],
    width: float = WIDTH,
) -> Markup:
    """Small line charts, one per panel (breakdown), up to three in a row; values labelled."""
    if not panels:
        return Markup("")
    legend = ['<g class="legenda">']
    x = 0.0
    for line in panels[0].lijnen:
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        legend.append(
            f'<line x1="{_fmt(x)}" y1="10" x2="{_fmt(x + 22)}" y2="10" stroke="{line.colour}" '
            f'stroke-width="{1.8 if line.dashed else 2.5}"{dash}/>'
        )
        legend.append(_text(x + 28, 14, line.label))
        x += 28 + len(line.label) * 6.6 + 18
    if any(v is None for p in panels for line in p.lijnen for v in line.values):
        legend.append(_text(x, 14, "– : niet gepubliceerd", fill=MUTED, font_size=11))
    legend.append("</g>")
    per_row = min(TREND_PER_ROW, len(panels))
    gap = 14.0
    panel_w = (width - gap * (per_row - 1)) / per_row
    panel_h = TREND_PANEL_H + (18 if any(p.titel for p in panels) else 0)
    body: list[str] = []
    y = 26.0
    for i, panel in enumerate(panels):
        col, row = i % per_row, i // per_row
        body += _trend_panel(col * (panel_w + gap), y + row * panel_h, panel_w, panel)
    rows = (len(panels) + per_row - 1) // per_row
    height = y + rows * panel_h - 10
    svg = (
        _open_svg(chart_id, height, title, desc, width).replace('class="grafiek"', 'class="trend"')
        + "".join(legend + body)
        + "</svg>"
    )
    return Markup(svg)  # noqa: S704 - text escaped
