"""Dutch factsheets and the wijk comparison page, rendered from a ``Release`` only.

``render_factsheet`` gives one gemeente's factsheet as HTML (self-contained: inline CSS and SVG
charts, no script) or as PDF (WeasyPrint, from the same HTML). ``render_comparison`` gives the
comparison page, which loads ``/static/factsheet.css``, ``/static/vergelijk.css`` and
``/static/vergelijk.js``: serve ``STATIC_DIR`` at ``/static`` so that it works under
``Content-Security-Policy: default-src 'self'``. A served factsheet needs ``factsheet_csp()``
(its inline stylesheet, allowed by hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from disclosure.release import Release
from kansenkluis.errors import UsageError

from ..release_index import ReleaseIndex
from .render import (
    STATIC_DIR,
    factsheet_csp,
    html_to_pdf,
    render_comparison_html,
    render_factsheet_html,
)
from .trends import Jaar, jaar_of_release, load_history, load_release

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "STATIC_DIR",
    "Jaar",
    "factsheet_csp",
    "jaar_of_release",
    "load_history",
    "load_release",
    "render_comparison",
    "render_factsheet",
    "render_overview",
]


def render_factsheet(
    release: Release,
    gemeentecode: str,
    fmt: Literal["html", "pdf"],
    history: Sequence[Jaar] = (),
    index: ReleaseIndex | None = None,
) -> bytes:
    """The factsheet of one gemeente as UTF-8 HTML or as PDF bytes.

    ``history`` is the gemeente's figures per school year (``load_history``); with two or more
    school years every indicator gets its trend. ``index``: the release's ``ReleaseIndex`` if
    the caller holds one (the API does), else one is built. Raises
    ``UserError("GEMEENTE_NOT_FOUND")`` for a gemeente the release does not cover.
    """
    if fmt not in ("html", "pdf"):
        raise UsageError("FACTSHEET_FORMAT", "unknown factsheet format", hint="use html or pdf")
    html = render_factsheet_html(release, gemeentecode, history, index)
    return html.encode("utf-8") if fmt == "html" else html_to_pdf(html)


def render_comparison(
    release: Release,
    gemeentecode: str,
    indicators: list[str] | None = None,
    history: Sequence[Jaar] = (),
    index: ReleaseIndex | None = None,
) -> str:
    """The comparison page of one gemeente's wijken for the chosen indicators (None: all).

    Raises ``UserError("GEMEENTE_NOT_FOUND")`` for a gemeente the release does not cover and
    ``UserError("INDICATOR_NOT_FOUND")`` for an unknown indicator id.
    """
    return render_comparison_html(release, gemeentecode, indicators, history, index)


def render_overview(
    release: Release,
    indicator: str,
    breakdown: str | None,
    fmt: Literal["html", "pdf"],
    visible: Callable[[str], bool] | None = None,
    index: ReleaseIndex | None = None,
) -> bytes:
    """The programme's overview of one indicator: a national map of gemeenten and, per COROP
    region, the gemeenten's figures; as UTF-8 HTML or PDF. ``visible`` limits the gemeenten
    shown (a regiocoordinator's scope; default all).

    Raises ``UserError("INDICATOR_NOT_FOUND")`` for an unknown indicator and
    ``UserError("OVERVIEW_BAD_BREAKDOWN")`` for a breakdown the indicator does not have.
    """
    if fmt not in ("html", "pdf"):
        raise UsageError("FACTSHEET_FORMAT", "unknown overview format", hint="use html or pdf")
    from .overzicht import render_overview_html

    html = render_overview_html(release, indicator, breakdown, visible, index)
    return html.encode("utf-8") if fmt == "html" else html_to_pdf(html)
