"""Form fields for values a person types that go to a vendor as JSON.

Every JSON a form accepts is bounded: its size, its nesting depth, and its
numbers (no NaN or Infinity, which no vendor can read and `requests` refuses to
send; integers within what the vendor's columns can hold). A value past a bound
is a field error, never a 500 (a deep nesting used to end in RecursionError) and
never a vendor call that fails before it is sent.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms

#: Defaults for every JSON field: far above any real set of session options.
MAX_JSON_CHARS = 20_000
MAX_JSON_DEPTH = 8
#: A signed 64-bit integer: the widest number vendors document (most say int32).
MAX_JSON_INT = 2**63 - 1


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a vendor can read")


def parse_json_text(
    text: str,
    *,
    max_chars: int = MAX_JSON_CHARS,
    max_depth: int = MAX_JSON_DEPTH,
    max_int: int = MAX_JSON_INT,
) -> Any:
    """`text` as JSON, or `forms.ValidationError` saying which bound it broke."""
    if len(text) > max_chars:
        raise forms.ValidationError(
            f"Keep the JSON under {max_chars:,} characters (this is {len(text):,})."
        )
    # Depth is checked on the text first, so json.loads never recurses deeply.
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > max_depth:
                raise forms.ValidationError(
                    f"Nest the JSON at most {max_depth} levels deep."
                )
        elif char in "]}":
            depth -= 1
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc}") from None
    _check_numbers(value, max_int)
    return value


def _check_numbers(value: Any, max_int: int) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and abs(item) > max_int:
            raise forms.ValidationError(
                f"{item:.3g} is too large; numbers go up to {max_int:,}."
            )
        elif isinstance(item, float) and not math.isfinite(item):
            raise forms.ValidationError("Numbers must be finite.")


class BoundedJSONField(forms.JSONField):
    """`forms.JSONField` with the bounds above, and NaN/Infinity refused."""

    default_error_messages = {"invalid": "Enter valid JSON."}

    def __init__(
        self,
        *,
        max_chars: int = MAX_JSON_CHARS,
        max_depth: int = MAX_JSON_DEPTH,
        **kwargs,
    ) -> None:
        self.max_chars, self.max_depth = max_chars, max_depth
        super().__init__(**kwargs)

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | bool):
            return value
        return parse_json_text(
            str(value), max_chars=self.max_chars, max_depth=self.max_depth
        )

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return parse_json_text(
                data, max_chars=self.max_chars, max_depth=self.max_depth
            )
        except forms.ValidationError:
            return forms.fields.InvalidJSONInput(data)
