"""E-mail recipient lists typed into a form ("a@x.test, b@x.test"): split and
checked the same way wherever the portal sends mail (alerts, reports)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def split_recipients(text: str) -> list[str]:
    """'a@x.test, b@x.test; c@x.test' -> the addresses (blanks dropped)."""
    return [
        part.strip()
        for part in (text or "").replace(";", ",").split(",")
        if part.strip()
    ]


def check_recipients(text: str, *, required: bool = False) -> None:
    """Raise ValidationError naming every part that is not an e-mail address
    (and, if `required`, when there is none)."""
    addresses = split_recipients(text)
    if required and not addresses:
        raise ValidationError("Give at least one e-mail address.")
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(
            "Not an e-mail address: %(bad)s. Separate addresses with commas.",
            params={"bad": ", ".join(bad)},
        )
