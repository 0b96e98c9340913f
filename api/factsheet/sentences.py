"""The Dutch sentences of the factsheet, in the programme's exact form.

The programme (Gelijke Kansen in het Onderwijs) describes every indicator with one sentence:

    De gemeente Heerlen laat een gemiddelde zien van 46,7% t.o.v. een landelijk gemiddelde van
    35,1% met als hoogste wijkpercentage 83,3% en als laagste wijkpercentage 23,2%.

and, for opleidingsmobiliteit (published per pooled region only), per parents' group:

    De regio Zuid-Limburg laat een gemiddelde zien van 41,2% t.o.v. een landelijk gemiddelde
    van 48,9%.

Rules (tested in ``tests/unit/test_sentences.py``, documented in ``docs/factsheets.md``):
- A percentage is written with one decimal and a decimal comma. Release percentages already have
  one decimal; should one arrive with more, it is rounded half away from zero on its *decimal*
  representation (46,65 -> 46,7), never on the binary float (which would give 46,6).
- Highest and lowest wijkpercentage are taken over the gemeente's *published* wijk and wijkgroep
  figures only; a wijkgroep counts once, however many wijken it holds.
- An unpublished figure is ``None``; the sentence then says that there were too few pupils
  ("te weinig leerlingen om te publiceren") instead of a number, or, for a figure withheld to
  protect small counts elsewhere (a secondary suppression), that it was left out for that reason
  ("om kleine aantallen elders te beschermen"): such a gemeente or wijk need not be small.

The functions take plain numbers, not release cells, so that the wording can be tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

TE_WEINIG = "te weinig leerlingen om te publiceren"
BESCHERMD = "om kleine aantallen elders te beschermen"


def format_percentage(value: float) -> str:
    """``46.7`` -> ``"46,7"``: one decimal, decimal comma, half away from zero."""
    if not math.isfinite(value):
        raise ValueError("a percentage must be a finite number")
    # repr() gives the shortest decimal that round-trips, so 46.65 is rounded as 46.65 and not
    # as the binary 46.64999... that plain float formatting would round down.
    rounded = Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0,0"
    return f"{rounded:.1f}".replace(".", ",")


def pct(value: float) -> str:
    """``46.7`` -> ``"46,7%"``."""
    return f"{format_percentage(value)}%"


def format_count(value: int) -> str:
    """Dutch thousands separator: ``12345`` -> ``"12.345"``."""
    return f"{value:,}".replace(",", ".")


def _vergelijking(
    gebied: str, eigen: float | None, land: float | None, *, beschermd: bool = False
) -> str:
    """The head of both sentences, without the closing full stop. ``beschermd``: an unpublished
    ``eigen`` was withheld to protect small counts elsewhere, not for its own size."""
    landelijk = (
        f"een landelijk gemiddelde van {pct(land)}"
        if land is not None
        else "een landelijk gemiddelde dat niet gepubliceerd is"
    )
    if eigen is not None:
        return f"De {gebied} laat een gemiddelde zien van {pct(eigen)} t.o.v. {landelijk}"
    land_deel = (
        f"het landelijk gemiddelde is {pct(land)}"
        if land is not None
        else "ook het landelijk gemiddelde is niet gepubliceerd"
    )
    if beschermd:
        return f"In de {gebied} is het gemiddelde niet gepubliceerd, {BESCHERMD}; {land_deel}"
    return f"In de {gebied} zijn te weinig leerlingen om een gemiddelde te publiceren; {land_deel}"


def _wijken(n: int) -> str:
    return "1 wijk" if n == 1 else f"{n} wijken"


def _niet_gepubliceerd(withheld: int, beschermd: int) -> str:
    """Why ``withheld`` wijken have no figure, ``beschermd`` of them to protect others."""
    te_weinig = withheld - beschermd
    parts = []
    if te_weinig:
        parts.append(f"voor {_wijken(te_weinig)} zijn te weinig leerlingen om te publiceren")
    if beschermd:
        parts.append(f"van {_wijken(beschermd)} is het cijfer weggelaten {BESCHERMD}")
    text = " en ".join(parts)
    return text[0].upper() + text[1:]


def gemeente_sentence(
    gemeente: str,
    gemeente_pct: float | None,
    land_pct: float | None,
    wijk_pcts: Sequence[float | None],
    *,
    wijken_niet_gepubliceerd: int | None = None,
    wijken_beschermd: int = 0,
    gemeente_beschermd: bool = False,
) -> str:
    """The programme's gemeente sentence for one indicator and breakdown.

    ``wijk_pcts`` holds one entry per wijk *unit* of the gemeente: a wijk with its own figure, a
    wijkgroep (pooled wijken, counted once), or ``None`` for a withheld wijk or wijkgroep.
    ``wijken_niet_gepubliceerd`` is the number of CBS wijken without a published figure (a
    withheld wijkgroep hides all its members); it defaults to the number of ``None`` entries.
    ``wijken_beschermd`` of them, and the gemeente figure if ``gemeente_beschermd``, were withheld
    to protect small counts elsewhere (secondary suppression), not for being small.
    """
    published = [p for p in wijk_pcts if p is not None]
    withheld = (
        wijken_niet_gepubliceerd
        if wijken_niet_gepubliceerd is not None
        else sum(p is None for p in wijk_pcts)
    )
    head = _vergelijking(
        f"gemeente {gemeente}", gemeente_pct, land_pct, beschermd=gemeente_beschermd
    )
    beschermd = min(wijken_beschermd, withheld)

    if len(published) >= 2:
        hoog, laag = pct(max(published)), pct(min(published))
        if gemeente_pct is not None:
            sentence = (
                f"{head} met als hoogste wijkpercentage {hoog} "
                f"en als laagste wijkpercentage {laag}."
            )
        else:
            sentence = (
                f"{head}. Het hoogste wijkpercentage is {hoog} "
                f"en het laagste wijkpercentage {laag}."
            )
        if withheld:
            sentence += (
                f" {_niet_gepubliceerd(withheld, beschermd)}; "
                f"{'die telt' if withheld == 1 else 'die tellen'} niet mee voor het hoogste "
                "en laagste wijkpercentage."
            )
        return sentence

    if len(published) == 1:
        sentence = (
            f"{head}. Van één wijk is een percentage gepubliceerd ({pct(published[0])}), "
            "dus er is geen hoogste of laagste wijkpercentage."
        )
        if withheld:
            sentence += f" {_niet_gepubliceerd(withheld, beschermd)}."
        return sentence

    if not wijk_pcts:
        return f"{head}. Er zijn geen wijkcijfers."
    return (
        f"{head}. Voor geen enkele wijk zijn genoeg leerlingen om een wijkpercentage te publiceren."
    )


def regio_sentence(regio: str, regio_pct: float | None, land_pct: float | None) -> str:
    """The programme's region sentence (opleidingsmobiliteit, one parents' group)."""
    return f"{_vergelijking(f'regio {regio}', regio_pct, land_pct)}."


def interval_text(low: float | None, high: float | None) -> str:
    """A 95% interval under differential privacy: ``"44,1% tot 49,3%"`` (empty if unknown)."""
    if low is None or high is None:
        return ""
    return f"{pct(low)} tot {pct(high)}"


def missing_sentence(naam: str) -> str:
    """For an indicator or breakdown that the release does not hold at all."""
    return f"Deze release bevat geen cijfers over {naam}."


def trend_sentence(
    gebied: str,
    jaren: Sequence[str],
    eigen: Sequence[float | None],
    land: Sequence[float | None],
) -> str:
    """The programme's sentence over school years, e.g.

    "In 2022/23 laat de gemeente Heerlen een gemiddelde zien van 46,7% t.o.v. 41,3% in 2020/21.
    Het landelijk gemiddelde is 35,1% t.o.v. 34,0% in 2020/21."

    The last school year (the shown release's) is compared with the earliest one in the window
    that has a published figure; a withheld year is skipped, never read as zero.
    """
    last = jaren[-1]

    def earliest(values: Sequence[float | None]) -> int | None:
        for i, v in enumerate(values[:-1]):
            if v is not None:
                return i
        return None

    first = earliest(eigen)
    now = eigen[-1]
    then = eigen[first] if first is not None else None
    if now is not None and first is not None and then is not None:
        sentence = (
            f"In {last} laat de {gebied} een gemiddelde zien van {pct(now)} t.o.v. "
            f"{pct(then)} in {jaren[first]}."
        )
    elif now is not None:
        sentence = (
            f"In {last} laat de {gebied} een gemiddelde zien van {pct(now)}; voor eerdere "
            "schooljaren is geen gemiddelde gepubliceerd."
        )
    elif first is not None and then is not None:
        sentence = (
            f"In {last} zijn in de {gebied} te weinig leerlingen om een gemiddelde te publiceren; "
            f"in {jaren[first]} was het gemiddelde {pct(then)}."
        )
    else:
        return (
            f"In de {gebied} zijn in deze schooljaren te weinig leerlingen om een gemiddelde te "
            "publiceren."
        )
    land_first = earliest(land)
    land_now = land[-1]
    land_then = land[land_first] if land_first is not None else None
    if land_now is not None and land_first is not None and land_then is not None:
        sentence += (
            f" Het landelijk gemiddelde is {pct(land_now)} t.o.v. {pct(land_then)} in "
            f"{jaren[land_first]}."
        )
    return sentence
