"""Schemathesis against the live server, driven by the app's OpenAPI document.

Each operation is called with a token of a role it admits (a regiocoordinator where that role is
allowed, so scoping is exercised too): a role it refuses would stop every case at 403 before its
parameters and body are ever read. Bounded to a few generated examples per operation, plus
schemathesis's deterministic coverage cases. The document comes from ``create_app`` in-process
(the server serves the same one; test_api_hardening checks docs/openapi.json against it) because
schemathesis's lazy fixture loader does not work with this pytest.
"""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from kansenkluis.config import Settings

DOCUMENT = json.loads(json.dumps(create_app(Settings(home=Path("/nonexistent"))).openapi()))
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Filing a request has a body of eight indicator variants, for which the deterministic coverage
# phase alone makes hundreds of cases; it gets random cases only (more of them) to stay quick.
FILING_PATH, FILING_METHOD = "^/requests$", "POST"
filing_schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
)

#: the token that calls an operation, in order of preference among its x-roles
PREFERRED = (
    ("regiocoordinator", "heerlen"),
    ("outputchecker", "outputchecker"),
    ("auditor", "auditor"),
    ("operator", "operator"),
)


def _call(case, server, as_) -> None:
    roles = case.operation.definition.raw.get("x-roles", [])
    who = next((name for role, name in PREFERRED if role in roles), "operator")
    case.call_and_validate(base_url=server.url, headers=as_(who))


@schema.exclude(path_regex=FILING_PATH, method=FILING_METHOD).parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, server, as_):
    _call(case, server, as_)


@filing_schema.include(path_regex=FILING_PATH, method=FILING_METHOD).parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_filing_a_request_conforms_to_its_schema(case, server, as_):
    _call(case, server, as_)
