"""The editors' forms without a vendor: trigger rows (empty rows ignored, known
names typed, unknown names free text, refusals kept with their row), office
hours (local HH:MM ranges to the minutes format; overlapping, inverted and
24:00-start ranges refused next to their day; a closed day with times), and the
user form never rendering a password back."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from vendors.smartsupp.forms import (
    OfficeHoursForm,
    TriggerForm,
    UserCreateForm,
    parse_value,
)
from vendors.smartsupp.models import SmartsuppOfficeHours


def qd(pairs) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in pairs:
        q.appendlist(key, value)
    return q


BASE = [
    ("name", "Greeting"),
    ("event", "onload"),
    ("constraints", "all"),
    ("active", "on"),
    ("action_nick", "Support"),
    ("action_message", "Hello!"),
]


def trigger(rows):
    return TriggerForm(qd(BASE + rows))


# --- trigger rows -------------------------------------------------------------------
def test_two_conditions_typed_by_their_known_kind():
    form = trigger(
        [
            ("condition_name", "delay_site"),
            ("condition_value", "60"),
            ("condition_name", "is_visitor_served"),
            ("condition_value", "false"),
            ("condition_name", ""),
            ("condition_value", ""),  # an empty row: ignored
        ]
    )
    assert form.is_valid(), form.errors
    fields = form.trigger_fields()
    assert fields["conditions"] == [
        {"name": "delay_site", "value": 60},
        {"name": "is_visitor_served", "value": False},
    ]
    assert fields["actions"] == [
        {"name": "message", "agent_nick": "Support", "message": "Hello!"}
    ]
    assert fields["active"] is True and fields["only_once"] is False


def test_unknown_condition_names_are_free_text():
    form = trigger(
        [
            ("condition_name", "visitor_country"),
            ("condition_value", "CZ"),
            ("condition_name", "page_count"),
            ("condition_value", "3"),
        ]
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["conditions"] == [
        {"name": "visitor_country", "value": "CZ"},
        {"name": "page_count", "value": 3},
    ]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("delay_site", "a minute", "whole number"),
        ("number_of_visits", "-1", "whole number"),
        ("is_visitor_served", "maybe", "yes or no"),
        ("two words", "1", "one word"),
        ("delay_site", "", "needs a value"),
    ],
)
def test_a_bad_row_is_refused_next_to_itself(name, value, says):
    form = trigger(
        [
            ("condition_name", "is_visitor_send_message"),
            ("condition_value", "false"),
            ("condition_name", name),
            ("condition_value", value),
        ]
    )
    assert not form.is_valid()
    assert form.condition_rows[0].error == ""
    assert says in form.condition_rows[1].error
    assert form.errors["conditions"]
    # The typed rows are kept to be corrected.
    assert form.condition_rows[1].values == {"name": name, "value": value}


def test_a_condition_given_twice_is_refused():
    form = trigger([("condition_name", "delay_site"), ("condition_value", "5")] * 2)
    assert not form.is_valid()
    assert "twice" in form.condition_rows[1].error


def test_a_trigger_sends_a_message():
    form = TriggerForm(qd([("name", "x"), ("event", "onload"), ("constraints", "all")]))
    assert not form.is_valid()
    assert "at least one message" in form.errors["actions"][0]


def test_an_event_is_one_word():
    form = TriggerForm(qd([*BASE[1:], ("name", "x"), ("event", "on load")]))
    assert not form.is_valid() and "event" in form.errors


def test_editor_starts_from_the_stored_trigger():
    class Stored:
        conditions = [{"name": "is_visitor_send_message", "value": False}]
        actions = [{"name": "message", "agent_nick": "Ann", "message": "Hi"}]

    form = TriggerForm(trigger=Stored())
    assert [r.values for r in form.condition_rows] == [
        {"name": "is_visitor_send_message", "value": "false"},
        {"name": "", "value": ""},  # one blank row to type into
    ]
    assert form.action_rows[0].values == {"agent_nick": "Ann", "message": "Hi"}


def test_parse_value():
    assert parse_value("true", None) is True
    assert parse_value("12", None) == 12
    assert parse_value("pricing", None) == "pricing"
    assert parse_value(" 0 ", "yesno") is False


# --- office hours -------------------------------------------------------------------
def hours(pairs):
    return OfficeHoursForm(qd([("timezone", "1"), ("active", "on"), *pairs]))


def test_a_week_in_local_times_becomes_minutes():
    form = hours(
        [
            ("open", "1"),
            ("from_1", "08:00"),
            ("to_1", "11:45"),
            ("from_1", "13:00"),
            ("to_1", "17:00"),
            ("open", "2"),
            ("from_2", "08:00"),
            ("to_2", "11:45"),
            ("open", "0"),  # open, no times (as the docs' example has)
            ("from_3", ""),
            ("to_3", ""),
        ]
    )
    assert form.is_valid(), form.errors
    d = form.cleaned_data
    assert d["config"] == [
        {"dow": 1, "times": [{"from": 480, "to": 705}, {"from": 780, "to": 1020}]},
        {"dow": 2, "times": [{"from": 480, "to": 705}]},
    ]
    assert d["days"] == [1, 2, 0] and d["timezone"] == 1 and d["active"] is True


@pytest.mark.parametrize(
    ("ranges", "says"),
    [
        ([("09:00", "12:00"), ("11:00", "13:00")], "overlap"),
        ([("17:00", "08:00")], "does not end after it starts"),
        ([("24:00", "24:00")], "24:00 can only end"),
        ([("8", "12:00")], "is not a time"),
        ([("09:00", "25:00")], "not a time of day"),
    ],
)
def test_bad_ranges_are_refused_next_to_their_day(ranges, says):
    pairs = [("open", "1"), ("from_1", "08:00"), ("to_1", "09:00"), ("open", "3")]
    for start, end in ranges:
        pairs += [("from_3", start), ("to_3", end)]
    form = hours(pairs)
    assert not form.is_valid()
    days = {d.dow: d for d in form.week}
    assert days[1].errors == []
    assert any(says in e for e in days[3].errors), days[3].errors
    assert days[3].errors[0].startswith("Wednesday")
    assert form.errors["config"]
    # The typed ranges are kept.
    assert days[3].ranges == ranges


def test_touching_ranges_and_a_day_to_midnight_are_fine():
    form = hours(
        [
            ("open", "5"),
            ("from_5", "08:00"),
            ("to_5", "12:00"),
            ("from_5", "12:00"),
            ("to_5", "24:00"),
        ]
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["config"] == [
        {"dow": 5, "times": [{"from": 480, "to": 720}, {"from": 720, "to": 1440}]}
    ]


def test_times_on_a_closed_day_are_refused():
    form = hours([("from_6", "10:00"), ("to_6", "12:00")])
    assert not form.is_valid()
    assert "tick the day" in {d.dow: d for d in form.week}[6].errors[0]


def test_a_timezone_outside_the_offsets_is_refused():
    form = OfficeHoursForm(qd([("timezone", "15")]))
    assert not form.is_valid() and "timezone" in form.errors


def test_editor_starts_from_the_stored_hours():
    stored = SmartsuppOfficeHours(
        active=True,
        days=[1, 0],
        timezone="2",
        config=[{"dow": 1, "times": [{"from": 480, "to": 1020}]}],
    )
    form = OfficeHoursForm(hours=stored)
    days = {d.dow: d for d in form.week}
    assert days[1].open and days[1].ranges == [("08:00", "17:00")]
    assert days[0].open and days[0].ranges == [("", "")]
    assert not days[2].open
    assert form.initial == {"active": True, "timezone": "2"}


# --- the password -------------------------------------------------------------------
def test_the_password_is_never_rendered_back():
    form = UserCreateForm(
        qd(
            [
                ("role", "agent"),
                ("email", "not-an-email"),
                ("fullname", "X"),
                ("password", "s3cret-Pa55word!"),
            ]
        )
    )
    assert not form.is_valid()
    assert "s3cret-Pa55word!" not in str(form)
