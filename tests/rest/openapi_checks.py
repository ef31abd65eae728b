"""The schemathesis checks every run over the REST OpenAPI document applies (with and without auth)."""

from __future__ import annotations

from schemathesis import checks

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
