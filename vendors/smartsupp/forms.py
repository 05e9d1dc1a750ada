"""Smartsupp write forms and the Chats filter.

The two editors read rows a page can grow and shrink (portal.js `data-rows`):
a trigger's conditions and actions, and office hours' time ranges per day. Rows
come as repeated fields (`condition_name`, `condition_value`; `from_<dow>`,
`to_<dow>`), so adding a row is cloning inputs, and an empty row is ignored.
Each row's refusal is kept with the row (`rows`, `day.errors`) and shown next
to it; the form's own field (`conditions`, `config`, …) carries the summary and
Smartsupp's refusals of that field (its `hint`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms

from cobrowse_portal.core.vendorforms import VendorFormMixin
from cobrowse_portal.core.widgets import FastWidgetsMixin

from .models import DAYS, OfficeHoursError, SmartsuppRole, table_to_config

LANG_HELP = (
    "Two lower-case letters: the chat box's and e-mails' language (en, de, cs…)."
)

#: Events and condition names the docs' one example uses; Unknown (vendor-apis.md
#: §5.2 and §5.8): Smartsupp publishes no list, so any other name is accepted as
#: free text and sent as typed. The values' kinds are read from the example.
KNOWN_EVENTS = ("onload",)
KNOWN_CONDITIONS = {
    "delay_site": "number",  # seconds on the site (the example: 60)
    "is_visitor_send_message": "yesno",
    "is_visitor_served": "yesno",
    "number_of_visits": "number",
}
#: Actions: the docs know only `message` (with agent_nick and message).
ACTION_NAME = "message"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
#: Time zones: whole-hour offsets from UTC (schemas.OfficeHours: the docs'
#: example sends `timezone: 1`; Unknown beyond that).
TIMEZONES = [(str(h), f"UTC{h:+d}" if h else "UTC") for h in range(-12, 15)]


class AccountCreateForm(VendorFormMixin, forms.Form):
    title = forms.CharField(max_length=200, help_text="Internal name of the account.")
    lang = forms.RegexField(
        regex=r"^[a-z]{2}$", initial="en", label="Language", help_text=LANG_HELP
    )
    create_workspace = forms.BooleanField(
        required=False,
        initial=True,
        label="Also create a client workspace for this account",
        help_text="The workspace is linked to the account; it gets no Smartsupp "
        "key (Smartsupp issues none per account; the partner key stays here).",
    )


class AccountEditForm(VendorFormMixin, forms.Form):
    title = forms.CharField(max_length=200)
    lang = forms.RegexField(regex=r"^[a-z]{2}$", label="Language", help_text=LANG_HELP)


class ConfirmDeleteForm(forms.Form):
    confirm = forms.BooleanField(label="Yes, delete it at Smartsupp")


class UserCreateForm(VendorFormMixin, forms.Form):
    role = forms.ChoiceField(choices=SmartsuppRole.choices, initial="agent")
    email = forms.EmailField(max_length=254)
    fullname = forms.CharField(max_length=200, label="Full name")
    nickname = forms.CharField(
        max_length=200,
        required=False,
        help_text="The name visitors see in the chat box (blank: the full name).",
    )
    password = forms.CharField(
        min_length=6,
        max_length=128,
        # Never rendered back, not even after a refusal: typed again if needed.
        widget=forms.PasswordInput(render_value=False),
        help_text="Sent to Smartsupp once; never stored or shown by the portal.",
    )
    lang = forms.RegexField(
        regex=r"^[a-z]{2}$", required=False, label="Language", help_text=LANG_HELP
    )


class UserEditForm(VendorFormMixin, forms.Form):
    role = forms.ChoiceField(choices=SmartsuppRole.choices)
    fullname = forms.CharField(max_length=200, label="Full name")
    nickname = forms.CharField(max_length=200, required=False)


# --- the trigger editor ---------------------------------------------------------------
def parse_value(text: str, kind: str | None) -> Any:
    """A condition value as Smartsupp takes it: a number or a yes/no for the
    known names (ValueError otherwise); for other names a number, true/false
    or the text as typed (Unknown: value types are not documented)."""
    text = text.strip()
    low = text.lower()
    if kind == "yesno" or (kind is None and low in ("true", "false")):
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        raise ValueError("is yes or no (true / false).")
    if kind == "number" or (kind is None and re.fullmatch(r"-?\d+", text)):
        if not re.fullmatch(r"\d+", text):
            raise ValueError("is a whole number (0 or more).")
        return int(text)
    return text


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass
class Row:
    """One editor row: its values as typed and its refusal ("" if none)."""

    values: dict[str, str]
    error: str = ""


class TriggerForm(VendorFormMixin, forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=1000, required=False)
    event = forms.CharField(
        max_length=40,
        initial="onload",
        help_text="When it is evaluated: onload (page load) is the documented one; "
        "another of Smartsupp's event names can be typed.",
        widget=forms.TextInput(attrs={"list": "smartsupp-events"}),
    )
    constraints = forms.ChoiceField(
        choices=[("all", "All conditions hold"), ("any", "Any condition holds")],
        initial="all",
        label="Conditions combine",
    )
    only_once = forms.BooleanField(required=False, label="Only once per visitor")
    active = forms.BooleanField(required=False, initial=True)
    # Filled from the rows in clean(); here so errors (and Smartsupp's hints
    # `conditions` / `actions`) have a place next to the rows.
    conditions = forms.CharField(required=False, widget=forms.HiddenInput)
    actions = forms.CharField(required=False, widget=forms.HiddenInput)

    EMPTY_ROWS = 1

    def __init__(self, *args, trigger=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            data = self.data
            self.condition_rows = [
                Row({"name": n, "value": v})
                for n, v in zip(
                    data.getlist("condition_name"),
                    data.getlist("condition_value"),
                    strict=False,
                )
            ]
            self.action_rows = [
                Row({"agent_nick": n, "message": m})
                for n, m in zip(
                    data.getlist("action_nick"),
                    data.getlist("action_message"),
                    strict=False,
                )
            ]
        else:
            conds = trigger.conditions if trigger is not None else []
            acts = trigger.actions if trigger is not None else []
            self.condition_rows = [
                Row(
                    {
                        "name": str(c.get("name", "")),
                        "value": value_text(c.get("value")),
                    }
                )
                for c in conds
                if isinstance(c, dict)
            ]
            self.action_rows = [
                Row(
                    {
                        "agent_nick": str(a.get("agent_nick") or ""),
                        "message": str(a.get("message") or ""),
                    }
                )
                for a in acts
                if isinstance(a, dict) and a.get("name", ACTION_NAME) == ACTION_NAME
            ]
        # Always one blank row to type into (more with the Add buttons).
        if not self.is_bound or not self.condition_rows:
            self.condition_rows.append(Row({"name": "", "value": ""}))
        if not self.is_bound or not self.action_rows:
            self.action_rows.append(Row({"agent_nick": "", "message": ""}))

    known_events = KNOWN_EVENTS
    known_conditions = tuple(KNOWN_CONDITIONS)

    def clean_event(self) -> str:
        event = self.cleaned_data["event"].strip()
        if not NAME.match(event):
            raise forms.ValidationError("An event is one word (e.g. onload).")
        return event

    def clean(self):
        data = super().clean()
        conditions, seen, bad = [], set(), 0
        for row in self.condition_rows:
            name, text = row.values["name"].strip(), row.values["value"]
            if not name and not text.strip():
                continue  # an empty row: ignored
            if not NAME.match(name):
                row.error = "A condition name is one word (e.g. delay_site)."
            elif name in seen:
                row.error = f"{name} is given twice."
            elif not text.strip():
                row.error = f"{name} needs a value."
            else:
                try:
                    value = parse_value(text, KNOWN_CONDITIONS.get(name))
                except ValueError as exc:
                    row.error = f"{name} {exc}"
                else:
                    seen.add(name)
                    conditions.append({"name": name, "value": value})
            bad += bool(row.error)
        if bad:
            self.add_error("conditions", "Correct the marked conditions.")
        actions = []
        for row in self.action_rows:
            nick, message = row.values["agent_nick"].strip(), row.values["message"]
            if not nick and not message.strip():
                continue
            if not message.strip():
                row.error = "A message action needs the message to send."
            elif len(message) > 2000 or len(nick) > 200:
                row.error = "Too long (2,000 characters for a message, 200 for a nick)."
            else:
                actions.append(
                    {
                        "name": ACTION_NAME,
                        "agent_nick": nick,
                        "message": message.strip(),
                    }
                )
        if any(r.error for r in self.action_rows):
            self.add_error("actions", "Correct the marked messages.")
        elif not actions:
            self.add_error("actions", "A trigger sends at least one message.")
        data["conditions"], data["actions"] = conditions, actions
        return data

    def trigger_fields(self) -> dict:
        """The cleaned editor as the client's create/update fields."""
        d = self.cleaned_data
        return {
            "name": d["name"].strip(),
            "description": d["description"].strip(),
            "event": d["event"],
            "constraints": d["constraints"],
            "only_once": d["only_once"],
            "active": d["active"],
            "conditions": d["conditions"],
            "actions": d["actions"],
        }


# --- the office-hours editor -------------------------------------------------------
@dataclass
class Day:
    dow: int
    name: str
    open: bool
    ranges: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class OfficeHoursForm(VendorFormMixin, forms.Form):
    active = forms.BooleanField(
        required=False, label="Office hours on (outside them the chat box is offline)"
    )
    timezone = forms.ChoiceField(
        choices=TIMEZONES,
        initial="0",
        label="Time zone",
        help_text="The times below are local times in this zone (an offset from "
        "UTC in whole hours, as Smartsupp takes it).",
    )
    # Errors of the whole week and Smartsupp's hints (`days`, `config`).
    days = forms.CharField(required=False, widget=forms.HiddenInput)
    config = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *args, hours=None, **kwargs) -> None:
        if hours is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "active": hours.active,
                "timezone": str(hours.timezone_value() or 0),
            }
        super().__init__(data, *args, **kwargs)
        week = hours.week() if hours is not None else {}
        open_days = set(hours.days) if hours is not None else set()
        self.week = []
        for dow, name in DAYS:
            if self.is_bound:
                starts = self.data.getlist(f"from_{dow}")
                ends = self.data.getlist(f"to_{dow}")
                ranges = list(zip(starts, ends, strict=False))
                is_open = str(dow) in self.data.getlist("open")
            else:
                ranges = list(week.get(dow, []))
                is_open = dow in open_days
            self.week.append(Day(dow, name, is_open, ranges))
        for day in self.week:
            if not day.ranges:
                day.ranges.append(("", ""))  # a blank row to type into

    def clean_timezone(self) -> int:
        return int(self.cleaned_data["timezone"])

    def clean(self):
        data = super().clean()
        table: dict[int, list[tuple[str, str]]] = {}
        for day in self.week:
            spans = [
                (a.strip(), b.strip()) for a, b in day.ranges if a.strip() or b.strip()
            ]
            try:
                # Checked day by day, so each refusal sits next to its day.
                table_to_config({day.dow: spans})
            except OfficeHoursError as exc:
                text = str(exc)  # a bad HH:MM does not name its day: add it
                if not text.startswith(day.name):
                    text = f"{day.name}: {text}"
                day.errors.append(text)
                continue
            if spans and not day.open:
                day.errors.append(
                    f"{day.name}: tick the day to open it, or clear its times."
                )
            table[day.dow] = spans
        if any(day.errors for day in self.week):
            self.add_error("config", "Correct the marked days.")
            return data
        data["config"] = table_to_config(table)
        # Unknown (vendor-apis.md §5.2): the docs' example lists days without
        # times (days [1,2,6,0], config for 1 and 2 only); an open day without
        # times is sent as such.
        data["days"] = [day.dow for day in self.week if day.open]
        return data


class ChatFilterForm(FastWidgetsMixin, forms.Form):
    smartsupp_account = forms.ChoiceField(required=False, label="Account")
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any"),
            ("served", "Served"),
            ("missed", "Missed"),
            ("offline", "Offline"),
        ],
    )
    visitor = forms.CharField(
        required=False,
        max_length=254,
        label="Visitor e-mail",
        help_text="Exact address.",
    )

    def __init__(self, *args, accounts=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["smartsupp_account"].choices = [("", "All accounts")] + [
            (a.external_id, str(a)) for a in accounts
        ]
