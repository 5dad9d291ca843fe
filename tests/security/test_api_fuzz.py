"""Property-based fuzzing of the whole API from its OpenAPI document (schemathesis): for every
operation, generated requests (valid and invalid), sent in turn with an admin's and with a
clerk's token, never get a 5xx, and every response matches what the document says: a documented
status, its content type, its schema.

Bounded to stay fast inside `make test`: a fixed number of examples per operation, no deadline,
derandomized (the same examples every run, so a failure here is reproducible).

What it found while it was written: an integer id beyond 64 bits in a URL was a 500 (the
database driver overflowed; now 404 in `web.security`, kept by
`test_hostile_input.py::test_an_id_beyond_64_bits_is_404_not_500`), and statuses the document
did not list. Protection removed to check it: with 429 dropped from the documented answers of
`POST /auth/token` (the login throttle), this test fails with "Undocumented status code".
"""
import itertools
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from web.api.openapi import openapi_document
from tests.security.conftest import START, fresh_sqlite, make_app, start, token_for

EXAMPLES = 8
ROLES = ("admin", "clerk")
TURNS = itertools.count()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(sqlite_template, tmp_path_factory):
    from engine.clock import ManualClock
    folder = tmp_path_factory.mktemp("fuzz")
    app = make_app(fresh_sqlite(sqlite_template, folder), ManualClock(START), folder)
    eng = app.extensions["linkage"]
    for _ in range(2):  # something to find: cases and tasks in the clerk's community
        start(eng)
    yield app
    eng.db.dispose()


# The document the API serves (`GET /api/v1/openapi.json` is `jsonify(openapi_document())`).
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzz_app):
    # Admin and clerk take turns (every operation gets both), each with a fresh token: the
    # fuzzer may well revoke the one it is given.
    role = ROLES[next(TURNS) % len(ROLES)]
    token = token_for(fuzz_app.extensions["linkage"], role)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS,
                           app=fuzz_app)  # through the app's WSGI interface


def test_the_fuzzed_document_is_the_served_one(fuzz_app):
    served = fuzz_app.test_client().get("/api/v1/openapi.json").get_json()
    assert served == json.loads(json.dumps(openapi_document()))


def test_the_document_covers_every_api_route(fuzz_app):
    """What is not in the document is not fuzzed: every route of /api/v1 must be in it."""
    import re
    paths = openapi_document()["paths"]
    missing = []
    for rule in fuzz_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        missing += [f"{m} {path}" for m in rule.methods - {"HEAD", "OPTIONS"}
                    if m.lower() not in paths.get(path, {})]
    assert not missing, "API routes missing from the OpenAPI document: " + ", ".join(sorted(missing))
