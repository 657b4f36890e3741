"""Schemathesis drives every catalogue endpoint from the OpenAPI schema, in process (WSGI), as an
anonymous visitor and as a network member: no input may cause a server error, and every answer
must match the schema (status, content type, body)."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.catalogue.conftest import basic_auth

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded: the whole file stays well under two minutes.
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Django's WSGI handler closes the database connection after each request; in a test that
    would end the test's transaction (Django's own test client disconnects it the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Loaded at collection (the schema view needs no database); schemathesis' from_fixture does not
# work with pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@EXAMPLES
def test_no_generated_request_breaks_the_api_for_anonymous_visitors(case, catalogue):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@EXAMPLES
def test_no_generated_request_breaks_the_api_for_network_members(case, catalogue, member):
    headers = {"Authorization": basic_auth("member", "correct-horse-battery")}
    case.call_and_validate(headers=headers, checks=CHECKS)
