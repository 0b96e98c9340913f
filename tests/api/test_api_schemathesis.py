"""Schemathesis against the live server, driven by the app's OpenAPI document.

The document comes from ``create_app`` in-process (the server serves the same one; a test in
test_api_hardening checks docs/openapi.json against it) because schemathesis's lazy fixture
loader does not work with this pytest. Bounded: a few examples per operation and token.
"""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from kansenkluis.config import Settings

schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(create_app(Settings(home=Path("/nonexistent"))).openapi()))
)

BOUNDED = settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@BOUNDED
def test_api_conforms_to_its_schema_as_operator(case, server, as_):
    case.call_and_validate(base_url=server.url, headers=as_("operator"))


@schema.parametrize()
@BOUNDED
def test_api_conforms_to_its_schema_as_regiocoordinator(case, server, as_):
    case.call_and_validate(base_url=server.url, headers=as_("heerlen"))
