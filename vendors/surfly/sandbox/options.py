"""SandboxSession options: the defaults and how request values are checked.

The option names are the newest complete set in Surfly's spec (the history
example, 68 names). Values are that example's, except the four options where
the base `Options` example differs (it is the one labelled as defaults) and
`widget_key`, which the base schema types as an integer (0) while the history
example shows "".
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_OPTIONS: dict[str, Any] = {
    "sounds_enabled": True,
    "audit_logs_enabled": False,
    "password_required": False,
    "videochat": True,
    "download_trigger_enabled": True,
    "allowlist": "[]",
    "orphan_redirect_url": "",
    "support_button_position": "bottomleft",
    "follower_drawing_selector": "",
    "hide_element_by_selector": "",
    "session_autorestore_enabled": True,
    "branding_primary_color": "#e54747",
    "cookie_transfer_enabled": True,
    "cookie_transfer_scopes": [],
    "pause_enabled": False,
    "widget_key": 0,
    "branding_primary_text_color": "#ffffff",
    "start_with_loading_screen": True,
    "hide_cursors": False,
    "chat_logs_enabled": False,
    "host_switching_allowed": True,
    "branding_logo_url": "",
    "start_muted": False,
    "format_session_id": True,
    "private_session": False,
    "soft_end_filter": [],
    "start_with_invite_modal": True,
    "theme_font_size": 14,
    "branding_logo_link": "",
    "chat_integration": "disabled",
    "hidden": False,
    "cookie_transfer_proxying": False,
    "theme_font_color": "#FFFFFF",
    "verbose_console": False,
    "end_of_session_popup_url": "",
    "new_urls_allowed": True,
    "end_redirect_enabled": False,
    "cookie_transfer_urls": [],
    "start_with_chat_open": False,
    "hide_support_button_when_unavailable": False,
    "anyone_can_deactivate_space": False,
    "white_label": False,
    "blocklist": "[]",
    "branding_secondary_text_color": "#ffffff",
    "dashboard_background_url": "",
    "filesharing_enabled": True,
    "hide_until_agent_joins": False,
    "soft_session_end": False,
    "auto_start": False,
    "original_file_download_allowed": False,
    "language": "en",
    "session_start_confirmation": False,
    "branding_secondary_color": "#6e2222",
    "theme_font_background": "#cc0000",
    "hide_session_ui": False,
    "url_mangling": False,
    "shake_to_start": False,
    "native_dialogs_enabled": False,
    "invitations_allowed": True,
    "start_with_videochat_on": False,
    "region": "",
    "selected_regions": [],
    "block_until_agent_joins": False,
    "follower_redirect_url": "",
    "embedded_sessions_only": False,
    "key_combo_to_start": True,
    "native_selects": True,
    "leader_redirect_url": "",
}

# What Django REST Framework's BooleanField accepts (Surfly itself answers
# `native_dialogs_enabled: 0` in one example).
TRUE_VALUES = {True, "1", "t", "true", "y", "yes", "on"}
FALSE_VALUES = {False, "0", "f", "false", "n", "no", "off"}


def parse_bool(value: Any) -> bool | None:
    """True/False for anything DRF reads as a boolean, else None."""
    if not isinstance(value, bool | int | str):
        return None
    probe = value.lower() if isinstance(value, str) else value
    if probe in TRUE_VALUES:
        return True
    if probe in FALSE_VALUES:
        return False
    return None


# DRF's IntegerField drops a zero decimal part before int(): "5.0" → 5, "5.5" ✗.
ZERO_DECIMALS = re.compile(r"\.0*\s*$")


def as_integer(value: Any) -> int | None:
    """An integer the way DRF's IntegerField reads one, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > 1000:
        return None
    try:
        return int(ZERO_DECIMALS.sub("", str(value)))
    except ValueError:
        return None


def clean_option(name: str, value: Any) -> tuple[Any, str | None]:
    """(normalised value, error message) for one option from a request."""
    default = DEFAULT_OPTIONS[name]
    if name == "widget_key":  # int in one schema, "" in another: take either
        ok = isinstance(value, int | str) and not isinstance(value, bool)
        return value, None if ok else "Not a valid string."
    if isinstance(default, bool):
        parsed = parse_bool(value)
        return parsed, None if parsed is not None else "Must be a valid boolean."
    if isinstance(default, int):
        number = as_integer(value)
        if number is None:
            return value, "A valid integer is required."
        return number, None
    if isinstance(default, list):
        if not isinstance(value, list):
            return (
                value,
                f'Expected a list of items but got type "{type(value).__name__}".',
            )
        return value, None
    if not isinstance(value, str):
        return value, "Not a valid string."
    return value, None


UNKNOWN_OPTION = "Unknown session option."


def clean_options(
    data: dict, *, strict: bool = False
) -> tuple[dict, dict[str, list[str]]]:
    """Pick the known options out of `data` and check their types.

    `strict` (the company options body, which holds nothing but options):
    an unknown name is refused. Otherwise (a session create body, which
    also carries url, tags…) other keys are left to the caller.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in DEFAULT_OPTIONS:
            if strict:
                errors[name] = [UNKNOWN_OPTION]
            continue
        value, error = clean_option(name, value)
        if error:
            errors[name] = [error]
        else:
            cleaned[name] = value
    return cleaned, errors


def complete(options: dict) -> dict:
    """`options` over the defaults, in the defaults' key order."""
    return {
        name: options.get(name, default) for name, default in DEFAULT_OPTIONS.items()
    }
