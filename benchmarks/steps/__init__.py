"""The benchmark steps, one module each, and their registry.

``STEPS`` is the order in which ``run.py`` runs them (later steps reuse what earlier ones left
in the work folder); ``CHILDREN`` holds every piece of work a step starts in its own process
(``child.py``). To add a step: write a module with a ``Step`` named ``STEP`` (see ``base.py``)
and list it here.
"""

from __future__ import annotations

from collections.abc import Mapping

from steps import (
    agreement,
    api,
    cbs,
    dp,
    engine,
    factsheet,
    ingest,
    protect,
    reference,
    run,
    scaling,
    synth,
    utility,
)
from steps.base import Child, Step

STEPS: tuple[Step, ...] = (
    synth.STEP,
    ingest.STEP,
    engine.STEP,
    reference.STEP,
    agreement.STEP,
    protect.STEP,
    utility.STEP,
    cbs.STEP,
    run.STEP,
    dp.STEP,
    api.STEP,
    scaling.STEP,
    factsheet.STEP,
)
BY_NAME: Mapping[str, Step] = {step.name: step for step in STEPS}
CHILDREN: Mapping[str, Child] = {child.name: child for step in STEPS for child in step.children}
