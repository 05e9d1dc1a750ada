"""What each operation accepts, declared once per operation, checked as Surfly does.

Surfly runs Django REST Framework; its serializers refuse a body that misses a
required field, carries a wrong type, a value outside an enum or out of range,
with `{"errors": {field: [message]}}` and 400, every problem at once. The
declarations below are the request schemas of Surfly's published spec
(shared/vendor-specs/surfly-openapi.yaml), written out by hand so the sandbox
runs without the spec; `tests/vendors/surfly/test_sandbox_requests.py` checks
them against the spec itself.

    data = SCREENSHOT_CREATE.read(request)   # raises the 400, or returns the body

`read` returns only the fields that were sent (typed); a view applies its own
defaults with `data.get(name, default)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from .api import REQUIRED, invalid, read_json
from .events import CATEGORIES
from .options import as_integer, parse_bool

ROLES = ("admin", "manager", "agent")
NOT_A_STRING = "Not a valid string."
NOT_AN_INTEGER = "A valid integer is required."
NOT_A_NUMBER = "A valid number is required."
NOT_A_BOOLEAN = "Must be a valid boolean."


@dataclass(frozen=True)
class Field:
    """One body field: `kind` is string, integer, boolean or strings (a list)."""

    name: str
    kind: str = "string"
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    blank: bool = True

    def clean(self, value: Any) -> tuple[Any, str | None]:
        """(typed value, DRF's message or None)."""
        if self.kind == "string":
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                return None, NOT_A_STRING
            value = str(value).strip()
            if not value and not self.blank:
                return None, "This field may not be blank."
        elif self.kind == "integer":
            value = as_integer(value)
            if value is None:
                return None, NOT_AN_INTEGER
        elif self.kind == "boolean":
            value = parse_bool(value)
            if value is None:
                return None, NOT_A_BOOLEAN
        elif self.kind == "strings":
            if not isinstance(value, list):
                kind = type(value).__name__
                return None, f'Expected a list of items but got type "{kind}".'
            if not all(isinstance(v, str) for v in value):
                return None, NOT_A_STRING
        if self.choices and value not in self.choices:
            return None, f'"{value}" is not a valid choice.'
        if self.min_value is not None and value < self.min_value:
            return (
                None,
                f"Ensure this value is greater than or equal to {self.min_value}.",
            )
        if self.max_value is not None and value > self.max_value:
            return None, f"Ensure this value is less than or equal to {self.max_value}."
        return value, None


class Body:
    """The request schema of one operation."""

    def __init__(self, *fields: Field) -> None:
        self.fields = {f.name: f for f in fields}

    def check(self, body: dict, errors: dict[str, list[str]]) -> dict:
        """The sent fields, typed; problems go into `errors` (DRF: all at once).
        A JSON `null` counts as not sent."""
        data: dict[str, Any] = {}
        for name, field in self.fields.items():
            value = body.get(name)
            if value is None:
                if field.required:
                    errors.setdefault(name, []).append(REQUIRED)
                continue
            value, error = field.clean(value)
            if error:
                errors.setdefault(name, []).append(error)
            else:
                data[name] = value
        return data

    def read(self, request: HttpRequest) -> dict:
        errors: dict[str, list[str]] = {}
        data = self.check(read_json(request), errors)
        if errors:
            raise invalid(errors)
        return data


def _text(name: str, required: bool = False, **kw) -> Field:
    return Field(name, "string", required, blank=not required, **kw)


AGENT_CREATE = Body(  # Createanewagentrequest
    _text("username", True),
    _text("agent_email", True),
    _text("password", True),
    # Listed as required but with a default: in DRF a field with a default is
    # never required, so a missing role is "agent".
    Field("role", choices=ROLES),
)
AGENT_UPDATE = Body(  # Updateanagentrequest
    _text("username", True),
    Field("available", "boolean", required=True),
    Field("role", choices=ROLES),
)
# Generateanaccesstokenrequest: `agent_id`, or `email` and `name` ("required
# when `agent_id` is not provided").
ACCESS_TOKEN_BY_ID = Body(
    Field("agent_id", "integer", required=True),
    Field("role", choices=ROLES),
    Field("force_new", "boolean"),
)
ACCESS_TOKEN_BY_EMAIL = Body(
    _text("email", True),
    _text("name", True),
    Field("role", choices=ROLES),
    Field("force_new", "boolean"),
)
SESSION_CREATE = Body(  # Createasessionrequest (plus any session option)
    _text("url", True),
    Field("tags", "strings"),
    Field("agent_id", "integer"),
    Field("skip_queue", "boolean"),
)
SCREENSHOT_CREATE = Body(  # CreateScreenshotrequest
    Field("size", "integer", required=True, min_value=1),
    Field("interval", "integer", required=True, min_value=1),
)
CLIENT_FIELDS = (  # Createanewclientrequest (also the rename's schema)
    _text("company_plan_name"),
    _text("domains"),
    _text("agent_email"),
    _text("agent_name"),
    _text("agent_password"),
)
CLIENT_CREATE = Body(_text("company_name", True), *CLIENT_FIELDS)
CLIENT_UPDATE = Body(_text("company_name", True), *CLIENT_FIELDS)
CLIENT_DOMAINS = Body(_text("domains", True))  # SetClientDomainListrequest
WEBHOOK = Body(  # CreateaWebhookrequest, UpdateanWebhookrequest
    _text("url", True),
    Field("category", required=True, choices=tuple(CATEGORIES)),
    Field("enabled", "boolean", required=True),
    Field("ssl_verification", "boolean", required=True),
)
