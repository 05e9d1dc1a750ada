"""The sandbox refuses what Surfly's spec forbids, and accepts what it allows.

Every case here is derived from the spec yaml (not from the sandbox's own
declarations in `vendors/surfly/sandbox/bodies.py`): for each operation that
takes a request body, the spec's example must be accepted, and each required
field left out, each field of the wrong type and each value outside an enum
must be refused with a 400 naming the field, in Surfly's documented error
envelope. The same for every typed query parameter. Two readings of the spec
are written down where the spec cannot be taken literally (`CONDITIONAL` and
the DRF rule for required fields with a default).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openapi_schema_validator import OAS30Validator

from .conftest import SANDBOX
from .test_sandbox_spec import SCHEMAS, SPEC, SPEC_PATH, _client_key, _live, resolve

pytestmark = [
    pytest.mark.skipif(SPEC_PATH is None, reason="surfly-openapi.yaml not found"),
    SANDBOX,
]

# Fields the spec lists as required that the spec itself says are conditional.
CONDITIONAL = {
    ("Agents_generateAccessToken", "agent_id"): "“email … Required when `agent_id` "
    "is not provided”: the token is for agent_id, or for email + name (the example)",
}
WRONG = {  # a value of the wrong type, per spec type
    "string": ["not", "a", "string"],
    "integer": "not-a-number",
    "number": "not-a-number",
    "boolean": "not-a-boolean",
    "array": "not-a-list",
    "object": "not-an-object",
}
NOT_IN_ENUM = "not-one-of-them"


def _merged(schema: dict) -> dict:
    """An `allOf` of object schemas as one (properties and required joined)."""
    out: dict = {"properties": {}, "required": []}
    for part in schema.get("allOf", [schema]):
        part = _merged(part) if "allOf" in part else part
        out["properties"].update(part.get("properties", {}))
        out["required"] += [
            r for r in part.get("required", []) if r not in out["required"]
        ]
    return out


def _envelope() -> dict:
    """Surfly's one documented error body (`{"errors": {"agent_id": [...]}}`),
    generalised from its one field to any field."""
    documented = resolve(SCHEMAS["Generateanaccesstokenresponse1"])
    (errors,) = documented["properties"]["errors"]["allOf"][:1]
    per_field = errors["properties"]["agent_id"]
    return {
        **documented,
        "properties": {
            "errors": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": per_field,
            }
        },
    }


ENVELOPE = _envelope()


def _operations(with_body: bool) -> list[tuple[str, str, str, dict]]:
    ops = []
    for key, item in SPEC["paths"].items():
        for method, op in item.items():
            if with_body and op.get("requestBody"):
                ops.append((op["operationId"], method.upper(), key, op))
            queries = [p for p in op.get("parameters", []) if p["in"] == "query"]
            if not with_body and queries:
                ops.append((op["operationId"], method.upper(), key, op))
    return sorted(ops)


BODY_OPS = _operations(with_body=True)
QUERY_OPS = _operations(with_body=False)

# Path parameters: an object of the seed.
PATH_VALUES = {
    "AGENT_ID": lambda api: "2",
    "ID": lambda api: _live(api)["id"],
    "CLIENT_KEY": _client_key,
    "WEBHOOK_ID": lambda api: "537",
}


def _path(api, key: str) -> str:
    path = key.split("?")[0].lstrip("/")
    for name, value in PATH_VALUES.items():
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", value(api))
    return path


def _body_cases(op: dict) -> tuple[dict, list[tuple[str, dict, str]]]:
    """(the spec's example, [(what, body, field that must be named)])."""
    media = op["requestBody"]["content"]["application/json"]
    schema = _merged(resolve(media["schema"]))
    example = media["example"]
    cases = []
    for name in schema["required"]:
        prop = schema["properties"].get(name, {})
        if "default" in prop:
            continue  # DRF: a field with a default is never required
        if (op["operationId"], name) in CONDITIONAL:
            continue
        assert name in example, f"{op['operationId']}: example lacks {name}"
        body = {k: v for k, v in example.items() if k != name}
        cases.append((f"without {name}", body, name))
    for name, prop in schema["properties"].items():
        cases.append(
            (f"{name} as a wrong type", {**example, name: WRONG[prop["type"]]}, name)
        )
        if "enum" in prop:
            body = {**example, name: NOT_IN_ENUM}
            cases.append((f"{name} not in its enum", body, name))
    return example, cases


def _refused(response, field: str, what: str) -> None:
    assert response.status_code == 400, (what, response.status_code, response.text)
    body = response.json()
    OAS30Validator(ENVELOPE).validate(body)
    assert field in body["errors"], (what, body)


def test_the_envelope_is_the_documented_one():
    example = {"errors": {"agent_id": ["Agent was not found"]}}
    OAS30Validator(ENVELOPE).validate(example)
    assert not OAS30Validator(ENVELOPE).is_valid({"detail": "Not found."})
    assert not OAS30Validator(ENVELOPE).is_valid({"errors": {"x": "not a list"}})


def test_every_conditional_field_is_required_by_the_spec_and_absent_from_its_example():
    for operation_id, name in CONDITIONAL:
        (op,) = [o for oid, _, _, o in BODY_OPS if oid == operation_id]
        media = op["requestBody"]["content"]["application/json"]
        assert name in _merged(resolve(media["schema"]))["required"]
        assert name not in media["example"]


@pytest.mark.parametrize(
    ("operation_id", "method", "key", "op"), BODY_OPS, ids=[o[0] for o in BODY_OPS]
)
def test_request_bodies_are_checked_as_the_spec_says(
    api, operation_id, method, key, op
):
    example, cases = _body_cases(op)
    assert cases, "an operation with a body has something to refuse"
    for what, body, field in cases:
        response = api.call(method, _path(api, key), json=body)
        _refused(response, field, f"{operation_id} {what}")
    accepted = api.call(method, _path(api, key), json=example)
    assert accepted.status_code < 300, (operation_id, accepted.text)


# --- company options: the body is the options object itself ------------------------
OPTIONS = _merged(resolve(SCHEMAS["Options"]))
# Options whose type the spec gives two ways: a value wrong for both.
TWO_TYPES = {
    "widget_key": (["not", "scalar"], "integer in `Options`, '' in the history "
                   "example; the sandbox takes either"),
}  # fmt: skip


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_company_options_refuse_unknown_names_and_wrong_types(api, method):
    unknown = api.call(method, "company/options/", json={"no_such_option": True})
    _refused(unknown, "no_such_option", "an unknown option")
    for name, prop in OPTIONS["properties"].items():
        wrong = TWO_TYPES[name][0] if name in TWO_TYPES else WRONG[prop["type"]]
        response = api.call(method, "company/options/", json={name: wrong})
        _refused(response, name, f"{name} as a wrong type")
    example = resolve(SCHEMAS["Options"])["example"]
    assert api.call(method, "company/options/", json=example).status_code == 200


# --- query parameters ---------------------------------------------------------------
def _query_names(key: str) -> dict[str, str]:
    """Spec parameter name → query name, from the path key's template
    (`clientkey={CLIENT_KEY}`); a parameter not in it is sent by its own name."""
    names = {}
    for pair in key.partition("?")[2].split("&"):
        name, _, value = pair.partition("=")
        if value.startswith("{") and value.endswith("}"):
            names[value[1:-1]] = name
    return names


@pytest.mark.parametrize(
    ("operation_id", "method", "key", "op"), QUERY_OPS, ids=[o[0] for o in QUERY_OPS]
)
def test_query_parameters_are_checked_as_the_spec_says(
    api, operation_id, method, key, op
):
    names = _query_names(key)
    params, typed = {}, []
    for p in op["parameters"]:
        if p["in"] != "query":
            continue
        name, schema = names.get(p["name"], p["name"]), p["schema"]
        if p["name"] in PATH_VALUES:  # the client key: one of the seed's
            params[name] = PATH_VALUES[p["name"]](api)
            continue
        if "example" in schema:
            params[name] = schema["example"]
        if schema["type"] in ("boolean", "integer", "number"):
            typed.append((name, schema["type"]))
    path = key.split("?")[0].lstrip("/")
    assert api.call(method, path, params=params).status_code == 200
    assert typed, "nothing typed to refuse"
    for name, kind in typed:
        response = api.call(method, path, params={**params, name: WRONG[kind]})
        _refused(response, name, f"{operation_id} {name} as a wrong type")
        if kind == "integer":
            response = api.call(method, path, params={**params, name: "5.5"})
            _refused(response, name, f"{operation_id} {name}=5.5")


# --- numbers as a generated client writes them ----------------------------------------
def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [r["session_id"] for r in rows]


def test_numeric_session_filters_accept_a_zero_decimal_part(api):
    api.post("sessions/", json={"url": "https://x.example", "agent_id": 1})
    queued = api.post("sessions/", json={"url": "https://x.example"}).json()
    now = datetime.now(UTC)
    for name, value in (
        ("agent_id", 1),
        ("year", now.year),
        ("month", now.month),
        ("pin", int(queued["pin"])),
    ):
        plain = _ids(api.get("sessions/", params={name: value}))
        assert plain, f"{name}={value} matches something"
        assert _ids(api.get("sessions/", params={name: f"{value}.0"})) == plain, name
    for name in ("agent_id", "year", "month", "pin"):
        _refused(api.get("sessions/", params={name: "5.5"}), name, f"{name}=5.5")

    client = {"clientkey": _client_key(api), "active_session": "false"}
    plain = _ids(api.get("sessions/", params={**client, "year": now.year}))
    assert plain
    dotted = {**client, "year": f"{now.year}.0", "month": f"{now.month}.00"}
    assert set(_ids(api.get("sessions/", params=dotted))) <= set(plain)
    assert _ids(api.get("sessions/", params={**client, "year": f"{now.year}.0"})) == (
        plain
    )
    _refused(api.get("sessions/", params={**client, "month": "1.5"}), "month", "1.5")


def test_numeric_history_filters_accept_a_zero_decimal_part(api):
    for params in (
        {"min_duration": 60, "max_duration": 100000},
        {"agent_id": 1},
    ):
        plain = _ids(api.get("history/", params=params))
        assert plain, params
        dotted = {k: f"{v}.0" for k, v in params.items()}
        assert _ids(api.get("history/", params=dotted)) == plain, params
    fraction = _ids(api.get("history/", params={"min_duration": "59.5"}))
    assert fraction == _ids(api.get("history/", params={"min_duration": 60}))
    for value in ("inf", "nan", "1e999", "ten"):
        _refused(
            api.get("history/", params={"max_duration": value}), "max_duration", value
        )
    _refused(api.get("history/", params={"agent_id": "1.5"}), "agent_id", "1.5")
