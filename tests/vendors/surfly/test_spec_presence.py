"""The spec tests must not vanish quietly: without the Surfly OpenAPI file they
skip with a loud reason, and where the spec is required (CI) they fail instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .test_sandbox_spec import REPO, find_spec, missing_reason


def test_a_missing_spec_fails_when_required(tmp_path):
    nowhere = [tmp_path / "surfly-openapi.yaml"]
    for environ in ({"REQUIRE_VENDOR_SPECS": "1"}, {"CI": "true"}):
        with pytest.raises(RuntimeError, match="SURFLY OPENAPI SPEC NOT FOUND"):
            find_spec(nowhere, environ)


def test_a_missing_spec_skips_loudly_when_not_required(tmp_path):
    nowhere = [None, tmp_path / "surfly-openapi.yaml"]
    for environ in ({}, {"REQUIRE_VENDOR_SPECS": "0"}, {"CI": "false"}):
        assert find_spec(nowhere, environ) is None
    reason = missing_reason(nowhere)
    assert "NOT" in reason and str(tmp_path) in reason
    assert "SURFLY_OPENAPI_SPEC" in reason and "REQUIRE_VENDOR_SPECS" in reason


def test_a_present_spec_is_found(tmp_path):
    spec = tmp_path / "surfly-openapi.yaml"
    spec.write_text("openapi: 3.0.0\n")
    assert find_spec([tmp_path / "missing.yaml", spec], {"CI": "1"}) == spec


def test_ci_requires_the_vendor_specs():
    """`.ci/run` exports the variable before it runs the suite."""
    script = (Path(REPO) / ".ci" / "run").read_text()
    exported = re.search(r"^export REQUIRE_VENDOR_SPECS=1$", script, re.M)
    first_run = script.index("make test")
    assert exported and exported.start() < first_run
    assert "-u REQUIRE_VENDOR_SPECS" not in script
